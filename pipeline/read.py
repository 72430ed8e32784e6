"""Stream a lyrics CSV of any size as batches of rows in one internal schema.

Three layouts are recognised from the header row and mapped onto the same columns
(``id, title, artist, tag, lyrics, language``; every value a ``str``, "" when absent):

- Genius ``ds.csv``: title, tag, artist, year, views, features, lyrics, id
  (+ language_cld3, language_ft, language in the ``song_lyrics.csv`` derivative).
- "55000+ Song Lyrics" ``songdata.csv``: artist, song, link, text. It has no genre column, so
  every row gets the tag passed as ``untagged_genre``; the link is the id.
- "Multi-Lingual Lyrics for Genre Classification" ``train.csv``: Artist, Song, Genre, Language,
  Lyrics. Genre names go through :func:`lyrics_gpt2.genres.normalize_genre` (Hip-Hop -> rap);
  the id is a hash of artist and song, so the same song listed twice counts as a duplicate.

pandas' C parser does the work, a bounded number of rows at a time: it copes with quoted fields
spanning lines, fields over 131,072 characters and CRLF. Strings such as "NA" or "null" stay
strings. A row with too many fields, or without an id (too few fields, a field cut short), is
skipped and counted in ``Reader.malformed`` (its record number in ``Reader.bad``); a quoted
field left open at the end of the file (a copy cut mid-field) loses that last row only. Anything
that makes the whole file unreadable raises UsageError.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.genres import normalize_genre

COLUMNS = ("id", "title", "artist", "tag", "lyrics", "language")

DOWNLOAD_HINT = (
    "download ds.csv of the Kaggle dataset 'Genius Song Lyrics' (https://www.kaggle.com/datasets, "
    "search 'Genius Song Lyrics'; its song_lyrics.csv with language columns works too) into "
    "data/, or run on the bundled sample: python -m pipeline.preprocess --input data/sample.csv.gz"
)


@dataclass(frozen=True)
class Layout:
    """How one CSV layout maps onto the internal columns (source column name or None)."""

    name: str
    required: tuple[str, ...]
    id: str | None
    title: str
    artist: str
    tag: str | None
    lyrics: str
    language: str | None


GENIUS = Layout("genius", ("title", "tag", "artist", "lyrics", "id"), "id", "title", "artist",
                "tag", "lyrics", None)  # fmt: skip
GENIUS_LANG = Layout("genius+language", (*GENIUS.required, "language"), "id", "title",
                     "artist", "tag", "lyrics", "language")  # fmt: skip
SONGDATA = Layout("songdata", ("artist", "song", "link", "text"), "link", "song", "artist",
                  None, "text", None)  # fmt: skip
MULTILINGUAL = Layout("multilingual", ("Artist", "Song", "Genre", "Language", "Lyrics"), None,
                      "Song", "Artist", "Genre", "Lyrics", "Language")  # fmt: skip

# A header is matched by the first layout whose required columns it holds.
LAYOUTS = (GENIUS_LANG, GENIUS, SONGDATA, MULTILINGUAL)

_HEAD_BYTES = 1 << 16


def open_text_bytes(path: Path) -> io.BufferedIOBase:
    """The raw bytes of ``path``, gunzipped when it starts with the gzip magic number."""
    f = path.open("rb")
    if f.read(2) == b"\x1f\x8b":
        f.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    f.seek(0)
    return f


def _sniff(path: Path) -> str:
    """Check the head of the file is UTF-8 text and return its first (header) line."""
    if not path.exists():
        raise UsageError(f"input {path} not found; {DOWNLOAD_HINT}")
    if not path.is_file():
        raise UsageError(f"input {path} is not a file; pass a lyrics CSV with --input")
    try:
        with open_text_bytes(path) as f:
            head = f.read(_HEAD_BYTES)
    except (OSError, EOFError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not head.strip():
        raise UsageError(f"input {path} is empty; pass a lyrics CSV with a header row")
    if (
        head.startswith((b"\xff\xfe", b"\xfe\xff"))
        or max(head[0:200:2].count(0), head[1:200:2].count(0)) > 50
    ):
        raise UsageError(
            f"input {path} is UTF-16 text, not UTF-8; re-encode it, e.g. "
            f"iconv -f UTF-16 -t UTF-8 {path} > {path.stem}.utf8.csv"
        )
    # Stray NUL bytes are removed from lyrics by cleaning; a file full of them is no CSV.
    if head.count(0) > max(16, len(head) // 100):
        raise UsageError(f"input {path} is a binary file, not a CSV; pass a lyrics CSV")
    # The head may end in the middle of a multi-byte character: only the tail may be cut.
    text = head.decode("utf-8", errors="ignore")
    if len(text.encode("utf-8")) < len(head) - 3:
        raise UsageError(f"input {path} is not UTF-8 text; pass a UTF-8 encoded lyrics CSV")
    return text.removeprefix("\ufeff").splitlines()[0]


def detect_layout(path: Path) -> Layout:
    """The layout whose required columns the header of ``path`` holds, else UsageError."""
    header_line = _sniff(path)
    header = next(csv.reader([header_line]), [])
    stripped = [h.strip() for h in header]
    names = set(stripped)
    # pandas would rename a second "lyrics" to "lyrics.1" and read the (maybe empty) first one.
    known = {c for lay in LAYOUTS for c in lay.required}
    twice = sorted({c for c in stripped if c in known and stripped.count(c) > 1})
    if twice:
        raise UsageError(
            f"input {path} has the column(s) {', '.join(twice)} more than once in its header; "
            "keep one of each (rename or delete the others)"
        )
    for layout in LAYOUTS:
        if set(layout.required) <= names:
            return layout
    # Name what is missing for the layout the header resembles most.
    # (most columns in common, then fewest missing: a Genius header without lyrics is told
    # about lyrics, not also about the optional language column of the derivative)
    best = max(
        LAYOUTS,
        key=lambda lay: (len(set(lay.required) & names), -len(set(lay.required) - names)),
    )
    missing = [c for c in best.required if c not in names]
    raise UsageError(
        f"input {path} lacks the column(s) {', '.join(missing)} of a {best.name} CSV "
        f"(header: {', '.join(header)[:200]}); expected Genius ds.csv, songdata.csv or "
        "Multi-Lingual Lyrics train.csv"
    )


@functools.lru_cache(maxsize=4096)
def _tag(name: str) -> str:
    """Genius tag for a genre name; '?name' (or '') when unknown, dropped later as unknown_genre."""
    return normalize_genre(name) or (f"?{name}" if name else "")


def _row_id(artist: str, title: str) -> str:
    return hashlib.blake2b(f"{artist}\x1f{title}".encode(), digest_size=8).hexdigest()


class Reader:
    """Iterate over ``path`` in batches of at most ``batch_rows`` rows (dict of column lists).

    ``rows_in`` counts every data row seen (skipped ones included), ``malformed`` the skipped.
    """

    def __init__(self, path: str | Path, *, untagged_genre: str, batch_rows: int = 2000):
        self.path = Path(path)
        self.layout = detect_layout(self.path)
        self.untagged_genre = untagged_genre
        self.batch_rows = batch_rows
        self.rows_in = 0
        self.malformed = 0
        self.bytes_read = 0
        # Where the skipped rows were, until the caller takes them (take_bad): {"row": the data
        # record's number (1 = the first after the header; a record may span lines), "detail"}
        self.bad: list[dict] = []
        self.truncated: str | None = None  # why the tail of the file was unreadable, if it was

    def take_bad(self) -> list[dict]:
        """The skipped rows' positions found since the last call (the drop log streams them)."""
        bad, self.bad = self.bad, []
        return bad

    def __iter__(self) -> Iterator[dict[str, list[str]]]:
        try:
            yield from self._read(skip_first_row=False)
        except _FirstRowTooLong:
            # pandas takes a first data row with more fields than the header as "the first
            # columns are an index": every later row would then be malformed. Skip that row
            # (malformed, like any later row with too many fields) and read again; nothing was
            # yielded yet, the check runs on the first batch.
            self.rows_in, self.malformed = 1, 1
            try:
                yield from self._read(skip_first_row=True)
            except _FirstRowTooLong:
                raise UsageError(
                    f"input {self.path}: its first two data rows have more fields than its "
                    "header; check the header row and the delimiter (a comma is expected)"
                ) from None

    def _read(
        self, skip_first_row: bool, skip_records: int = 0, nrows: int | None = None
    ) -> Iterator[dict[str, list[str]]]:
        """Batches from the data record ``skip_records + 1`` on (``nrows`` of them at most).

        A quoted field left open at the end of the file (a copy cut mid-field) makes pandas
        fail on the batch that holds it: the records before it are then read again up to it,
        and the open one is counted as malformed.
        """
        # No usecols: with it, pandas silently accepts rows with too many fields.
        raw = open_text_bytes(self.path)
        counted = _CountingReader(raw)
        buffered = io.BufferedReader(counted, buffer_size=1 << 20)
        caught: list = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                frames = pd.read_csv(
                    buffered,
                    engine="c",
                    dtype=object,  # plain Python str (pandas 3 would make Arrow strings)
                    # utf-8 (the BOM is skipped by _CountingReader): pandas then reads the
                    # bytes itself; utf-8-sig would decode through a TextIOWrapper and
                    # encode again, twice the reading process's parsing time.
                    encoding="utf-8",
                    encoding_errors="strict",
                    keep_default_na=False,
                    na_values=[],
                    chunksize=self.batch_rows,
                    on_bad_lines="warn",
                    skiprows=range(1, skip_records + 1)
                    if skip_records
                    else ([1] if skip_first_row else None),
                    nrows=nrows,
                )
                for frame in frames:
                    if not isinstance(frame.index, pd.RangeIndex):
                        raise _FirstRowTooLong
                    frame.columns = [c.strip() for c in frame.columns]
                    self._count_skipped(caught)
                    self.rows_in += len(frame)
                    self.bytes_read = counted.n
                    batch = self._convert(frame)
                    if batch["id"]:
                        yield batch
                self._count_skipped(caught)
                self.bytes_read = counted.n
        except UnicodeDecodeError as exc:
            raise UsageError(
                f"input {self.path} holds bytes that are not UTF-8 (near byte {counted.n}: "
                f"{exc.reason}); re-encode it as UTF-8"
            ) from None
        except pd.errors.ParserError as exc:
            msg = str(exc).replace("Error tokenizing data. C error: ", "")
            cut = _OPEN_AT_EOF.search(msg)
            if cut is not None and nrows is not None:
                self._count_skipped(caught)  # the lines skipped before it, for _read_before
                raise _StillOpen from None
            if cut is None:
                raise UsageError(f"input {self.path} is not a readable CSV: {msg}") from None
            raw.close()
            bad = int(cut.group(1))  # record number, the header being record 0
            yield from self._read_before(skip_first_row, bad)
            self.rows_in += 1
            self.malformed += 1
            self.truncated = f"a quoted field opened in data row {bad} is never closed"
            self.bad.append({"row": bad, "detail": "quote open at end of file"})
            return
        except pd.errors.EmptyDataError:
            raise UsageError(f"input {self.path} has no rows; pass a lyrics CSV") from None
        except (OSError, EOFError) as exc:
            raise UsageError(f"cannot read {self.path}: {exc}") from None
        finally:
            raw.close()

    def _read_before(self, skip_first_row: bool, bad: int) -> Iterator[dict[str, list[str]]]:
        """The records after those already read and before record ``bad`` (less than one batch:
        pandas failed on the batch holding it). ``nrows`` counts rows that parse, so a skipped
        line among them shows up as the same error: the count is lowered by the lines the
        attempt skipped and the read tried again."""
        start = (self.rows_in, self.malformed, len(self.bad))
        nrows = bad - 1 - self.rows_in
        for _ in range(3):
            if nrows <= 0:
                return
            try:
                batches = list(self._read(skip_first_row, self.rows_in, nrows))
            except _StillOpen:
                nrows -= self.malformed - start[1]
                self.rows_in, self.malformed = start[0], start[1]
                del self.bad[start[2] :]
                continue
            yield from batches
            return
        raise UsageError(f"input {self.path} is not a readable CSV: a quote is never closed")

    def _count_skipped(self, caught: list) -> None:
        # One warning may report several skipped lines: "Skipping line 7: expected 8 fields,
        # saw 9".
        skipped = 0
        for w in caught:
            for record, detail in _SKIPPED.findall(str(w.message)):
                # pandas' "line" counts records, the header being line 1
                skipped += 1
                self.bad.append({"row": int(record) - 1, "detail": detail.strip()})
        caught.clear()
        self.malformed += skipped
        self.rows_in += skipped

    def _convert(self, frame: pd.DataFrame) -> dict[str, list[str]]:
        lay = self.layout
        n = len(frame)

        def col(name: str | None) -> list[str]:
            return frame[name].tolist() if name else [""] * n

        title, artist, lyrics = col(lay.title), col(lay.artist), col(lay.lyrics)
        ids = col(lay.id) if lay.id else [_row_id(a, t) for a, t in zip(artist, title, strict=True)]
        tags = [_tag(t) for t in col(lay.tag)] if lay.tag else [self.untagged_genre] * n
        batch = {
            "id": ids,
            "title": title,
            "artist": artist,
            "tag": tags,
            "lyrics": lyrics,
            "language": [lang.strip().lower() for lang in col(lay.language)],
        }
        # A row that lost its id (too few fields) cannot be deduplicated or sharded: malformed.
        keep = [i for i, v in enumerate(ids) if v.strip()]
        if len(keep) < n:
            self.malformed += n - len(keep)
            first = self.rows_in - n + 1  # data row number of the frame's first row
            kept = set(keep)
            self.bad.extend(
                {"row": first + i, "detail": "no id (too few fields)"}
                for i in range(n)
                if i not in kept
            )
            batch = {k: [v[i] for i in keep] for k, v in batch.items()}
        return batch


_OPEN_AT_EOF = re.compile(r"EOF inside string starting at row (\d+)")
_SKIPPED = re.compile(r"Skipping line (\d+): ([^\n]*)")


# record_lines scans files up to this size (a pass of Python's csv module, ~1 minute per GB);
# a bigger one keeps record numbers only.
LINE_SCAN_MAX_BYTES = 1 << 30


def record_lines(path: Path, records: set[int]) -> dict[int, int]:
    """{data record number: the physical line it starts on} for ``records`` (1 = the first
    record after the header, as Reader.bad numbers them); empty for a file over
    LINE_SCAN_MAX_BYTES. A quoted lyric spans several lines, so only a scan can tell."""
    if not records or path.stat().st_size > LINE_SCAN_MAX_BYTES:
        return {}
    csv.field_size_limit(1 << 30)
    wanted, found = max(records), {}
    with open_text_bytes(path) as raw, io.TextIOWrapper(raw, "utf-8", "replace", "") as text:
        reader = csv.reader(text)
        record = -1  # the header is record 0
        try:
            while record < wanted:
                start = reader.line_num + 1
                if not next(reader):
                    continue  # a blank line is no record (pandas skips it too)
                record += 1
                if record in records:
                    found[record] = start
        except (StopIteration, csv.Error):
            pass
    return found


class _StillOpen(Exception):
    """The re-read of :meth:`Reader._read_before` reached the open quote again."""


class _FirstRowTooLong(Exception):
    """The first data row has more fields than the header (see Reader.__iter__)."""


_BOM = b"\xef\xbb\xbf"


class _CountingReader(io.RawIOBase):
    """A byte stream that counts what was read (for MB/s and error positions), less the UTF-8
    byte order mark a file may start with."""

    def __init__(self, inner: io.BufferedIOBase):
        self.inner = inner
        head = b""
        while len(head) < len(_BOM) and (more := inner.read(len(_BOM) - len(head))):
            head += more
        self.n = len(head)
        self.head = b"" if head == _BOM else head  # given out before the rest

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        if self.head:
            k = min(len(b), len(self.head))
            b[:k], self.head = self.head[:k], self.head[k:]
            return k
        data = self.inner.read(len(b))
        k = len(data)
        b[:k] = data
        self.n += k
        return k
