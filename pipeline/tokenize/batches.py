"""Stage tokenize's bounded memory per chunk (``python -m pipeline.preprocess --stages tokenize``):
a chunk's lyrics are read ``READ_ROWS`` songs at a time, its padded token rows wait on disk until
balancing has chosen the songs kept, and the part is written ``WRITE_ROWS`` rows at a time.

Why: stage 1 writes 40 chunks whatever the dump's size, so at the full 5.9M-row dump a chunk holds
~150k songs; holding a chunk's lyrics and its [rows, seq_len] token matrix (with the copies that
filtering made) took a worker ~7 KB per song, ~1 GB per worker at that size. Balancing needs the
whole chunk's counts before any row can be written, so the rows are spilled to an unnamed
temporary file next to the part (gone when the worker ends, whatever ends it) and read back in
order. What stays in memory grows with the chunk's songs only as a few numbers per song and row
(tags, lengths, ~100 bytes), not as their text or tokens.

Used by pipeline/tokenize/encode.py (``encode_chunk``); the part it writes holds the same rows,
columns and values as when written whole, in record batches of ``WRITE_ROWS``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lyrics_gpt2.fileio import atomic_path

READ_ROWS = 8192  # chunk rows read and tokenized at a time
WRITE_ROWS = 8192  # part rows read back from the spill and written at a time
PART_META = b"lyrics_gpt2"  # the part's schema metadata key: {"key": ..., "stats": ...}


def lyrics_batches(
    chunk: Path, sections: bool, rows: int | None = None
) -> Iterator[tuple[int, pa.Array, pa.Array | None]]:
    """(first chunk row, lyrics, sections codes or None) of at most ``rows`` songs at a time."""
    rows = rows or READ_ROWS
    columns = ["lyrics", "sections"] if sections else ["lyrics"]
    at = 0
    for batch in pq.ParquetFile(chunk).iter_batches(batch_size=rows, columns=columns):
        codes = batch.column("sections") if sections else None
        yield at, batch.column("lyrics"), codes
        at += batch.num_rows


class RowSpill:
    """Padded token rows appended in order to an unnamed file in ``folder``, read back by row
    number; a context manager (the file closes, and with it goes, on exit)."""

    def __init__(self, folder: Path, seq_len: int, dtype: str):
        folder.mkdir(parents=True, exist_ok=True)
        # Unnamed: nothing to clean up after a killed worker. noqa: closed by __exit__.
        self.file = tempfile.TemporaryFile(dir=folder, prefix=".rows-")  # noqa: SIM115
        self.seq_len, self.dtype = seq_len, np.dtype(dtype)
        self.rows = 0

    def __enter__(self) -> RowSpill:
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()

    def append(self, block: np.ndarray) -> None:
        block.astype(self.dtype, copy=False).tofile(self.file)
        self.rows += len(block)

    def windows(
        self, rows: np.ndarray, size: int | None = None
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """For the ascending row numbers ``rows``: (the slice of ``rows`` in a window of ``size``
        spilled rows, their token rows), window after window."""
        size = size or WRITE_ROWS
        self.file.flush()
        row_bytes = self.seq_len * self.dtype.itemsize
        for start in range(0, self.rows, size):
            lo, hi = np.searchsorted(rows, [start, start + size])
            if lo == hi:
                continue
            self.file.seek(start * row_bytes)
            count = min(size, self.rows - start)
            block = np.fromfile(self.file, dtype=self.dtype, count=count * self.seq_len)
            yield slice(lo, hi), block.reshape(count, self.seq_len)[rows[lo:hi] - start]


def write_part_batches(
    path: Path, schema: pa.Schema, tables: Iterator[pa.Table], meta_key: bytes, meta: dict[str, Any]
) -> None:
    """Write ``tables`` (in ``schema``) as one Arrow stream, atomically, ``meta`` as JSON in the
    schema's metadata under ``meta_key`` (what a later run reads to reuse the part)."""
    schema = schema.with_metadata({meta_key: json.dumps(meta)})
    with (
        atomic_path(path) as tmp,
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_stream(sink, schema) as writer,
    ):
        for table in tables:
            writer.write_table(table.replace_schema_metadata(schema.metadata))


def part_table(
    table: pa.Table,
    keep: np.ndarray,
    matrix: np.ndarray,
    lengths: np.ndarray,
    pieces: np.ndarray,
    task,
) -> pa.Table:
    """The kept rows in the columns and types of ``lyrics_gpt2.data.features`` (``task.schema``);
    ``keep`` holds each row's chunk row (a song's pieces repeat it)."""
    seq_len = task.seq_len
    offsets = pa.array(np.arange(0, (len(keep) + 1) * seq_len, seq_len, dtype=np.int32))
    idx = pa.array(keep, type=pa.int64())
    columns = {
        "input_ids": pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1))),
        "length": pa.array(lengths, type=pa.int32()),
        "piece": pa.array(pieces, type=pa.int32()),
        "genre": table["tag"].take(idx),
        "id": pc.cast(table["id"], pa.string()).take(idx),
        "artist": pc.fill_null(table["artist"], "").take(idx),
    }
    return pa.table([columns[name] for name in task.schema.names], schema=task.schema)


def read_part_meta(path: Path) -> dict[str, Any] | None:
    try:
        with pa.ipc.open_stream(path) as reader:
            meta = reader.schema.metadata or {}
        return json.loads(meta[PART_META])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None
