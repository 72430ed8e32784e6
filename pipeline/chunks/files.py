"""Stage 1's shard and dedup keys and its per-chunk files (pipeline/chunks/stage.py runs them).

    python -m pipeline.preprocess --stages chunks        # writes DIR/chunks/chunk-NN.parquet

- :func:`chunk_of`: the chunk a song id belongs to (blake2b of the id mod N), so every copy of an
  id lands in one chunk and duplicate ids are found chunk by chunk;
- :func:`text_hash`: the 64-bit key of a cleaned text (case, whitespace and punctuation folded)
  for duplicates and verbatim repeats;
- :class:`Staging`: kept rows appended in input order to per-chunk staging files, with their hash;
- :func:`scan_chunk`, :func:`repeated_hashes`, :func:`duplicate_winners`, :func:`finalize_chunk`:
  duplicate ids (first kept), then texts found in at least ``--repeat-threshold`` songs (all
  go), then duplicate texts (the copy with the lowest id key stays, whatever the artist), from
  ids and hashes alone (17 bytes per row in memory, plus the duplicated texts); the final chunk
  is written from the staging file without them, each dropped row sent to the drop log.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

COLUMNS = ("id", "title", "artist", "tag", "lyrics", "sections")
STAGING_FLUSH_ROWS = 1000  # rows buffered per chunk before they are appended to its staging file
FINAL_BATCH_ROWS = 4096

FINAL_SCHEMA = pa.schema([(c, pa.string()) for c in COLUMNS])
STAGING_SCHEMA = FINAL_SCHEMA.append(pa.field("_hash", pa.uint64()))


# Everything but letters and digits (of any script): punctuation, quotes, line breaks, spaces.
_NOT_WORD = re.compile(r"[\W_]+")


def normalize_text(text: str) -> str:
    """The words of a text, case folded, one space apart: what two copies of a song share
    whatever their punctuation, spacing or line breaks."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


# normalize_text's UTF-8, bytewise: ASCII letters lowercased, digits kept, every other ASCII
# byte a space, then runs of spaces made one. ~4x faster than the str regex on an ASCII text,
# and the same bytes. Bytes over 127 (parts of other characters) pass unchanged: a text that is
# not ASCII has its non-ASCII characters that are not letters or digits (curly quotes, dashes,
# emoji, odd spaces: what [\W_] matches beyond ASCII) made spaces first. ~1.7x faster there.
_WORD_BYTES = bytes(c if chr(c).isalnum() else 32 for c in range(128)).lower() + bytes(
    range(128, 256)
)
_SPACE_RUN = re.compile(rb"  +")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def text_hash(text: str) -> int:
    """64-bit key of a cleaned text, insensitive to case, whitespace and punctuation (duplicates
    and verbatim repeats): blake2b of :func:`normalize_text`'s UTF-8."""
    if not text.isascii():
        text = text.casefold()
        for char in set(_NOT_ASCII.findall(text)):
            if not char.isalnum():  # what \w means beyond ASCII
                text = text.replace(char, " ")
    flat = _SPACE_RUN.sub(b" ", text.encode().translate(_WORD_BYTES)).strip()
    return int.from_bytes(hashlib.blake2b(flat, digest_size=8).digest(), "little")


def id_key(song_id: str) -> int:
    """64-bit order key of a song id: of two copies of a text, the lower key is kept."""
    return int.from_bytes(hashlib.blake2b(song_id.encode(), digest_size=8).digest(), "big")


def chunk_of(song_id: str, num_chunks: int) -> int:
    """The chunk a song id belongs to: a stable hash, identical on every machine and run."""
    digest = hashlib.blake2b(song_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % num_chunks


def chunk_name(index: int, num_chunks: int) -> str:
    width = max(2, len(str(num_chunks - 1)))
    return f"chunk-{index:0{width}d}.parquet"


class Staging:
    """Per-chunk staging Parquet files (kept rows plus their text hash), appended in input order.

    Writers open on first use: the worker pool must fork before pyarrow starts any threads.
    """

    def __init__(self, folder: Path, num_chunks: int):
        self.folder = folder
        self.paths = [folder / chunk_name(i, num_chunks) for i in range(num_chunks)]
        self.writers: list[pq.ParquetWriter | None] = [None] * num_chunks
        self.buffers: list[dict[str, list]] = [self._empty() for _ in self.paths]
        self.rows = 0

    @staticmethod
    def _empty() -> dict[str, list]:
        return {name: [] for name in STAGING_SCHEMA.names}

    def add(self, kept: dict[str, list]) -> None:
        hashes = kept["hash"]
        for j, c in enumerate(kept["chunk"]):
            buf = self.buffers[c]
            for name in COLUMNS:
                buf[name].append(kept[name][j])
            buf["_hash"].append(hashes[j])
            if len(buf["_hash"]) >= STAGING_FLUSH_ROWS:
                self._flush(c)
        self.rows += len(hashes)

    def _writer(self, c: int) -> pq.ParquetWriter:
        writer = self.writers[c]
        if writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            # No dictionaries: lyrics and ids hardly repeat, and trying costs a quarter of the
            # write (pyarrow's default tries each column, then falls back to plain).
            writer = self.writers[c] = pq.ParquetWriter(
                self.paths[c], STAGING_SCHEMA, compression="lz4", use_dictionary=False
            )
        return writer

    def _flush(self, c: int) -> None:
        buf = self.buffers[c]
        if buf["_hash"]:
            table = pa.Table.from_pydict(buf, schema=STAGING_SCHEMA)
            self._writer(c).write_table(table)
            self.buffers[c] = self._empty()

    def close(self) -> None:
        for c in range(len(self.paths)):
            self._flush(c)
            self._writer(c).close()  # an empty chunk still gets a file with the schema


def scan_chunk(staging: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A staged chunk's duplicate-id mask (first copy kept), its rows' text hashes and id keys."""
    keys = pq.read_table(staging, columns=["id", "_hash"], use_threads=False, pre_buffer=False)
    seen: set[str] = set()
    ids = keys.column("id").to_pylist()
    duplicate = np.zeros(len(ids), dtype=bool)
    for i, song_id in enumerate(ids):
        if song_id in seen:
            duplicate[i] = True
        else:
            seen.add(song_id)
    order = np.fromiter((id_key(i) for i in ids), dtype=np.uint64, count=len(ids))
    return duplicate, keys.column("_hash").to_numpy(), order


def repeated_hashes(hashes: list[np.ndarray], threshold: int) -> np.ndarray:
    """Sorted text hashes found in at least ``threshold`` songs (each id counted once)."""
    if threshold == 0 or not hashes:
        return np.empty(0, dtype=np.uint64)
    values, counts = np.unique(np.concatenate(hashes), return_counts=True)
    return values[counts >= threshold]


def duplicate_winners(
    hashes: list[np.ndarray], orders: list[np.ndarray], repeated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(sorted text hashes found in two or more songs but not ``repeated``, which all go; the id
    key of the copy kept for each: the lowest). Only the duplicated rows are held beyond the
    hashes: memory follows the duplicates."""
    empty = np.empty(0, dtype=np.uint64)
    if not hashes:
        return empty, empty
    values, counts = np.unique(np.concatenate(hashes), return_counts=True)
    dup = values[counts >= 2]
    dup = dup[~np.isin(dup, repeated)]
    mine = [np.isin(h, dup) for h in hashes]
    h = np.concatenate([h[m] for h, m in zip(hashes, mine, strict=True)] or [empty])
    o = np.concatenate([o[m] for o, m in zip(orders, mine, strict=True)] or [empty])
    order = np.lexsort((o, h))  # by hash, then id key: the first of each hash wins
    h, o = h[order], o[order]
    first = np.ones(len(h), dtype=bool)
    first[1:] = h[1:] != h[:-1]
    return h[first], o[first]


def finalize_chunk(
    staging: Path,
    dest: Path,
    duplicate: np.ndarray,
    hashes: np.ndarray,
    repeated: np.ndarray,
    order: np.ndarray | None = None,
    winners: tuple[np.ndarray, np.ndarray] | None = None,
    drop_log=None,
) -> tuple[int, Counter, Counter]:
    """Write one final chunk from its staging file: (rows kept, drops, kept rows per tag).

    A row goes as duplicate_id (an id seen before in the chunk), repeated_text (its text in
    ``repeated``) or duplicate_text (another song with the same normalised text has the lower id
    key, ``winners``); ``drop_log`` (a DropLog) receives each one."""
    rep = np.isin(hashes, repeated) & ~duplicate
    copy = np.zeros(len(hashes), dtype=bool)
    if winners is not None and order is not None and len(winners[0]):
        win_hash, win_key = winners
        at = np.minimum(np.searchsorted(win_hash, hashes), len(win_hash) - 1)
        copy = (win_hash[at] == hashes) & (win_key[at] != order) & ~duplicate & ~rep
    keep = ~(duplicate | rep | copy)
    drops = Counter(
        duplicate_id=int(duplicate.sum()),
        repeated_text=int(rep.sum()),
        duplicate_text=int(copy.sum()),
    )
    reason = np.full(len(keep), "", dtype=object)
    reason[duplicate], reason[rep], reason[copy] = "duplicate_id", "repeated_text", "duplicate_text"
    tags: Counter = Counter()
    offset = 0
    pf = pq.ParquetFile(staging, pre_buffer=False)
    with pq.ParquetWriter(
        dest, FINAL_SCHEMA, compression="zstd", use_dictionary=["tag", "artist"]
    ) as writer:
        for batch in pf.iter_batches(
            batch_size=FINAL_BATCH_ROWS, columns=list(COLUMNS), use_threads=False
        ):
            mask = keep[offset : offset + batch.num_rows]
            why = reason[offset : offset + batch.num_rows]
            offset += batch.num_rows
            table = pa.Table.from_batches([batch])
            if drop_log is not None and not mask.all():
                gone = table.filter(pa.array(~mask)).select(["id", "title", "artist", "tag"])
                drop_log.add_rows(gone.to_pydict(), why[~mask].tolist())
            table = table.filter(pa.array(mask))
            if table.num_rows:
                writer.write_table(table)
                tags.update(table.column("tag").to_pylist())
    return int(keep.sum()), drops, tags


class _Gone:
    """The dropped rows of one chunk, kept for the drop log (a worker cannot write the log: it
    is one file, written in chunk order by the main process)."""

    def __init__(self) -> None:
        self.parts: list[tuple[dict, list]] = []

    def add_rows(self, rows: dict[str, list], reasons: list[str]) -> None:
        self.parts.append((rows, reasons))


def _finalize_task(task: tuple) -> tuple[int, Counter, Counter, list[tuple[dict, list]]]:
    """finalize_chunk in a worker: its results and its dropped rows."""
    gone = _Gone()
    rows, drops, tags = finalize_chunk(*task, drop_log=gone)
    return rows, drops, tags, gone.parts


def finalize_all(
    staging: Staging,
    folder: Path,
    threshold: int,
    quiet: bool = True,
    drop_log=None,
    pool=None,
) -> tuple[list[dict], Counter, Counter]:
    """Write every final chunk into ``folder``: (per-chunk manifest entries, drops, kept per tag).

    With a ``pool`` (multiprocessing), its workers scan and write the chunks, two or more at a
    time; the results, and the drop log's rows, are taken in chunk order, so the files and the
    log are the same as without one."""
    from tqdm import tqdm

    ordered_map = map if pool is None else pool.imap
    # Duplicate ids first (per chunk: all copies of an id share one), then count each kept
    # text once per id across all chunks, so a song listed twice is no "repeated text"; of the
    # texts in fewer songs than that, one copy stays (the lowest id key, whatever the artist).
    scans = list(ordered_map(scan_chunk, staging.paths))
    kept_hashes = [h[~dup] for dup, h, _ in scans]
    repeated = repeated_hashes(kept_hashes, threshold)
    winners = duplicate_winners(kept_hashes, [o[~dup] for dup, _, o in scans], repeated)
    n = len(staging.paths)
    dests = [folder / chunk_name(i, n) for i in range(n)]
    tasks = [
        (stage_path, dest, duplicate, hashes, repeated, order, winners)
        for stage_path, dest, (duplicate, hashes, order) in zip(
            staging.paths, dests, scans, strict=True
        )
    ]
    files = []
    drops: Counter = Counter()
    tags: Counter = Counter()
    results = ordered_map(_finalize_task, tasks)
    for dest, (rows, chunk_drops, chunk_tags, gone) in zip(
        dests,
        tqdm(
            results, total=n, desc="chunks: write", unit=" chunks", disable=quiet, file=sys.stderr
        ),
        strict=True,
    ):
        if drop_log is not None:
            for columns, reasons in gone:
                drop_log.add_rows(columns, reasons)
        drops.update(chunk_drops)
        tags.update(chunk_tags)
        files.append(
            {"file": dest.name, "rows": rows, "bytes": dest.stat().st_size,
             "tags": dict(sorted(chunk_tags.items()))}
        )  # fmt: skip
    return files, drops, tags
