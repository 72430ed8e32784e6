"""One :class:`Song` as a CSV row of a layout: fields per layout and the quoting of the csv module.

:func:`row_text` is the one path every row takes on its way into the file
(``pipeline/synth/write.py``), whatever the layout and line ending.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from random import Random

from pipeline.synth.config import MULTILINGUAL_GENRES, Song

_HEADER_LINE = re.compile(r"^\s*(\[[^\]\n]*\](\s*\d+x)?|[A-Z][\w -]*:)\s*$")


# Share of section headers written straight under the previous stanza's last lyric line, with no
# blank line between (real Genius songs: 940 of 6,980 headers, CONTEXT.md). Decided by a hash of
# the song id and the stanza, not the corpus's random stream, so nothing else in a song changes.
HEADER_UNDER_LYRICS = 940 / 6980


def _header_under_lyrics(song_id: int, index: int) -> bool:
    digest = hashlib.blake2b(f"{song_id}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64 < HEADER_UNDER_LYRICS


def genius_text(song: Song) -> str:
    """Lyrics as in ds.csv: header lines, a blank line between stanzas, except that some headers
    sit directly under the last line of the stanza before (HEADER_UNDER_LYRICS)."""
    if song.sections is None:
        return song.text or ""
    out, after_lyrics = "", False
    for i, (h, ls) in enumerate(song.sections):
        stanza = (h + "\n" + "\n".join(ls) if ls else h) if h else "\n".join(ls)
        if i:
            glued = h and after_lyrics and _header_under_lyrics(song.id, i)
            out += "\n" if glued else "\n\n"
        out += stanza
        after_lyrics = bool(ls)
    return out


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


def row_text(song: Song, layout: str, rnd: Random, newline: str = "\n") -> str:
    """The row of ``song`` as written to the file, line ending included.

    A malformed row is written as it is; with CRLF, line breaks inside fields become CRLF too
    (songdata's stanzas are built with ``newline`` already).
    """
    if song.raw_line is not None:
        return song.raw_line + newline
    row = fields_for(song, layout, rnd, newline)
    if newline != "\n" and layout != "songdata":
        row = [x.replace("\n", newline) if x.__class__ is str else x for x in row]
    return csv_line(row, layout == "songdata", newline)
