"""Lines and titles from the banks: compiled templates, refreshed line pools, foreign words.

Used by :class:`pipeline.synth.songs.Synthesizer`; every choice draws from the one seeded
``random.Random`` it passes in, so the same seed gives the same lines.
"""

from __future__ import annotations

import functools
import re
from random import Random

from lyrics_gpt2.errors import UsageError
from pipeline.synth import banks as B
from pipeline.synth.config import HOOK_POOL, VERSE_POOL

_SLOT = re.compile(r"\{(\w+)\}")


def _compile(template: str, slots: dict[str, list[str]], adlibs: list[str]) -> list:
    """Template "{a}, {b}" -> [slots[a], ", ", slots[b]]: literals and lists to pick from."""
    parts: list = []
    pos = 0
    for m in _SLOT.finditer(template):
        if m.start() > pos:
            parts.append(template[pos : m.start()])
        name = m.group(1)
        if name.endswith("_adlib"):
            parts.append(adlibs)
        elif name.endswith(("_h1", "_h2")):  # halves of another slot's lines
            heads, tails = B.halves(slots[name[:-3]])
            parts.append(heads if name.endswith("_h1") else tails)
        else:
            parts.append(slots[name])
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    return parts


class GenreBank:
    """Compiled templates of one genre and the pools of lines drawn from them."""

    def __init__(self, bank: dict, rnd: Random) -> None:
        self.rnd = rnd
        self.verse_templates = [_compile(t, bank["slots"], bank["adlibs"]) for t in bank["verse"]]
        self.hook_templates = [_compile(t, bank["slots"], bank["adlibs"]) for t in bank["hook"]]
        self.adlibs = bank["adlibs"]
        self.verse = [self.fresh(self.verse_templates) for _ in range(VERSE_POOL)]
        self.hook = [self.fresh(self.hook_templates) for _ in range(HOOK_POOL)]

    def fresh(self, templates: list) -> str:
        r = self.rnd.random
        parts = templates[int(r() * len(templates))]
        line = "".join([p if p.__class__ is str else p[int(r() * len(p))] for p in parts])
        return line[:1].upper() + line[1:]

    def refresh(self) -> None:
        """Replace a pool line or two so the corpus keeps varying over millions of rows."""
        r = self.rnd.random
        self.verse[int(r() * VERSE_POOL)] = self.fresh(self.verse_templates)
        if r() < 0.25:
            self.hook[int(r() * HOOK_POOL)] = self.fresh(self.hook_templates)


@functools.cache
def foreign_words(lang: str) -> tuple[list[str], list[float]]:
    """The 2,000 most frequent words of a language (wordfreq) and Zipf-like cumulative weights."""
    try:
        import wordfreq
    except ImportError:  # pragma: no cover - wordfreq is in the synth extra
        raise UsageError(
            "foreign songs need wordfreq: pip install 'lyrics-gpt2[synth]' (or pass --rate foreign=0)"
        ) from None
    # the "small" lists hold plenty of top words and keep memory low (the large ones cost ~30 MB
    # per language once loaded)
    words = [w for w in wordfreq.top_n_list(lang, 3000, wordlist="small") if w.isalpha()]
    for cached in (wordfreq.get_frequency_list, getattr(wordfreq, "get_frequency_dict", None)):
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
    words = [w for w in words if len(w) > 1 or lang in B.NO_SPACE_LANGS][:2000]
    cum: list[float] = []
    total = 0.0
    for rank in range(len(words)):
        total += 1.0 / (rank + 8)
        cum.append(total)
    return words, cum


def cumulative(values, normalise: bool = True) -> list[float]:
    values = list(values)
    total = sum(values) if normalise else 1.0
    out, acc = [], 0.0
    for v in values:
        acc += v / total
        out.append(acc)
    return out


def restyle(line: str, curly: bool, lower: bool) -> str:
    if curly:
        line = line.replace("'", "’")
        if '"' in line:
            line = line.replace('"', "“", 1).replace('"', "”", 1)
    return line.lower() if lower else line


# Words a title should not end on once it is cut to five words.
_TITLE_STOP = frozenset(
    ["the", "a", "an", "to", "and", "of", "in", "on", "my", "with", "at", "for", "i", "your", "our", "from", "like", "till", "until", "than", "up", "down", "into", "over", "under", "by", "when", "where", "while", "is", "are", "it", "me", "you", "we"]
)  # fmt: skip


def title_from(hook: str, rnd: Random) -> str:
    """A title from a hook line: its first clause, up to five words, capitalised."""
    title = _title_of(hook)
    r = rnd.random()
    if r < 0.03:  # the dump lost some punctuation
        title = title.replace("'", "").replace("’", "")
    elif r < 0.04:  # ... and has double spaces
        title = title.replace(" ", "  ", 1)
    return title


@functools.lru_cache(maxsize=4096)  # hooks repeat across songs; this is a hot path
def _title_of(hook: str) -> str:
    hook = re.sub(r"\s*\([^)]*\)", "", hook)
    words = hook.split(",")[0].split()
    if len(words) < 2:
        words = hook.replace(",", "").split()
    words = words[:5]
    while len(words) > 1 and words[-1].lower() in _TITLE_STOP:
        words.pop()
    words = words or ["Untitled"]
    return " ".join(w[:1].upper() + w[1:] for w in words)


def roman(n: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, sym in numerals:
        while n >= value:
            out += sym
            n -= value
    return out or "O"
