"""Cleaning rules for one song's lyrics, each a small function (tests/pipeline/test_clean.py).

:func:`clean_lyrics` applies them in order. Song structure is what the model should learn, so
line breaks and the blank line between stanzas are kept; only annotations and noise go:

1. :func:`normalize_newlines`   CRLF / CR -> LF.
2. :func:`normalize_chars`      zero-width characters and soft hyphens dropped; curly quotes and
                                apostrophes -> straight ones (GPT-2 BPE then sees one spelling of
                                "don't"). Accents and emoji are kept.
3. :func:`remove_scrape_junk`   Genius page text scraped into the lyrics (pipeline/scrape.py:
                                SCRAPE_RULES, each counted per line and song in the stage-1
                                manifest), run only when one of a few marker substrings occurs in
                                the song (:func:`has_scrape_junk`).
4. then line by line:
   :func:`normalize_spaces`     runs of spaces, tabs, no-break and other Unicode spaces -> one
                                space; none at the line's edges (songdata's two-space line ends).
   :func:`is_header_line`       a line that is only annotations goes: ``[Chorus: A & B]``,
                                ``[Produced by X]``, ``[Hook] 2x``, ``(Chorus)``, bare ``Chorus:``,
                                hyphen labels ``Verse 1-`` (rule ``hyphen_header``) and headers
                                whose brackets do not match, ``[Bridge: A}`` (``unbalanced_header``).
   :func:`remove_brackets`      inline ``[..]``, ``{..}``, ``(..)`` (each kind switchable). A pair
                                never spans lines, so an unbalanced ``(`` eats nothing after it.
                                A line emptied by this goes too.
5. :func:`collapse_blank_lines` at most one blank line between stanzas, none at either end.

Working per line keeps every regex on a short string. Stage 1 runs this on millions of songs,
so the common case is cheap (a song of the full-size dump takes ~45 us): a line no rule can
touch (no bracket, no ``??``, not short and starting like an instruction or a bare label)
skips the rules; a song whose spacing is already tidy skips the per-line space normalisation
(:func:`_is_tidy`); and the rules' outcome for a line is cached (:func:`_line_rules`: headers
and chorus lines come back again and again). The bracket rules are compiled once per set of
kinds (:func:`bracket_rules`); :func:`is_header_line` / :func:`remove_brackets` are the same
functions for callers that pass kinds per call.
:func:`is_placeholder` recognises the documented placeholder texts (PLACEHOLDER_* below).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lyrics_gpt2.songcraft import sections
from pipeline import leftovers
from pipeline.scrape import has_scrape_junk, remove_scrape_junk
from pipeline.structure import HEAD, REPEAT, Structure, assemble

BRACKET_KINDS = ("square", "curly", "round")
_OPEN_CLOSE = {"square": ("[", "]"), "curly": ("{", "}"), "round": ("(", ")")}

# Deleted: zero-width space/joiners, word joiner, BOM, soft hyphen (invisible; they split BPE
# words). Mapped: typographic quotes. Unicode spaces are handled by str.split() per line.
# (A chain of str.replace on the characters present is ~5x faster than str.translate.)
_CHAR_MAP = (
    ("\u200b", ""), ("\u200c", ""), ("\u200d", ""), ("\u2060", ""), ("\ufeff", ""),
    ("\u00ad", ""),
    ("\u2018", "'"), ("\u2019", "'"), ("\u201a", "'"), ("\u2032", "'"), ("\u00b4", "'"),
    ("\u201c", '"'), ("\u201d", '"'), ("\u201e", '"'), ("\u2033", '"'),
)  # fmt: skip

# A repeat marker after a header: "[Hook] 2x", "[Chorus] x3", "(Chorus) ×2".
_REPEAT = r"(?: ?(?:[x×] ?\d+|\d+ ?[x×]))?"
_SECTION_WORDS = (
    r"(?:verse|chorus|pre-?chorus|post-?chorus|hook|pre-?hook|bridge|intro|outro|refrain"
    r"|interlude|breakdown|skit|instrumental|break)"
)
# A bare section label on its own line: "Chorus:", "Verse 2", "Hook x2". No lyric text after it.
# "Verse 1-": scrapes that lost the brackets sometimes end the label with a hyphen instead.
_BARE_LABEL = re.compile(rf"{_SECTION_WORDS}(?: ?\d+)? ?[:-]?{_REPEAT}", re.I)
_BARE_FIRST = frozenset("vcphbiorsVCPHBIORS")
_BARE_MAX = 24  # characters: "Pre-Chorus 2: x2" fits, a lyric line rarely does


def _inner(kind: str) -> str:
    o, c = (re.escape(x) for x in _OPEN_CLOSE[kind])
    # Never across another opener/closer of the same kind: the innermost pair goes first, and an
    # unbalanced opener matches nothing.
    return rf"{o}[^{o}{c}]*{c}"


def _header_pattern(kinds: tuple[str, ...]) -> re.Pattern[str]:
    alts = "|".join(_inner(k) for k in kinds)
    return re.compile(rf"(?:{alts})(?: ?(?:{alts}))*{_REPEAT}")


_INLINE = {k: re.compile(rf" ?{_inner(k)}") for k in BRACKET_KINDS}
_OPENERS = {k: _OPEN_CLOSE[k][0] for k in BRACKET_KINDS}


def _kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    wanted = set(kinds)
    return tuple(k for k in BRACKET_KINDS if k in wanted)


# C0 control characters but tab and newline (CR is a newline by then), and DEL: a NUL byte
# anywhere in a CSV field (seen in damaged dumps) must not reach the tokenizer.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# The same characters as a bytes.translate table: each control byte -> 0xFF, any other -> 0.
_CONTROL_BYTES = bytes(255 if _CONTROL.match(chr(c)) else 0 for c in range(256))
_CONTROL_BYTE = b"\xff"


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR -> LF."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def normalize_chars(text: str) -> str:
    """Drop invisible characters (NUL and other control characters too); curly/typographic
    quotes -> ' and "."""
    if text.isascii():  # a bytewise check, ~4x faster than the regex search
        if _CONTROL_BYTE in text.encode().translate(_CONTROL_BYTES):
            text = _CONTROL.sub("", text)
    elif _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    if not text.isascii():
        for char, replacement in _CHAR_MAP:
            if char in text:
                text = text.replace(char, replacement)
    return text


def normalize_spaces(line: str) -> str:
    """One plain space for any run of whitespace in a line; none at its edges."""
    return " ".join(line.split())


# Every whitespace character (str.isspace, what str.split splits on) but space and newline
# (tests/pipeline/test_clean.py checks the list against the Unicode database).
OTHER_SPACES = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _is_tidy(text: str) -> bool:
    """True when :func:`normalize_spaces` would leave every line of ``text`` as it is (its
    control characters already gone, :func:`normalize_chars`): one check of the whole song
    instead of a split and join per line. Substring scans, ~3x faster than a regex."""
    if "  " in text or " \n" in text or "\n " in text or text[:1] == " " or text[-1:] == " ":
        return False
    if text.isascii():  # the only whitespace left is space, tab and newline
        return "\t" not in text
    return not any(map(text.__contains__, OTHER_SPACES))


@dataclass(frozen=True)
class BracketRules:
    """The bracket rules compiled for one set of bracket kinds (:func:`bracket_rules`).

    :func:`clean_lyrics` fetches them once per song and calls them on every line; the
    module-level :func:`is_header_line` and :func:`remove_brackets` call the same functions.
    """

    kinds: tuple[str, ...]
    is_header: Callable[[str], bool]  # a (space-normalised) line that is only annotations
    has_opener: Callable[[str], object]  # truthy when the line holds an opener of these kinds
    remove: Callable[[str], str]  # inline annotations removed (one level of nesting)


@functools.cache
def bracket_rules(kinds: tuple[str, ...]) -> BracketRules:
    """The rules for ``kinds`` (a tuple in BRACKET_KINDS order), compiled on first use."""
    openers = "".join(_OPENERS[k] for k in kinds)
    header = _header_pattern(kinds).fullmatch if kinds else None
    inline = tuple((_OPENERS[k], _INLINE[k].sub) for k in kinds)

    # The compiled pieces are bound as default arguments: local lookups, the fastest Python has
    # (these run on every line of every song).
    def is_header(
        line: str,
        openers: str = openers,
        header: Callable | None = header,
        bare_first: frozenset[str] = _BARE_FIRST,
        bare: Callable = _BARE_LABEL.fullmatch,
    ) -> bool:
        if not line:
            return False
        first = line[0]
        if first in openers and header(line):  # type: ignore[misc]
            return True
        return first in bare_first and len(line) <= _BARE_MAX and bare(line) is not None

    def remove(line: str, inline: tuple = inline) -> str:
        for opener, sub in inline:
            if opener in line:
                line = sub("", line)
                if opener in line:  # "(oh (yeah))": the outer pair is now innermost
                    line = sub("", line)
        return line

    if openers:
        has_opener = re.compile("[" + re.escape(openers) + "]").search
    else:

        def has_opener(line: str) -> object:
            return None

    return BracketRules(kinds, is_header, has_opener, remove)


def is_header_line(line: str, kinds: Iterable[str] = BRACKET_KINDS) -> bool:
    """True for a (space-normalised) line that is nothing but annotations or a bare label."""
    return bracket_rules(_kinds(kinds)).is_header(line)


def remove_brackets(line: str, kinds: Iterable[str] = BRACKET_KINDS) -> str:
    """Remove inline bracketed annotations of the given kinds (one level of nesting)."""
    return bracket_rules(_kinds(kinds)).remove(line)


def collapse_blank_lines(lines: list[str]) -> str:
    """Join lines keeping at most one blank line between stanzas and none at either end."""
    out: list[str] = []
    blank = False
    for line in lines:
        if line:
            if blank and out:
                out.append("")
            out.append(line)
            blank = False
        else:
            blank = True
    return "\n".join(out)


# --- headers whose brackets do not match ------------------------------------------------
_ANY_OPEN = "[({"
_ANY_CLOSE = "])}"  # in _ANY_OPEN order: a pair matches by index
_UNBALANCED = re.compile(r"[\[({][^\[\](){}]{1,80}[\]})]")


def is_unbalanced_header(line: str) -> bool:
    """A short line that opens with one bracket kind and closes with another: ``[Bridge: A}``."""
    if line[0] not in _ANY_OPEN or line[-1] not in _ANY_CLOSE:
        return False
    return _ANY_OPEN.index(line[0]) != _ANY_CLOSE.index(line[-1]) and bool(
        _UNBALANCED.fullmatch(line)
    )


def clean_lyrics(
    text: str,
    brackets: Iterable[str] = BRACKET_KINDS,
    touched: list[str] | None = None,
    parentheses: str = "drop",
    removed: Counter | None = None,
    structure: Structure | None = None,
) -> str:
    """All rules in order; the result may be empty (the song is then dropped).

    ``touched``, when given, receives the name of each scrape or leftover rule (SCRAPE_RULES,
    leftovers.LEFTOVER_RULES) per line it removed or changed. ``parentheses="keep"``: round
    brackets stay (whatever ``brackets`` says) but annotation-like ones, "(x2)", "(Chorus)"
    (pipeline/leftovers.py). ``removed``, when given, counts lyric words: ``words`` in the song,
    and the words each bracket kind and leftover rule removed. ``structure``, when given,
    receives the section kind of each stanza and the instruction lines expanded or dropped
    (pipeline/structure.py). A removed header is always a stanza break.
    """
    keep_parens = parentheses == "keep"
    kinds = tuple(k for k in _kinds(brackets) if not (keep_parens and k == "round"))
    given = text
    text = normalize_chars(normalize_newlines(text))
    raw_lines = text.split("\n")
    tidy = _is_tidy(text)
    if removed is not None:
        if tidy and text == given:  # one word per space, plus one per non-blank line
            removed["words"] += text.count(" ") + len(raw_lines) - raw_lines.count("")
        else:
            removed["words"] += len(given.split())
    if has_scrape_junk(text):
        raw_lines = remove_scrape_junk(raw_lines, touched)
        tidy = _is_tidy("\n".join(raw_lines))
    lines: list = []
    marked = False  # a header or instruction became a marker: structure.assemble joins
    for raw in raw_lines:
        line = raw if tidy else normalize_spaces(raw)
        # Most lines are plain lyrics no rule can touch: a rule needs a bracket or "??" in the
        # line, or a short line that may be an instruction or a bare label.
        if line and (
            "[" in line or "(" in line or "{" in line or "??" in line
            or (len(line) <= _INSTRUCTION_MAX and (
                line[0] in _INSTRUCTION_FIRST or (line[0] in _BARE_FIRST and len(line) <= _BARE_MAX)
            ))
        ):  # fmt: skip
            line, rules_fired, words_removed = _line_rules(line, kinds, keep_parens)
            if rules_fired and touched is not None:
                touched.extend(rules_fired)
            if words_removed and removed is not None:
                for key, n in words_removed:
                    removed[key] += n
            if line is None:
                continue
            if line.__class__ is tuple:
                marked = True
        lines.append(line)
    if marked:
        return assemble(lines, structure)
    song = collapse_blank_lines(lines)
    if structure is not None:
        structure.kinds = [None] * (song.count("\n\n") + 1 if song else 0)
    return song


CACHED_LINE_CHARS = 200  # longer lines are not cached: 16,384 of them stay under ~10 MB


def _line_rules(
    line: str, kinds: tuple[str, ...], keep_parens: bool
) -> tuple[str | tuple | None, tuple[str, ...], tuple[tuple[str, int], ...]]:
    """:func:`_apply_rules` of one line, with the rules it noted and the words it counted as
    removed (in the order noted), to be replayed. Cached for lines of up to CACHED_LINE_CHARS:
    "[Chorus]", "[Verse 1]", a chorus line sung three times, an artist's credit header reach
    the rules over and over (a book-length line in a damaged row is not worth keeping)."""
    if len(line) <= CACHED_LINE_CHARS:
        return _cached_line_rules(line, kinds, keep_parens)
    return _line_rules_now(line, kinds, keep_parens)


def _line_rules_now(
    line: str, kinds: tuple[str, ...], keep_parens: bool
) -> tuple[str | tuple | None, tuple[str, ...], tuple[tuple[str, int], ...]]:
    touched: list[str] = []
    removed: Counter = Counter()
    remove = functools.partial(_remove_counted, kinds=kinds, removed=removed)
    out = _apply_rules(line, bracket_rules(kinds), remove, keep_parens, touched, removed)
    return out, tuple(touched), tuple(removed.items())


_cached_line_rules = functools.lru_cache(maxsize=16384)(_line_rules_now)


def _apply_rules(
    line: str,
    rules: BracketRules,
    remove: Callable[[str], str],
    keep_parens: bool,
    touched: list[str] | None,
    removed: Counter | None,
) -> str | tuple | None:
    """One space-normalised, non-blank line through the line rules: the line as it stays, a
    header or instruction marker (pipeline/structure.py), or None when it goes."""
    if line[0] in _INSTRUCTION_FIRST and (marker := _instruction_marker(line)):
        return marker
    if rules.is_header(line):
        if touched is not None and line[-1] == "-":
            touched.append("hyphen_header")
        if removed is not None:
            removed[_HEADER_KIND.get(line[0], "bare_label")] += len(line.split())
        return _header_marker(line)
    if line[0] in _ANY_OPEN and is_unbalanced_header(line):
        if touched is not None:
            touched.append("unbalanced_header")
        return _header_marker(line)
    if line.startswith("[["):  # "[[Chorus: X & [?]]](Name)": a nested header
        # Removed as before (its words and "[]" counted), but as a stanza break.
        leftovers.after_brackets(normalize_spaces(remove(line)), keep_parens, touched, removed)
        return _header_marker(line)
    if leftovers.leftover_header(line, touched, removed):
        return _header_marker(line)  # "[Closing: Name", "Verse 1-(Name)"
    if rules.has_opener(line):
        header_first = line[0] == "["
        line = normalize_spaces(remove(line))
        if not line:
            return None  # emptied by bracket removal: not a stanza break
        if keep_parens and header_first and leftovers.is_credit(line):
            return None  # "[Chorus: X](Name)": the header's credit, not a sung line
    return leftovers.after_brackets(line, keep_parens, touched, removed) or None


# --- section headers and instruction lines (pipeline/structure.py assembles them) -----------
# First characters of an instruction line ("Repeat chorus", "(x2)", "— 2x", "x3"): a cheap gate.
_INSTRUCTION_MAX = sections.INSTRUCTION_MAX_CHARS
_INSTRUCTION_FIRST = frozenset("rR([*-\u2014\u2013xX\u00d70123456789")


@functools.lru_cache(maxsize=8192)
def _instruction_marker(line: str) -> tuple | None:
    found = sections.instruction(line)
    return None if found is None else (REPEAT, found[0], found[1])


@functools.lru_cache(maxsize=8192)  # "[Chorus]", "[Verse 2]": the same few headers everywhere
def _header_marker(line: str) -> tuple:
    return (HEAD, sections.header_kind(line) or "other", sections.repeat_count(line))


_HEADER_KIND = {"[": "square", "{": "curly", "(": "round"}


def _remove_counted(line: str, kinds: tuple[str, ...], removed: Counter) -> str:
    """:func:`remove_brackets` that counts the words each kind removed (stage 1's manifest)."""
    for kind in kinds:
        opener = _OPENERS[kind]
        if opener in line:
            before = len(line.split())
            line = _INLINE[kind].sub("", line)
            if opener in line:  # "(oh (yeah))": the outer pair is now innermost
                line = _INLINE[kind].sub("", line)
            removed[kind] += before - len(line.split())
    return line
