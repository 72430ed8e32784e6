"""What decides a synthetic corpus: layouts, genre and junk shares, song shapes, and the row type.

Read by every other module of the package (``python -m pipeline.synth --help`` lists the rates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lyrics_gpt2.errors import Problems

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
    "placeholder": 0.006,  # one of banks.PLACEHOLDERS, verbatim ("Loading...", requests...)
    "instrumental": 0.002,  # lyrics that are only [Instrumental]
    "study_guide": 0.002,  # one study-guide text, repeated verbatim
    "foreign": 0.15,  # a whole song in another language (wordfreq words; Latin, Cyrillic, CJK)
    "translation": 0.006,  # artist "Genius English Translations"
    "romanization": 0.004,  # artist "Genius Romanizations", romanized Japanese/Korean
    "duplicate_id": 0.003,  # an id seen before: an exact copy of a recent row, or another song
    "book": 0.0002,  # a misc row longer than 131,072 characters
    "malformed": 0.0002,  # a line with the wrong number of fields (written raw)
    # a recent song's lyrics again under another id and artist (a duet listed under both
    # singers), in other case, spacing and punctuation
    "duplicate_text": 0.002,
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
    # Scrape junk of Genius pages (CONTEXT.md), ~2% of songs in all; a cleaner strips the junk and
    # keeps the song. An English song with a one-line Spanish or French intro stays English.
    "ymal_line": 0.003,  # "You might also like" on a line of its own
    "ymal_glued": 0.003,  # ... glued to either end of a lyric line or before a header
    "tickets": 0.002,  # "See ARTIST LiveGet tickets as low as $NN" on its own line
    "lyrics_line": 0.002,  # a lone "Lyrics" line
    "hyphen_header": 0.002,  # a header written "Verse 1-" instead of "[Verse 1]"
    "embed": 0.002,  # "Embed" / "123Embed" glued to the last line
    "contributors": 0.002,  # a first line "27 ContributorsSong Title Lyrics"
    "translations": 0.001,  # a "Translations" list of languages before the lyrics
    "page_header": 0.001,  # "[Letra de …]", "[Songtext zu …]", "[Paroles de …]" first
    "unbalanced_header": 0.001,  # a header closed with the wrong bracket ("[Bridge: X}")
    "foreign_intro": 0.002,  # an [Intro] of one Spanish or French line
    # Leftovers of real scrapes (issue 21), a cleaner removes them and keeps the song.
    "nested_header": 0.001,  # "[[Chorus: X & [?]]](X)", a header nested in a header
    "hyphen_name_header": 0.001,  # "Verse 1-(X)", a hyphen header naming its performer
    "open_header": 0.001,  # "[Closing: X", a header never closed
    "gap": 0.001,  # "???" where the transcriber could not hear the words
    # Sung parentheses (backing vocals answering the line): --parentheses keep keeps them.
    "sung_answer": 0.05,  # "Baby, I'm sorry (I'm not sorry)": a line's last words echoed
}
SCRAPE_FLAGS = (
    "ymal_line", "ymal_glued", "tickets", "lyrics_line", "hyphen_header", "embed", "contributors",
    "translations", "page_header", "unbalanced_header", "foreign_intro", "nested_header",
    "hyphen_name_header", "open_header", "gap",
)  # fmt: skip
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

# Song shapes per genre: lines per verse, verses (choices), chorus lines, probabilities of extras;
# the share of short fragments (two stanzas of 1-3 and 2-5 lines) and of long songs (long_verses
# verses of long_verse lines). Tuned so that mean lyric lengths match the real dump (rap ~2,100
# chars, pop ~1,100, rock ~1,000) while the spread follows real songs: over a quarter of rap songs
# have 3,000+ characters, as popular real ones do (CONTEXT.md), and fragments make the short tail.
SHAPES: dict[str, dict] = {
    "rap": dict(verse=(4, 12), verses=(1, 1, 2, 2, 2, 3), chorus=(4, 8), intro=0.5, outro=0.4,
                pre=0.0, bridge=0.0, brk=0.0, hook_name=0.5, producer=0.35,
                fragment=0.14, long=0.33, long_verse=(11, 15), long_verses=(3, 3, 3, 4)),
    "pop": dict(verse=(4, 8), verses=(1, 1, 2, 2, 3), chorus=(4, 6), intro=0.15, outro=0.25,
                pre=0.5, bridge=0.5, brk=0.0, hook_name=0.0, producer=0.1,
                fragment=0.12, long=0.15, long_verse=(6, 10), long_verses=(3, 3, 4)),
    "rock": dict(verse=(4, 8), verses=(1, 2, 2, 3), chorus=(4, 6), intro=0.1, outro=0.2,
                 pre=0.1, bridge=0.3, brk=0.4, hook_name=0.0, producer=0.05,
                 fragment=0.1, long=0.15, long_verse=(6, 10), long_verses=(3, 3, 4)),
    "rb": dict(verse=(4, 8), verses=(2, 2, 3), chorus=(4, 6), intro=0.4, outro=0.4,
               pre=0.5, bridge=0.5, brk=0.0, hook_name=0.1, producer=0.2,
               fragment=0.1, long=0.15, long_verse=(6, 10), long_verses=(3, 3, 4)),
    "country": dict(verse=(4, 8), verses=(2, 2, 3), chorus=(4, 6), intro=0.05, outro=0.2,
                    pre=0.1, bridge=0.4, brk=0.2, hook_name=0.0, producer=0.05,
                    fragment=0.1, long=0.15, long_verse=(6, 10), long_verses=(3, 3, 4)),
}  # fmt: skip

FOREIGN_POOL = 512  # lines kept per foreign language
VERSE_POOL = 2048  # lines kept per genre; a few are replaced by fresh lines after every song
HOOK_POOL = 256
SKELETONS = 256  # song structures kept per genre
ARTISTS_PER_TAG = 600
RECENT_ROWS = 64  # ring of recent rows that duplicate ids copy from


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
        problems = Problems()
        if self.rows < 1:
            problems.add(f"--rows must be at least 1, got {self.rows}")
        if self.layout not in LAYOUTS:
            problems.add(f"unknown layout {self.layout!r}; choose from {', '.join(LAYOUTS)}")
        for name, table, known in (
            ("tag share", self.tag_shares, TAG_SHARES),
            ("junk kind", self.rates, JUNK_RATES),
            ("flag", self.flags, FLAG_RATES),
        ):
            for key, value in table.items():
                if key not in known:
                    problems.add(f"unknown {name} {key!r} (known: {', '.join(known)})")
                elif not (0.0 <= value <= 1.0) or math.isnan(value):
                    problems.add(f"{name} {key}={value} is not between 0 and 1")
        if sum(self.tag_shares.values()) <= 0:
            problems.add("tag shares are all zero")
        if sum(self.rates.values()) > 1.0 + 1e-9:
            problems.add(f"junk rates add up to {sum(self.rates.values()):.3f} > 1")
        problems.raise_if_any()


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
