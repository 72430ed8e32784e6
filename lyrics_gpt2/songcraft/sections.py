"""Section kinds of a song (verse, chorus, ...): the closed set, header parsing, codes and tokens.

Shared by stage 1 (``python -m pipeline.preprocess --stages chunks`` records the kind of each
stanza, pipeline/structure.py), stage tokenize (``--sections`` writes one token per stanza),
generation (``python -m lyrics_gpt2.generate --form "verse chorus"``) and the report.

A song's structure travels as a compact string, one code per stanza (``SECTION_CODES``): ``"ivcvcbc"``
is intro, verse, chorus, verse, chorus, bridge, chorus; ``"."`` marks a stanza that had no header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

KINDS = ("intro", "verse", "pre-chorus", "chorus", "hook", "refrain", "bridge", "outro", "other")
CODES = {
    "intro": "i",
    "verse": "v",
    "pre-chorus": "p",
    "chorus": "c",
    "hook": "h",
    "refrain": "r",
    "bridge": "b",
    "outro": "o",
    "other": "x",
}
NO_HEADER = "."
KIND_OF_CODE = {c: k for k, c in CODES.items()}
# A section of these kinds comes back: a second one is the first one's lines again.
REPEATING = frozenset({"chorus", "hook", "refrain"})
# The added token that opens a stanza of each kind in data tokenized with --sections.
TOKENS = {k: "[" + "-".join(p.capitalize() for p in k.split("-")) + "]" for k in KINDS}
KIND_OF_TOKEN = {t: k for k, t in TOKENS.items()}

_WORD = (
    r"(pre[- ]?chorus|pre[- ]?hook|post[- ]?chorus|verse|chorus|hook|refrain|bridge|intro|outro)"
)
_LEADING = re.compile(r"[\[({\s*\-—–]*" + _WORD + r"(?![a-z])", re.I)
# "2x", "x2", "x 3", "×2", "3 times": how often a header's section is sung.
_COUNT = re.compile(r"(?<![a-z])(?:[x×] ?(\d{1,2})|(\d{1,2}) ?(?:[x×]|times))(?![a-z])", re.I)
_ALIASES = {"pre-hook": "pre-chorus", "post-chorus": "other"}
MAX_REPEAT = 4  # "[Hook] 16x" is a transcription choice, not sixteen stanzas of training data
INSTRUCTION_MAX_CHARS = 48  # a longer line is never an instruction (pipeline/clean.py skips it)


def _norm_word(word: str) -> str:
    word = re.sub(r"[- ]", "-", word.lower())
    if word.startswith("pre") and word != "pre-chorus" and "chorus" in word:
        word = "pre-chorus"
    if word.startswith("post"):
        word = "post-chorus"
    if word.startswith("pre") and "hook" in word:
        word = "pre-hook"
    return _ALIASES.get(word, word)


def header_kind(line: str) -> str | None:
    """The kind a header line names (``[Verse 1: A & B]`` -> verse, ``Chorus:`` -> chorus,
    ``[Bridge: X}`` -> bridge, ``Pre-Chorus -`` -> pre-chorus); None when it names no section
    (``[Produced by X]``, ``[Letra de ...]``, ``(x2)``)."""
    m = _LEADING.match(line)
    return _norm_word(m.group(1)) if m else None


def repeat_count(line: str) -> int:
    """How many times a header or instruction says its section is sung (``[Hook] 2x`` -> 2);
    1 without a count, at most MAX_REPEAT."""
    m = _COUNT.search(line)
    if not m:
        return 1
    return max(1, min(int(m.group(1) or m.group(2)), MAX_REPEAT))


# "Repeat chorus", "Repeat chorus and fade", "(Repeat Hook 2x)", "Repeat": an instruction line.
# Words after "repeat" only when a section is named ("Repeat after me" is a lyric).
_REPEAT_LINE = re.compile(
    r"[\[(*\-—–\s]*repeat(?: the)?(?: "
    + _WORD
    + r"(?: [^\n]{0,30})?| ?(?:[x×] ?\d{1,2}|\d{1,2} ?(?:[x×]|times)|twice))?[\])*]?",
    re.I,
)
# "(x2)", "— 2x", "x3", "[2x]", "*3x*": a count on its own line (repeat of what? not said).
_COUNT_LINE = re.compile(r"[\[(*\-—–\s]*(?:[x×] ?\d{1,2}|\d{1,2} ?[x×])[\])*\s]*", re.I)


def instruction(line: str) -> tuple[str | None, int] | None:
    """``(kind or None, count)`` for an instruction line ("Repeat chorus", "(x2)", "— 2x"),
    None for any other line. ``kind`` is None when the line does not say what to repeat."""
    if len(line) > INSTRUCTION_MAX_CHARS:
        return None
    m = _REPEAT_LINE.fullmatch(line)
    if m:
        word = m.group(1)
        return (_norm_word(word) if word else None), repeat_count(line)
    if _COUNT_LINE.fullmatch(line):
        return None, repeat_count(line)
    return None


def parse_form(text: str | Iterable[str]) -> list[str]:
    """``"verse chorus verse chorus bridge chorus"`` (or a list) -> kinds; a ValueError naming
    the first unknown one. Accepts ``pre-chorus``/``prechorus`` and the one-letter codes."""
    parts = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    kinds = []
    for part in parts:
        word = part.strip().lower()
        kind = KIND_OF_CODE.get(word) or (_norm_word(word) if word not in KINDS else word)
        if kind not in KINDS:
            raise ValueError(f"unknown section {part!r} (choose from {', '.join(KINDS)})")
        kinds.append(kind)
    if not kinds:
        raise ValueError("a form needs at least one section, e.g. 'verse chorus verse chorus'")
    return kinds


def encode_kinds(kinds: Iterable[str | None]) -> str:
    """Kinds per stanza -> the compact string (None -> ``.``)."""
    return "".join(CODES[k] if k else NO_HEADER for k in kinds)


def decode_kinds(codes: str) -> list[str | None]:
    return [KIND_OF_CODE.get(c) for c in codes]


def stanzas(text: str) -> list[str]:
    """The stanzas of cleaned lyrics (blank-line separated, as stage 1 writes them)."""
    return [s for s in text.split("\n\n") if s.strip()]


def training_kinds(codes: str, parts: list[str]) -> list[str]:
    """A kind for every stanza, for the section tokens: a stanza without a header takes the kind
    of an earlier stanza with the same lines (chorus when that one had none either: a stanza that
    comes back is a chorus), else verse."""
    kinds: list[str | None] = decode_kinds(codes)
    if len(kinds) != len(parts):  # chunks from before sections were recorded
        kinds = [None] * len(parts)
    seen: dict[str, int] = {}
    for i, part in enumerate(parts):
        key = " ".join(part.lower().split())
        if key in seen:
            j = seen[key]
            if kinds[i] is None:
                if kinds[j] is None:
                    kinds[j] = "chorus"
                kinds[i] = kinds[j]
        else:
            seen[key] = i
    return [k or "verse" for k in kinds]
