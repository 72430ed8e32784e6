"""Genius page text scraped into the lyrics, and its removal (tests/pipeline/test_clean.py).

pipeline/clean.py's :func:`~pipeline.clean.clean_lyrics` runs :func:`remove_scrape_junk` on a
song's lines, after its characters are normalised and only when :func:`has_scrape_junk` finds
one of a few marker substrings (clean songs pay a handful of substring scans, no regex). Each
rule that fires is noted by name (SCRAPE_RULES); stage 1 counts them per line and song in its
manifest (``scrape_junk``).
"""

from __future__ import annotations

import re

# Each rule has a name, counted per line and per song when clean_lyrics is given a ``touched``
# list (stage 1 puts the counts in its manifest). The last two are line rules of clean_lyrics.
SCRAPE_RULES = (
    "contributors_line",  # first line "27 ContributorsSong Title Lyrics"
    "translations_list",  # "Translations" then language names, at the top
    "lyrics_line",  # a lone "Lyrics" line
    "foreign_header",  # "[Letra de ...]", "[Songtext zu ...]", "[Paroles de ...]", "[... 가사]"
    "might_also_like",  # "You might also like", alone or glued to either end of a lyric line
    "tickets_ad",  # "See ARTIST LiveGet tickets as low as $147"
    "embed_tail",  # "Embed" / "123Embed" glued to the last line
    "hyphen_header",  # "Verse 1-" (clean.is_header_line)
    "unbalanced_header",  # "[Bridge: Henrik Both}" (clean.is_unbalanced_header)
)
# A song without any of these substrings has no scrape junk: the hot path pays a few substring
# scans (memchr speed) and no regex. "Lyrics" also covers the contributors line.
# "Embed" only counts at the very end and "Translations" at the very start (without "Lyrics",
# which the contributors line holds, nothing else can come before it): has_scrape_junk looks
# there only.
_JUNK_MARKERS = (
    "might also like", "Get tickets", "Lyrics", "Letra de", "Songtext", "Paroles de", "Testo di",
    "가사",
)  # fmt: skip
# Glued means no space between the junk and the lyric: a real line "You might also like me"
# or "...and you might also like it" has spaces (and a lowercase "you" mid-line) and stays.
_MIGHT_LIKE = re.compile(r"(?m)(?:^|(?<=\S))You might also like(?=$|[A-Z\[({\"'0-9])")
_TICKETS = re.compile(r"(?m)(?:^|(?<=\S))See \S.{0,100}? ?LiveGet tickets as low as \$[\d.,]+")
_CONTRIBUTORS = re.compile(r"\d[\d,.]*K? Contributors?\S.*Lyrics")
_FOREIGN_HEADER = re.compile(
    r"\[(?:Letra(?: de)?|Songtext(?: zu| von)?|Paroles(?: de)?|Testo(?: di)?) .*\]|\[.* 가사\]"
)
_EMBED = re.compile(r"(?:^|(?<=[^\s\d]))\d*Embed$")
# Language names as Genius lists them under "Translations" (in their own language).
_LANGUAGE_NAMES = frozenset(
    "English Español Français Deutsch Português Italiano Русский Polski Türkçe 한국어 日本語 中文 "
    "简体中文 繁體中文 Nederlands Svenska Română Čeština Magyar Ελληνικά العربية עברית فارسی "
    "Українська Srpski Hrvatski Slovenčina Slovenščina Dansk Norsk Suomi Català Tagalog ไทย "
    "हिन्दी Azərbaycanca Indonesia Romanization Transliteration".split()
)
_LANGUAGE_RUN = re.compile("(?:" + "|".join(sorted(map(re.escape, _LANGUAGE_NAMES))) + ")+")


def has_scrape_junk(text: str) -> bool:
    """Cheap pre-check: could :func:`remove_scrape_junk` change anything in ``text`` (as
    pipeline.clean.normalize_chars leaves it: a zero-width space is no longer in the way)?"""
    # A plain loop: any() over a generator costs ~0.5 us more per song on the hot path.
    for marker in _JUNK_MARKERS:
        if marker in text:
            return True
    return text.rstrip().endswith("Embed") or text.lstrip().startswith("Translations")


def _is_translations_line(line: str) -> bool:
    """ "Translations" alone or glued to language names ("TranslationsEspañolDeutsch")."""
    if not line.startswith("Translations"):
        return False
    rest = line[len("Translations") :]
    return not rest or _LANGUAGE_RUN.fullmatch(rest) is not None


def _is_language_name(line: str) -> bool:
    """ "Español", "Русский (Russian)": a line of the list under "Translations"."""
    return line.split(" (", 1)[0] in _LANGUAGE_NAMES


def remove_scrape_junk(lines: list[str], touched: list[str] | None = None) -> list[str]:
    """The lines without scrape junk; each rule that fires appends its name to ``touched``.

    A line that is only junk goes without leaving a blank (it was never a stanza break); junk
    glued between two lyric lines splits them again.
    """
    note = touched.append if touched is not None else (lambda rule: None)
    out: list[str] = []
    top = True  # no lyric line seen yet: the contributors and translations rules apply
    in_translations = False
    for raw in lines:
        line = raw.strip()
        if not line:
            out.append(raw)
            continue
        if top:
            if _CONTRIBUTORS.fullmatch(line):
                note("contributors_line")
                continue
            if _is_translations_line(line):
                note("translations_list")
                in_translations = True
                continue
            if in_translations and _is_language_name(line):
                note("translations_list")
                continue
            top = False
        if line == "Lyrics":
            note("lyrics_line")
            continue
        if line[0] == "[" and _FOREIGN_HEADER.fullmatch(line):
            note("foreign_header")
            continue
        changed = False
        if "Get tickets" in line:
            line, n = _TICKETS.subn("\n", line)
            if n:
                note("tickets_ad")
                changed = True
        if "might also like" in line:
            line, n = _MIGHT_LIKE.subn("\n", line)
            if n:
                note("might_also_like")
                changed = True
        if changed:
            out.extend(part for part in line.split("\n") if part.strip())
        else:
            out.append(raw)
    for i in range(len(out) - 1, -1, -1):  # the last non-blank line
        last = out[i].rstrip()
        if last:
            if last.endswith("Embed"):
                stripped = _EMBED.sub("", last)
                if stripped != last:
                    note("embed_tail")
                    out[i] = stripped
            break
    return out
