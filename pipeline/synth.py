"""Seeded synthetic lyrics corpus in the Genius ds.csv layout (and three others).

    python -m pipeline.synth --rows 10000 --seed 2029 --out data/sample.csv.gz      # bundled sample
    python -m pipeline.synth --rows 1000000 --out /tmp/ds.csv --quiet                # a benchmark input
    python -m pipeline.synth --rows 5000 --out /tmp/s.csv --layout songdata --crlf
    python -m pipeline.synth --rows 5000 --out /tmp/t.csv --truth /tmp/t.truth.csv   # with ground truth
    python -m pipeline.synth --rows 5000 --out /tmp/c.csv --junk-rate 0              # clean songs only
    python -m pipeline.synth --rows 5000 --out /tmp/x.csv --rate foreign=0.3 --rate book=0.01

Layouts (``--layout``):

- ``genius`` (default): ``title,tag,artist,year,views,features,lyrics,id`` as Kaggle's ds.csv;
- ``genius-lang``: the same plus ``language_cld3,language_ft,language`` (song_lyrics.csv);
- ``songdata``: ``artist,song,link,text``, every field quoted, lines ending in two spaces;
- ``multilingual``: ``Artist,Song,Genre,Language,Lyrics`` (Multi-Lingual Lyrics train.csv).

Lyrics come from the original line banks in ``pipeline/synth_banks.py`` (one per Genius tag), with
section headers, ad-libs, repeated choruses and blank lines between stanzas. Every junk kind of the
real dump appears at a configurable rate (``JUNK_RATES``, ``--rate KIND=R``, ``--junk-rate R``), and
``--truth PATH`` writes what each row really is (``row,id,kind,tag,language,flags``), so a cleaner's
detectors can be scored against it.

The output streams in constant memory (a few pools of lines, a ring of recent rows), is written
atomically, and is byte-identical for the same arguments: one ``random.Random(seed)`` drives every
choice, and a ``.gz`` output gets a fixed gzip header (no file name, mtime 0).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import gzip
import io
import math
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import IO

from lyrics_gpt2.cli import ArgumentParser, UsageError, run
from lyrics_gpt2.fileio import atomic_path
from pipeline import synth_banks as B

LAYOUTS: dict[str, tuple[str, ...]] = {
    "genius": ("title", "tag", "artist", "year", "views", "features", "lyrics", "id"),
    "genius-lang": (
        "title",
        "tag",
        "artist",
        "year",
        "views",
        "features",
        "lyrics",
        "id",
        "language_cld3",
        "language_ft",
        "language",
    ),
    "songdata": ("artist", "song", "link", "text"),
    "multilingual": ("Artist", "Song", "Genre", "Language", "Lyrics"),
}

# Shares of the six Genius tags in ds.csv (CONTEXT.md); --tag-shares overrides them.
TAG_SHARES: dict[str, float] = {
    "pop": 0.417,
    "rap": 0.336,
    "rock": 0.155,
    "rb": 0.038,
    "misc": 0.035,
    "country": 0.020,
}

# Default share of rows of each junk kind. Rarer kinds are raised above their real frequency so
# that a 20k-row sample still holds a few of each; foreign songs are below the real ~34% so that the
# bundled sample keeps enough English pop and rap for the demo.
JUNK_RATES: dict[str, float] = {
    "nan": 0.004,  # lyrics missing (empty field) or whitespace only
    "placeholder": 0.006,  # one of synth_banks.PLACEHOLDERS, verbatim ("Loading...", requests...)
    "instrumental": 0.002,  # lyrics that are only [Instrumental]
    "study_guide": 0.002,  # one study-guide text, repeated verbatim
    "foreign": 0.15,  # a whole song in another language (wordfreq words; Latin, Cyrillic, CJK)
    "translation": 0.006,  # artist "Genius English Translations"
    "romanization": 0.004,  # artist "Genius Romanizations", romanized Japanese/Korean
    "duplicate_id": 0.003,  # an id seen before: an exact copy of a recent row, or another song
    "book": 0.0002,  # a misc row longer than 131,072 characters
    "malformed": 0.0002,  # a line with the wrong number of fields (written raw)
}
# Variations of otherwise clean English rows. A cleaner must keep these rows.
FLAG_RATES: dict[str, float] = {
    "title_na": 0.001,  # title is the string "NA", "null", "None" or "nan"
    "title_null": 0.0005,  # title missing
    "curly": 0.25,  # curly apostrophes and quotes
    "accent": 0.04,  # a line with accented words (café, déjà vu)
    "emoji": 0.03,  # emoji at the end of a few lines
    "foreign_line": 0.02,  # one line in another language inside an English song
    "lowercase": 0.05,  # the whole lyric lowercased
}
KINDS = ("clean", *JUNK_RATES)
BOOK_MIN_CHARS = 131_072  # Python's csv.field_size_limit default
TRUTH_HEADER = ("row", "id", "kind", "tag", "language", "flags")

# Tag -> Multi-Lingual Lyrics genres (its names mapped back by lyrics_gpt2.genres.normalize_genre).
MULTILINGUAL_GENRES: dict[str, tuple[str, ...]] = {
    "pop": ("Pop", "Pop", "Pop", "Electronic"),
    "rap": ("Hip-Hop",),
    "rock": ("Rock", "Rock", "Rock", "Metal", "Indie"),
    "rb": ("R&B", "R&B", "Jazz"),
    "country": ("Country", "Country", "Folk"),
    "misc": ("Jazz", "Electronic"),
}

# Song shapes per genre: lines per verse, verses (choices), chorus lines, probabilities of extras.
# Tuned so that mean lyric lengths match the real dump (rap ~2,100 chars, pop ~1,100, rock ~1,000).
SHAPES: dict[str, dict] = {
    "rap": dict(verse=(4, 20), verses=(1, 1, 2, 2, 2, 3), chorus=(4, 8), intro=0.5, outro=0.4,
                pre=0.0, bridge=0.0, brk=0.0, hook_name=0.5, producer=0.35),
    "pop": dict(verse=(4, 8), verses=(1, 2, 2, 2, 3), chorus=(4, 6), intro=0.15, outro=0.25,
                pre=0.5, bridge=0.5, brk=0.0, hook_name=0.0, producer=0.1),
    "rock": dict(verse=(4, 8), verses=(1, 2, 2, 3), chorus=(4, 6), intro=0.1, outro=0.2,
                 pre=0.1, bridge=0.3, brk=0.4, hook_name=0.0, producer=0.05),
    "rb": dict(verse=(4, 8), verses=(2, 2, 3), chorus=(4, 6), intro=0.4, outro=0.4,
               pre=0.5, bridge=0.5, brk=0.0, hook_name=0.1, producer=0.2),
    "country": dict(verse=(4, 8), verses=(2, 2, 3), chorus=(4, 6), intro=0.05, outro=0.2,
                    pre=0.1, bridge=0.4, brk=0.2, hook_name=0.0, producer=0.05),
}  # fmt: skip

FOREIGN_POOL = 512  # lines kept per foreign language
VERSE_POOL = 2048  # lines kept per genre; a few are replaced by fresh lines after every song
HOOK_POOL = 256
SKELETONS = 256  # song structures kept per genre
ARTISTS_PER_TAG = 600
RECENT_ROWS = 64  # ring of recent rows that duplicate ids copy from
_SLOT = re.compile(r"\{(\w+)\}")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@dataclass
class SynthConfig:
    """Everything that decides the output; the same config gives the same bytes."""

    rows: int  # data rows to write (a malformed line counts as one row)
    seed: int = 0  # seed of the one random stream behind every choice
    layout: str = "genius"  # one of LAYOUTS
    tag_shares: dict[str, float] = field(default_factory=lambda: dict(TAG_SHARES))
    rates: dict[str, float] = field(default_factory=lambda: dict(JUNK_RATES))  # junk kind -> share
    flags: dict[str, float] = field(
        default_factory=lambda: dict(FLAG_RATES)
    )  # clean-row variations
    crlf: bool = False  # CRLF line endings (rows and inside lyrics), as a re-uploaded songdata.csv

    def __post_init__(self) -> None:
        problems = []
        if self.rows < 1:
            problems.append(f"--rows must be at least 1, got {self.rows}")
        if self.layout not in LAYOUTS:
            problems.append(f"unknown layout {self.layout!r}; choose from {', '.join(LAYOUTS)}")
        for name, table, known in (
            ("tag share", self.tag_shares, TAG_SHARES),
            ("junk kind", self.rates, JUNK_RATES),
            ("flag", self.flags, FLAG_RATES),
        ):
            for key, value in table.items():
                if key not in known:
                    problems.append(f"unknown {name} {key!r} (known: {', '.join(known)})")
                elif not (0.0 <= value <= 1.0) or math.isnan(value):
                    problems.append(f"{name} {key}={value} is not between 0 and 1")
        if sum(self.tag_shares.values()) <= 0:
            problems.append("tag shares are all zero")
        if sum(self.rates.values()) > 1.0 + 1e-9:
            problems.append(f"junk rates add up to {sum(self.rates.values()):.3f} > 1")
        if problems:
            raise UsageError("; ".join(problems))


@dataclass(slots=True)
class Song:
    """One generated row before it is laid out as CSV fields."""

    id: int
    kind: str
    tag: str
    title: str | None
    artist: str
    year: int
    views: int
    features: str
    sections: list[tuple[str | None, list[str]]] | None = None  # (header, lines) stanzas
    text: str | None = None  # the lyrics as one string, when not built from sections
    language: str = "en"  # true language ("" when there are no lyrics)
    flags: list[str] = field(default_factory=list)
    raw_line: str | None = None  # a malformed line written as is


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


class _GenreBank:
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


class Synthesizer:
    """Generates :class:`Song` rows for a :class:`SynthConfig`, one at a time."""

    def __init__(self, config: SynthConfig) -> None:
        self.cfg = config
        self.rnd = Random(config.seed)
        self.banks = {tag: _GenreBank(bank, self.rnd) for tag, bank in B.BANKS.items()}
        self.artists = {
            tag: [self._artist_name(tag) for _ in range(ARTISTS_PER_TAG)] for tag in B.BANKS
        }
        self.tags = list(config.tag_shares)
        self.tag_cum = _cumulative(config.tag_shares.values())
        junk = [(k, v) for k, v in config.rates.items() if v > 0]
        self.kind_names = [k for k, _ in junk]
        self.kind_cum = _cumulative([v for _, v in junk], normalise=False)
        self.junk_total = self.kind_cum[-1] if junk else 0.0
        self.lang_names = list(B.FOREIGN_LANG_SHARES)
        self.lang_cum = _cumulative(B.FOREIGN_LANG_SHARES.values())
        self.flags = config.flags
        self.skeletons = {
            tag: [self._skeleton(tag) for _ in range(SKELETONS)] for tag in SHAPES
        }  # song structures, refreshed like the line pools
        self.recent: deque[Song] = deque(maxlen=RECENT_ROWS)
        self._foreign: dict[str, list[str]] = {}
        self.next_id = 1

    # -- the stream -------------------------------------------------------------------------
    def songs(self) -> Iterator[Song]:
        for _ in range(self.cfg.rows):
            song = self._song()
            if song.kind != "malformed":
                self.recent.append(song)
            yield song

    def _song(self) -> Song:
        rnd = self.rnd
        u = rnd.random()
        if u >= self.junk_total:
            return self._make_clean()
        kind = "clean"
        for name, edge in zip(self.kind_names, self.kind_cum, strict=True):
            if u < edge:
                kind = name
                break
        if kind == "duplicate_id" and not self.recent:
            kind = "clean"
        builder = getattr(self, f"_make_{kind}")
        return builder()

    def _new_id(self) -> int:
        # Genius ids have gaps: 5.9M rows span ids up to ~8M.
        song_id = self.next_id
        self.next_id += 1 + (self.rnd.random() < 0.35)
        return song_id

    def _pick_tag(self) -> str:
        u = self.rnd.random()
        for tag, edge in zip(self.tags, self.tag_cum, strict=True):
            if u < edge:
                return tag
        return self.tags[-1]

    def _meta(self, tag: str, kind: str) -> Song:
        """A row's id, artist, year, views and features; lyrics and title are filled in later."""
        rnd = self.rnd
        pool = self.artists[tag]
        artist = pool[int(len(pool) * rnd.random() ** 2)]  # a few artists have many songs
        if rnd.random() < 0.005:
            year = rnd.choice((1, 2, 2024, 2025, 2050, 2100))  # the dump's bogus years
        else:
            year = max(1930, 2022 - int(rnd.expovariate(1 / 9)))
        r = rnd.random
        # log-normal views (median ~250, a long tail into the millions); the sum of three
        # uniforms stands in for a normal draw at a fraction of normalvariate's cost
        views = int(math.exp(5.5 + 4.6 * (r() + r() + r() - 1.5)))
        features = "{}" if rnd.random() < 0.77 else self._features(tag)
        return Song(self._new_id(), kind, tag, None, artist, year, views, features)

    def _features(self, tag: str) -> str:
        """A Postgres array literal: {SWV}, {"Lil Wayne","Mannie Fresh"}, {"Cam\\\\'ro"}."""
        rnd = self.rnd
        pool = self.artists["rap" if tag == "rap" or rnd.random() < 0.3 else tag]
        names = []
        for _ in range(1 + (rnd.random() < 0.3) + (rnd.random() < 0.1)):
            name = rnd.choice(pool)
            if rnd.random() < 0.01:
                name += "\u200b"  # the dump has names with a zero-width space
            if re.search(r"[^A-Za-z0-9.]", name):
                name = '"' + name.replace("\\", "\\\\").replace("'", "\\\\'") + '"'
            names.append(name)
        return "{" + ",".join(names) + "}"

    def _artist_name(self, tag: str) -> str:
        rnd = self.rnd
        c = rnd.choice
        first = c(B.NAME_ACCENTED) if rnd.random() < 0.08 else c(B.NAME_FIRST)
        person = f"{first} {c(B.NAME_LAST)}"
        if tag == "rap":
            r = rnd.random()
            name = (f"{c(B.RAP_PREFIX)} {c(B.RAP_CORE)}" if r < 0.5
                    else f"{c(B.RAP_CORE)}{c(('', '', ' Gotti', ' Montana', 'z', ' 2x'))}" if r < 0.75
                    else person)  # fmt: skip
        elif tag == "pop":
            r = rnd.random()
            name = (
                c(B.POP_STAGE)
                if r < 0.3
                else f"{c(B.POP_STAGE)} {c(B.NAME_LAST)}"
                if r < 0.5
                else person
            )
        elif tag == "rock":
            r = rnd.random()
            name = (
                f"The {c(B.BAND_ADJ)} {c(B.BAND_NOUN)}"
                if r < 0.5
                else f"{c(B.BAND_ADJ)} {c(B.BAND_NOUN)}"
                if r < 0.8
                else person
            )
        elif tag == "country":
            name = f"The {c(B.NAME_LAST)} {c(B.COUNTRY_SUFFIX)}" if rnd.random() < 0.25 else person
        elif tag == "misc":
            name = c(B.MISC_AUTHORS) if rnd.random() < 0.5 else person
        else:
            name = person
        # The scraper stripped non-ASCII letters ("André" -> "Andr").
        return _NON_ASCII.sub("", name)

    # -- English songs ----------------------------------------------------------------------
    def _skeleton(self, tag: str) -> tuple:
        """A song's structure: chorus header, hook and chorus sizes, and its sections in order.

        Sections are (kind, header, lines): V verse-like lines from the pool, C the chorus, O an
        outro (the chorus's first lines), I an intro with ad-libs, X a header alone (credit,
        solo). Headers may hold {a} (the artist) and {b} (a second performer).
        """
        rnd = self.rnd
        r = rnd.random
        shape = SHAPES[tag]

        def pick(seq):
            return seq[int(r() * len(seq))]

        def between(lo: int, hi: int) -> int:
            return lo + int(r() * (hi - lo + 1))

        steps: list[tuple[str, str | None, int]] = []
        if r() < shape["producer"]:
            credit = pick(B.PRODUCER_CREDITS)
            steps.append(
                ("X", credit.format(p=pick(B.PRODUCER_NAMES), q=pick(B.PRODUCER_NAMES)), 0)
            )
        if r() < 0.04:  # a bare "Chorus:" line instead of [Chorus]
            chorus_header = "Chorus:"
        else:
            chorus_header = pick(B.HOOK_HEADERS if r() < shape["hook_name"] else B.CHORUS_HEADERS)
        if r() < shape["intro"]:
            steps.append(("I", pick(B.INTRO_HEADERS), between(1, 4)))
        verses = pick(shape["verses"])
        lo, hi = shape["verse"]
        for v in range(1, verses + 1):
            steps.append(
                ("V", f"[Verse {v}]" if r() < 0.75 else f"[Verse {v}: {{a}}]", between(lo, hi))
            )
            if r() < shape["pre"]:
                steps.append(("V", "[Pre-Chorus]", between(2, 4)))
            steps.append(("C", None, 0))
            if v == verses - 1 and r() < shape["bridge"]:
                steps.append(("V", "[Bridge]", between(2, 4)))
            if v == 1 and r() < shape["brk"]:
                steps.append(("X", pick(B.ROCK_BREAKS), 0))
        if verses == 1 or r() < 0.3:
            steps.append(("C", None, 0))
        if r() < shape["outro"]:
            steps.append(("O", pick(B.OUTRO_HEADERS), 0))
        return chorus_header, between(2, 3), between(*shape["chorus"]), steps

    def _sections(self, tag: str, song: Song) -> tuple[list[tuple[str | None, list[str]]], str]:
        """Stanzas of a song of a (non-misc) genre, and its hook line (source of the title).

        The structure comes from a pool of skeletons (most of a song's random choices), the lines
        from the genre's line pools; both pools are refreshed a little after every song.
        """
        r = self.rnd.random
        bank = self.banks[tag]
        skeletons = self.skeletons[tag]
        chorus_t, n_hooks, n_chorus, steps = skeletons[int(r() * SKELETONS)]
        hook_pool = bank.hook
        hooks = [hook_pool[int(r() * HOOK_POOL)] for _ in range(n_hooks)]
        chorus = [hooks[i % n_hooks] for i in range(n_chorus)]
        pool = bank.verse
        a = song.artist
        others = self.artists[tag]
        b = others[int(r() * len(others))]
        chorus_header = chorus_t.format(a=a, b=b) if "{" in chorus_t else chorus_t
        out: list[tuple[str | None, list[str]]] = []
        for kind, header, k in steps:
            if kind == "C":
                out.append((chorus_header, chorus))
                continue
            if header is not None and "{" in header:
                header = header.format(a=a, b=b)
            if kind == "V":
                out.append((header, [pool[int(r() * VERSE_POOL)] for _ in range(k)]))
            elif kind == "O":
                out.append((header, chorus[:2]))
            elif kind == "I":
                intro = [pool[int(r() * VERSE_POOL)] for _ in range(k)]
                if bank.adlibs:
                    intro.insert(0, " ".join(self.rnd.choices(bank.adlibs, k=1 + int(r() * 3))))
                out.append((header, intro))
            else:
                out.append((header, []))
        bank.refresh()
        if r() < 0.25:
            skeletons[int(r() * SKELETONS)] = self._skeleton(tag)
        return out, hooks[0]

    def _decorate(self, song: Song) -> None:
        """Apply the clean-row variations (curly quotes, accents, emoji, one foreign line)."""
        rnd = self.rnd
        f = self.flags
        secs = song.sections
        assert secs is not None
        r = rnd.random
        accent, emoji, foreign, curly, lower = (
            r() < f["accent"], r() < f["emoji"], r() < f["foreign_line"], r() < f["curly"], r() < f["lowercase"]
        )  # fmt: skip
        if not (accent or emoji or foreign or curly or lower):  # most songs
            return
        body = [s for s in secs if s[1]]
        if accent:
            lines = rnd.choice(body)[1]
            lines.insert(rnd.randint(0, len(lines)), rnd.choice(B.ACCENT_LINES))
            song.flags.append("accent")
        if emoji:
            for _ in range(rnd.randint(1, 3)):
                lines = rnd.choice(body)[1]
                i = rnd.randrange(len(lines))
                lines[i] = f"{lines[i]} {rnd.choice(B.EMOJI)}"
            song.flags.append("emoji")
        if foreign:
            lang = rnd.choice(sorted(B.FOREIGN_LINES))
            lines = rnd.choice(body)[1]
            lines.insert(rnd.randint(0, len(lines)), rnd.choice(B.FOREIGN_LINES[lang]))
            song.flags.append("foreign_line")
        # flagged only where there is an apostrophe to curl
        curly = curly and any("'" in x for _, ls in secs for x in ls)
        if curly or lower:
            if curly:
                song.flags.append("curly")
            if lower:
                song.flags.append("lowercase")
            song.sections = [(h, [_restyle(x, curly, lower) for x in ls]) for h, ls in secs]

    def _title(self, song: Song, hook: str) -> None:
        rnd = self.rnd
        r = rnd.random()
        if r < self.flags["title_null"]:
            song.flags.append("title_null")
            return
        if r < self.flags["title_null"] + self.flags["title_na"]:
            song.title = rnd.choice(("NA", "null", "None", "nan", "N/A"))
            song.flags.append("title_na")
            return
        song.title = _title_from(hook, rnd)

    def _make_clean(self, tag: str | None = None) -> Song:
        tag = tag or self._pick_tag()
        song = self._meta(tag, "clean")
        if tag == "misc":
            song.text = self._misc_text(self._misc_length())
            self._title(song, self.rnd.choice(self.banks["misc"].hook))
            return song
        song.sections, hook = self._sections(tag, song)
        self._decorate(song)
        self._title(song, hook)
        return song

    # -- misc: poems, chapters, scripts, essays ---------------------------------------------
    def _misc_length(self) -> int:
        # median ~3,500 characters, long tail (the dump's misc mean is ~7,400)
        return min(100_000, int(self.rnd.lognormvariate(7.95, 1.0)))

    def _misc_text(self, target: int) -> str:
        rnd = self.rnd
        r = rnd.random
        choices = rnd.choices
        bank = self.banks["misc"]
        form = r()
        parts: list[str] = []
        size = 0
        n = 0
        while size < target:
            n += 1
            if form < 0.3:  # a poem
                block = f"{_roman(n)}\n" + "\n".join(choices(bank.hook, k=4))
            elif form < 0.6:  # a numbered chapter
                verses = choices(bank.verse, k=8 + int(r() * 13))
                block = f"[Chapter {n}]\n" + "\n".join(f"{i} {v}" for i, v in enumerate(verses, 1))
            elif form < 0.8:  # a TV script scene
                k = 6 + int(r() * 9)
                said = zip(
                    choices(B.SCRIPT_SPEAKERS, k=k), choices(B.SCRIPT_LINES, k=k), strict=True
                )
                block = "\n".join(
                    [choices(B.SCRIPT_DIRECTIONS)[0], *(f"{a}: {b}" for a, b in said)]
                )
            else:  # an essay paragraph
                sents = choices(B.ESSAY_SENTENCES, k=3) + choices(bank.verse, k=3)
                rnd.shuffle(sents)
                block = " ".join(sents)
            parts.append(block)
            size += len(block) + 2
        bank.refresh()
        return "\n\n".join(parts)

    def _make_book(self) -> Song:
        song = self._meta("misc", "book")
        song.artist = self.rnd.choice(B.MISC_AUTHORS)
        song.text = self._misc_text(BOOK_MIN_CHARS + int(self.rnd.random() * 60_000))
        while len(song.text) <= BOOK_MIN_CHARS:  # blocks may end short of the target
            song.text += "\n\n" + self._misc_text(4_000)
        song.title = f"Book {self.rnd.randint(1, 40)}: The {self.rnd.choice(B.MISC['slots']['misc_obj'])[4:].title()}"
        return song

    # -- junk ------------------------------------------------------------------------------
    def _make_nan(self) -> Song:
        song = self._make_clean()
        song.kind, song.sections, song.flags = "nan", None, []
        song.text = "" if self.rnd.random() < 0.8 else self.rnd.choice((" ", "\n", "  \n  "))
        song.language = ""
        return song

    def _junk_text(self, kind: str, text: str) -> Song:
        song = self._meta(self._pick_tag(), kind)
        song.title = _title_from(
            self.rnd.choice(self.banks[song.tag if song.tag != "misc" else "pop"].hook), self.rnd
        )
        song.text = text
        return song

    def _make_placeholder(self) -> Song:
        return self._junk_text("placeholder", self.rnd.choice(B.PLACEHOLDERS))

    def _make_instrumental(self) -> Song:
        return self._junk_text("instrumental", self.rnd.choice(B.INSTRUMENTAL_TEXTS))

    def _make_study_guide(self) -> Song:
        song = self._junk_text("study_guide", B.STUDY_GUIDE)
        song.tag = "misc"
        song.artist = "Study Notes Collective"
        return song

    def _make_duplicate_id(self) -> Song:
        old = self.rnd.choice(self.recent)
        if self.rnd.random() < 0.5:  # the same row again
            return dataclasses.replace(old, kind="duplicate_id", flags=list(old.flags))
        next_id = self.next_id
        song = self._make_clean()
        self.next_id = next_id  # give back the id _make_clean took
        song.id, song.kind = old.id, "duplicate_id"
        return song

    def _make_malformed(self) -> Song:
        song = self._meta(self._pick_tag(), "malformed")
        song.language = ""
        title = _title_from(self.rnd.choice(self.banks["pop"].hook), self.rnd).replace('"', "")
        title = title.replace(",", "")
        n = len(LAYOUTS[self.cfg.layout])
        if self.rnd.random() < 0.5:  # too many fields: pandas' C engine raises unless told to skip
            fields = [title, song.tag, song.artist, *(["x"] * (n - 4)), str(song.id), "extra field"]
            song.flags.append("extra_fields")
        else:  # too few: pandas pads them with NaN silently
            fields = [title, song.tag, str(song.id)]
            song.flags.append("missing_fields")
        song.raw_line = ",".join(f.replace(",", " ") for f in fields)
        return song

    def _foreign_line(self, lang: str) -> str:
        rnd = self.rnd
        words, cum = foreign_words(lang)
        if lang in B.NO_SPACE_LANGS:
            return "".join(rnd.choices(words, cum_weights=cum, k=5 + int(rnd.random() * 6)))
        line = " ".join(rnd.choices(words, cum_weights=cum, k=4 + int(rnd.random() * 5)))
        return line[:1].upper() + line[1:]

    def _foreign_pool(self, lang: str) -> list[str]:
        """Lines of one language, built on first use and refreshed like the genre pools."""
        pool = self._foreign.get(lang)
        if pool is None:
            pool = self._foreign[lang] = [self._foreign_line(lang) for _ in range(FOREIGN_POOL)]
        r = self.rnd.random
        for _ in range(2):
            pool[int(r() * FOREIGN_POOL)] = self._foreign_line(lang)
        return pool

    def _make_foreign(self) -> Song:
        rnd = self.rnd
        r = rnd.random
        u = r()
        lang = next(
            (n for n, e in zip(self.lang_names, self.lang_cum, strict=True) if u < e),
            self.lang_names[-1],
        )
        tag = self._pick_tag()
        if tag == "misc":
            tag = "pop"
        song = self._meta(tag, "foreign")
        song.language = lang
        pool = self._foreign_pool(lang)
        choices = rnd.choices
        verse_h, chorus_h, bridge_h = B.FOREIGN_HEADERS[lang]
        chorus = choices(pool, k=2) * (1 + (r() < 0.5))
        secs: list[tuple[str | None, list[str]]] = []
        lo, span = (8, 9) if tag == "rap" else (4, 5)
        for v in range(1, 3 + (r() < 0.3)):
            secs.append((verse_h.format(n=v), choices(pool, k=lo + int(r() * span))))
            secs.append((chorus_h, chorus))
        if r() < 0.3:
            secs.append((bridge_h, choices(pool, k=2 + int(r() * 3))))
            secs.append((chorus_h, chorus))
        song.sections = secs
        song.title = (
            " ".join(chorus[0].split()[:3]) if lang not in B.NO_SPACE_LANGS else chorus[0][:6]
        )
        return song

    def _make_translation(self) -> Song:
        song = self._make_clean(self.rnd.choice(("pop", "pop", "rap", "rb", "rock")))
        song.kind, song.flags = "translation", []
        original = self.rnd.choice(self.artists[song.tag])
        song.title = f"{original} - {song.title or 'Untitled'} (English Translation)"
        song.artist = "Genius English Translations"
        return song

    def _make_romanization(self) -> Song:
        rnd = self.rnd
        song = self._meta(rnd.choice(("pop", "pop", "rap", "rock")), "romanization")
        japanese = rnd.random() < 0.6
        song.language = "ja" if japanese else "ko"
        syll = B.ROMAJI_SYLLABLES if japanese else B.HANGUL_ROMAN_SYLLABLES

        def line() -> str:
            ws = ["".join(rnd.choices(syll, k=rnd.randint(1, 3))) for _ in range(rnd.randint(4, 8))]
            return " ".join(ws).capitalize()

        chorus = [line() for _ in range(4)]
        secs: list[tuple[str | None, list[str]]] = []
        for v in (1, 2):
            secs.append((f"[Verse {v}]", [line() for _ in range(rnd.randint(4, 8))]))
            secs.append(("[Chorus]", chorus))
        song.sections = secs
        original = rnd.choice(self.artists[song.tag])
        song.title = f"{original} - {' '.join(chorus[0].split()[:3])} (Romanized)"
        song.artist = "Genius Romanizations"
        return song


# -- helpers ----------------------------------------------------------------------------------
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


def _cumulative(values, normalise: bool = True) -> list[float]:
    values = list(values)
    total = sum(values) if normalise else 1.0
    out, acc = [], 0.0
    for v in values:
        acc += v / total
        out.append(acc)
    return out


def _restyle(line: str, curly: bool, lower: bool) -> str:
    if curly:
        line = line.replace("'", "’")
        if '"' in line:
            line = line.replace('"', "“", 1).replace('"', "”", 1)
    return line.lower() if lower else line


# Words a title should not end on once it is cut to five words.
_TITLE_STOP = frozenset(
    ["the", "a", "an", "to", "and", "of", "in", "on", "my", "with", "at", "for", "i", "your", "our", "from", "like", "till", "until", "than", "up", "down", "into", "over", "under", "by", "when", "where", "while", "is", "are", "it", "me", "you", "we"]
)  # fmt: skip


def _title_from(hook: str, rnd: Random) -> str:
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


def _roman(n: int) -> str:
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, sym in numerals:
        while n >= value:
            out += sym
            n -= value
    return out or "O"


_HEADER_LINE = re.compile(r"^\s*(\[[^\]\n]*\](\s*\d+x)?|[A-Z][\w -]*:)\s*$")


def genius_text(song: Song) -> str:
    """Lyrics as in ds.csv: header lines, a blank line between stanzas."""
    if song.sections is None:
        return song.text or ""
    return "\n\n".join(
        [(h + "\n" + "\n".join(ls) if ls else h) if h else "\n".join(ls) for h, ls in song.sections]
    )


def _plain_stanzas(song: Song) -> list[list[str]]:
    """Stanzas without section headers (the songdata and multilingual datasets have none)."""
    if song.sections is not None:
        return [list(ls) for _, ls in song.sections if ls]
    text = song.text or ""
    if not text.strip():
        return []
    out = []
    for block in text.split("\n\n"):
        lines = [x for x in block.split("\n") if not _HEADER_LINE.match(x)]
        if lines:
            out.append(lines)
    return out


def _link(song: Song, title: str) -> str:
    def slug(s: str) -> str:
        return re.sub(r"[^a-z0-9]+", "+", s.lower()).strip("+") or "x"

    return f"/a/{slug(song.artist)}/{slug(title)}_{20_000_000 + song.id}.html"


def _lang_columns(song: Song, rnd: Random) -> tuple[str, str, str]:
    """language_cld3, language_ft, language: set only where both detectors agreed."""
    if not song.language or not (song.text or song.sections):
        return "", "", ""
    true = song.language
    others = ("en", "es", "fr", "pt", "de", "it", "nl", "fil", "yue", "la", "no")
    cld3 = true if rnd.random() < 0.96 else rnd.choice(others)
    ft = true if rnd.random() < 0.98 else rnd.choice(others)
    return cld3, ft, (true if cld3 == ft == true else "")


def fields_for(song: Song, layout: str, rnd: Random, newline: str = "\n") -> list:
    """The CSV fields of one row in a layout (rnd decides the language-detector columns)."""
    if layout in ("genius", "genius-lang"):
        lyrics = genius_text(song)
        row = [
            song.title or "",
            song.tag,
            song.artist,
            song.year,
            song.views,
            song.features,
            lyrics,
            song.id,
        ]
        if layout == "genius-lang":
            row.extend(_lang_columns(song, rnd))
        return row
    title = song.title or ""
    stanzas = _plain_stanzas(song)
    if layout == "songdata":
        if stanzas:
            text = f"  {newline}".join(
                "".join(f"{x}  {newline}" for x in lines) for lines in stanzas
            )
        else:
            text = song.text or ""
        return [song.artist, title, _link(song, title), text]
    # multilingual: lowercased names, apostrophes (straight or curly) turned into spaces
    genres = MULTILINGUAL_GENRES[song.tag]
    genre = genres[song.id % len(genres)]
    lyrics = (
        (newline * 2).join(newline.join(lines) for lines in stanzas)
        if stanzas
        else (song.text or "")
    )
    artist = song.artist.lower().replace("'", " ").replace("’", " ")
    name = title.lower().replace("'", " ").replace("’", " ")
    return [artist, name, genre, song.language, lyrics]


# -- writing ----------------------------------------------------------------------------------
def _quote_minimal(x) -> str:
    """One field as csv.QUOTE_MINIMAL writes it (quoted when it holds , " CR or LF)."""
    s = x if x.__class__ is str else str(x)
    if '"' in s:
        return '"' + s.replace('"', '""') + '"'
    if "," in s or "\n" in s or "\r" in s:
        return '"' + s + '"'
    return s


def _quote_all(x) -> str:
    s = x if x.__class__ is str else str(x)
    return '"' + s.replace('"', '""') + '"'


def csv_line(fields: Sequence, quote_all: bool = False, newline: str = "\n") -> str:
    """A CSV row, as the csv module writes it, but several times faster on long quoted fields."""
    q = _quote_all if quote_all else _quote_minimal
    return ",".join([q(x) for x in fields]) + newline


def _open_text(path: Path, stack: ExitStack, compresslevel: int = 6) -> IO[str]:
    raw = stack.enter_context(path.open("wb"))
    if path.name.endswith(".gz"):
        # filename="" and mtime=0 keep the gzip header free of names and times: same bytes each run.
        raw = stack.enter_context(
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0)
        )
    return stack.enter_context(
        io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
    )


def generate(
    config: SynthConfig,
    out: str | Path,
    truth: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    gzip_level: int = 6,
) -> dict[str, int]:
    """Write the corpus (and optionally its truth table) atomically; return counts per kind.

    ``gzip_level`` applies to a ``.gz`` output: 6 is the default of the gzip tool; 1 compresses
    several times faster into a file about a third larger.
    """
    out = Path(out)
    synth = Synthesizer(config)
    layout = config.layout
    nl = "\r\n" if config.crlf else "\n"
    quote_all = layout == "songdata"
    counts = dict.fromkeys(KINDS, 0)
    lang_rnd = Random(config.seed ^ 0x5EED)  # separate stream: layouts share the same songs
    with ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(out))
        f = _open_text(tmp, stack, gzip_level)
        f.write(csv_line(LAYOUTS[layout], quote_all, nl))
        batch: list[str] = []
        twriter = None
        if truth is not None:
            ttmp = stack.enter_context(atomic_path(truth))
            tf = _open_text(ttmp, stack)
            twriter = csv.writer(tf, lineterminator="\n")
            twriter.writerow(TRUTH_HEADER)
        fast = layout == "genius" and not config.crlf  # the common case, rendered directly
        q = _quote_minimal
        for i, song in enumerate(synth.songs(), 1):
            if song.raw_line is not None:
                batch.append(song.raw_line + nl)
            elif fast:
                batch.append(
                    f"{q(song.title or '')},{song.tag},{q(song.artist)},{song.year},"
                    f"{song.views},{q(song.features)},{q(genius_text(song))},{song.id}\n"
                )
            else:
                row = fields_for(song, layout, lang_rnd, nl)
                if config.crlf and layout != "songdata":
                    row = [x.replace("\n", "\r\n") if x.__class__ is str else x for x in row]
                batch.append(csv_line(row, quote_all, nl))
            counts[song.kind] += 1
            if twriter is not None:
                flags = " ".join(song.flags)
                twriter.writerow((i, song.id, song.kind, song.tag, song.language, flags))
            if i % 1000 == 0:
                f.write("".join(batch))
                batch.clear()
                if progress is not None:
                    progress(1000)
        f.write("".join(batch))
        if progress is not None:
            progress(config.rows % 1000)
    return counts


# -- command line -----------------------------------------------------------------------------
def _parse_pairs(items: Sequence[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        for pair in item.split(","):
            if not pair.strip():
                continue
            key, sep, value = pair.partition("=")
            try:
                if not sep:
                    raise ValueError
                out[key.strip()] = float(value)
            except ValueError:
                raise UsageError(
                    f"bad {what} {pair!r}; write NAME=NUMBER, e.g. foreign=0.1"
                ) from None
    return out


def config_from_args(args) -> SynthConfig:
    rates = dict(JUNK_RATES)
    if args.junk_rate is not None:
        if not 0.0 <= args.junk_rate <= 1.0:
            raise UsageError(f"--junk-rate must be between 0 and 1, got {args.junk_rate}")
        total = sum(rates.values())
        rates = {k: v * args.junk_rate / total for k, v in rates.items()}
    flags = dict(FLAG_RATES)
    for key, value in _parse_pairs(args.rate, "--rate").items():
        if key in FLAG_RATES:
            flags[key] = value
        else:
            rates[key] = value  # an unknown name is reported by SynthConfig
    shares = dict(TAG_SHARES)
    if args.tag_shares:
        shares = {k: 0.0 for k in TAG_SHARES}
        shares.update(_parse_pairs(args.tag_shares, "--tag-shares"))
    return SynthConfig(
        rows=args.rows,
        seed=args.seed,
        layout=args.layout,
        tag_shares=shares,
        rates=rates,
        flags=flags,
        crlf=args.crlf,
    )


def build_parser() -> ArgumentParser:
    kinds = ", ".join(f"{k}={v:g}" for k, v in JUNK_RATES.items())
    flags = ", ".join(f"{k}={v:g}" for k, v in FLAG_RATES.items())
    shares = ",".join(f"{k}={v:g}" for k, v in TAG_SHARES.items())
    p = ArgumentParser(
        prog="python -m pipeline.synth",
        description="Write a seeded synthetic lyrics CSV (same arguments, same bytes).",
    )
    p.add_argument("--rows", type=int, required=True, help="data rows to write")
    p.add_argument("--out", type=Path, required=True, help="output CSV; gzip when it ends in .gz")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--layout",
        choices=list(LAYOUTS),
        default="genius",
        help="column layout (default: %(default)s)",
    )
    p.add_argument(
        "--junk-rate",
        type=float,
        default=None,
        help=f"total share of junk rows, split like the defaults ({sum(JUNK_RATES.values()):.4f}); 0 = clean only",
    )
    p.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="NAME=R",
        help=f"share of one junk kind or clean-row flag (repeatable; after --junk-rate). Kinds: {kinds}. Flags: {flags}",
    )
    p.add_argument("--tag-shares", action="append", default=[], metavar="TAG=S,...",
                   help=f"genre mix (unnamed tags get 0; default {shares})")  # fmt: skip
    p.add_argument("--crlf", action="store_true", help="CRLF line endings (rows and inside lyrics)")
    p.add_argument(
        "--truth", type=Path, default=None, help="also write row,id,kind,tag,language,flags here"
    )
    p.add_argument(
        "--gzip-level",
        type=int,
        choices=range(1, 10),
        default=6,
        metavar="1-9",
        help="compression of a .gz output: 1 is fastest (default: %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    if args.truth is not None and args.truth.resolve() == args.out.resolve():
        raise UsageError("--truth must be a different file from --out")
    start = time.perf_counter()
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=config.rows, unit=" rows", unit_scale=True, desc="synth", file=sys.stderr)
    for path in (args.out, args.truth):
        if path is not None and path.is_dir():
            raise UsageError(f"{path} is a folder; give a file name such as {path}/corpus.csv.gz")
    try:
        counts = generate(
            config, args.out, args.truth, bar.update if bar else None, gzip_level=args.gzip_level
        )
    except OSError as exc:
        raise UsageError(
            f"cannot write {exc.filename or args.out}: {exc.strerror or exc}"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - start
    if not args.quiet:
        size = args.out.stat().st_size
        print(
            f"wrote {args.out} ({config.rows:,} rows, {size / 1e6:.1f} MB, layout {config.layout}) "
            f"in {elapsed:.1f}s, {config.rows / elapsed:,.0f} rows/s",
            file=sys.stderr,
        )
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
