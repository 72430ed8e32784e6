"""Cleaning rules for one song's lyrics, each a small function (tests/test_clean.py).

:func:`clean_lyrics` applies them in order. Song structure is what the model should learn, so
line breaks and the blank line between stanzas are kept; only annotations and noise go:

1. :func:`normalize_newlines`  CRLF / CR -> LF.
2. :func:`normalize_spaces`    tabs, no-break and odd spaces -> one space; zero-width characters
                               dropped; spaces at line ends (songdata's two-space line ends) gone.
3. :func:`normalize_quotes`    curly quotes and apostrophes -> straight ones (GPT-2 BPE then sees
                               one spelling of "don't").
4. :func:`remove_header_lines` whole lines that are only an annotation: ``[Chorus: A & B]``,
                               ``[Produced by X]``, ``[Hook] 2x``, ``(Chorus)``, bare ``Chorus:``.
5. :func:`remove_brackets`     inline ``[..]``, ``{..}``, ``(..)`` (each kind switchable). A bracket
                               never spans lines, so an unbalanced ``(`` eats nothing after it.
6. :func:`collapse_blank_lines` 3+ newlines -> one blank line; no leading/trailing blank lines.

:func:`is_placeholder` recognises the documented placeholder texts (see PLACEHOLDER_PATTERNS);
:func:`text_hash` is the 64-bit key used to find texts repeated verbatim across many songs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

BRACKET_KINDS = ("square", "curly", "round")
_OPEN_CLOSE = {"square": ("[", "]"), "curly": ("{", "}"), "round": ("(", ")")}

_CRLF = re.compile(r"\r\n?")
# Zero-width space/joiners, BOM, soft hyphen, word joiner: invisible, and they split BPE words.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Tabs, no-break space and the other Unicode spaces (not newlines).
_SPACES = re.compile("[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_LINE_EDGE_SPACES = re.compile(r"^ +| +$", re.M)
_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
     "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"'}
)  # fmt: skip
_BLANKS = re.compile(r"\n{3,}")

# A repeat marker after a header: "[Hook] 2x", "[Chorus] x3", "(Chorus) ×2".
_REPEAT = r"(?:[ \t]*(?:[x×]\s*\d+|\d+\s*[x×]))?"
_SECTION_WORDS = (
    r"(?:verse|chorus|pre-?chorus|post-?chorus|hook|pre-?hook|bridge|intro|outro|refrain"
    r"|interlude|breakdown|skit|instrumental|break)"
)
# A bare section label on its own line: "Chorus:", "Verse 2", "Hook x2". No lyric text after it.
_BARE_LABEL = re.compile(
    rf"^[ \t]*{_SECTION_WORDS}(?:[ \t]*\d+)?[ \t]*:?{_REPEAT}[ \t]*(?:\n|\Z)", re.M | re.I
)


def _inner(kind: str) -> str:
    o, c = (re.escape(x) for x in _OPEN_CLOSE[kind])
    # Never across a line break, never across another opener of the same kind: the innermost
    # pair is removed first, and an unbalanced opener matches nothing.
    return rf"{o}[^{o}{c}\n]*{c}"


def _header_line(kinds: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(_inner(k) for k in kinds)
    return re.compile(rf"^[ \t]*(?:{alts})(?:[ \t]*(?:{alts}))*{_REPEAT}[ \t]*(?:\n|\Z)", re.M)


_HEADER_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}
_INLINE = {k: re.compile(rf"[ \t]*{_inner(k)}") for k in BRACKET_KINDS}


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR -> LF."""
    return _CRLF.sub("\n", text) if "\r" in text else text


def normalize_spaces(text: str) -> str:
    """One plain space for any run of spaces/tabs; no invisible characters; no spaces at line edges."""
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    return _LINE_EDGE_SPACES.sub("", text)


def normalize_quotes(text: str) -> str:
    """Curly/typographic quotes and apostrophes -> ' and "."""
    return text.translate(_QUOTES)


def remove_header_lines(text: str, kinds: Iterable[str] = BRACKET_KINDS) -> str:
    """Drop lines that are nothing but annotations of the given bracket kinds, or a bare label.

    ``[Chorus: A & B]``, ``[Produced by X]``, ``[Hook] 2x``, ``[Intro] (Skit)``, ``Chorus:``.
    """
    kinds = tuple(k for k in BRACKET_KINDS if k in set(kinds))
    if kinds:
        pattern = _HEADER_CACHE.get(kinds)
        if pattern is None:
            pattern = _HEADER_CACHE[kinds] = _header_line(kinds)
        text = pattern.sub("", text)
    return _BARE_LABEL.sub("", text)


def remove_brackets(text: str, kinds: Iterable[str] = BRACKET_KINDS) -> str:
    """Remove inline bracketed annotations of the given kinds (one level of nesting)."""
    for kind in BRACKET_KINDS:
        if kind in kinds:
            opener = _OPEN_CLOSE[kind][0]
            if opener in text:
                pattern = _INLINE[kind]
                text = pattern.sub("", text)
                if opener in text:  # "(oh (yeah))": the outer pair is now innermost
                    text = pattern.sub("", text)
    return text


def collapse_blank_lines(text: str) -> str:
    """At most one blank line between stanzas, none at the start or end."""
    return _BLANKS.sub("\n\n", text).strip("\n ")


def clean_lyrics(text: str, brackets: Iterable[str] = BRACKET_KINDS) -> str:
    """All rules in order; the result may be empty (the song is then dropped)."""
    kinds = tuple(brackets)
    text = normalize_newlines(text)
    text = normalize_spaces(text)
    text = normalize_quotes(text)
    text = remove_header_lines(text, kinds)
    text = remove_brackets(text, kinds)
    # Removing an inline annotation can leave spaces at a line edge or an empty line.
    text = _LINE_EDGE_SPACES.sub("", _SPACES.sub(" ", text))
    return collapse_blank_lines(text)


# Placeholder texts seen in the Genius dump instead of lyrics. A text is a placeholder when,
# lowercased with runs of whitespace made single spaces, it is at most PLACEHOLDER_MAX_CHARS long
# and one of these patterns matches it (re.fullmatch for the first group, re.search for the
# second). Longer texts are real songs that may well mention these words.
PLACEHOLDER_MAX_CHARS = 400
PLACEHOLDER_WHOLE = (
    r"\W*loading\W*",  # a page that never finished loading
    r"\W*save\W+cancel\W*",  # the edit-box buttons
    r"\W*instrumental\W*",  # "[Instrumental]", "(Instrumental)": no words to learn
    r"\W*(?:tba|tbd|coming soon|lyrics coming soon|no lyrics|n/?a|\?+)\W*",
)
PLACEHOLDER_SEARCH = (
    # "Lyrics for this song have yet to be released. Please check back once it is released."
    r"lyrics? (?:for this song |to this song )?(?:has|have|is|are|was|were)?\s?(?:not )?"
    r"(?:yet )?(?:to )?(?:be |been )?(?:released|available|transcribed)",
    r"not (?:yet )?(?:been )?released",
    r"unreleased (?:song|track|lyrics)",
    r"lyrics (?:will be|are) (?:added|available|up|posted) (?:soon|later|when)",
    r"(?:please )?submit (?:the |them|your )?(?:lyrics|them)",
    r"(?:request|requests) (?:for )?(?:the )?lyrics",
    r"we (?:don't|do not) have (?:the )?lyrics",
    r"lyrics (?:are )?(?:not|un)available",
)
_WHOLE = re.compile("|".join(f"(?:{p})" for p in PLACEHOLDER_WHOLE))
_SEARCH = re.compile("|".join(f"(?:{p})" for p in PLACEHOLDER_SEARCH))


def is_placeholder(text: str) -> bool:
    """True for a short text that is a known placeholder rather than lyrics."""
    if len(text) > PLACEHOLDER_MAX_CHARS * 2:
        return False
    flat = " ".join(text.lower().split())
    if len(flat) > PLACEHOLDER_MAX_CHARS:
        return False
    return bool(_WHOLE.fullmatch(flat) or _SEARCH.search(flat))


def text_hash(text: str) -> int:
    """64-bit key of a cleaned text, insensitive to case and whitespace (for verbatim repeats)."""
    flat = " ".join(text.lower().split())
    return int.from_bytes(hashlib.blake2b(flat.encode(), digest_size=8).digest(), "little")


def chunk_of(song_id: str, num_chunks: int) -> int:
    """The chunk a song id belongs to: a stable hash, identical on every machine and run."""
    digest = hashlib.blake2b(song_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % num_chunks


# Genius hosts translations and romanizations of songs as pages by pseudo-artists such as
# "Genius English Translations" or "Genius Romanizations": not the song as written.
_TRANSLATION_ARTIST = re.compile(r"^\s*genius\b.*\b(?:translations?|romanizations?)\b", re.I)


def is_translation_page(artist: str) -> bool:
    """True for Genius' translation/romanization pseudo-artists."""
    return bool(_TRANSLATION_ARTIST.search(artist))
