"""Stage 1's drop log: every song stage chunks did not keep, and why, as ``DIR/chunks/drops.parquet``.

    python -m pipeline.preprocess --stages chunks        # writes it beside the chunks' manifest

One row per dropped song: id, title, artist, tag (as read), reason (pipeline/chunks/stage.py REASONS),
row and line (for a malformed row: its record number in the CSV, 1 = the first after the header,
and the physical line it starts on: a record with a quoted lyric spans several lines; the line is
left empty for inputs over 1 GB, pipeline/read.py record_lines), rules (the cleaning rules
that fired on the song and how often, as JSON, for songs dropped after cleaning), detail (what
the parser said of a malformed row). Rows are
buffered a few thousand at a time and appended, so the log of a 5.9M-row dump never sits in
memory. Read it with ``pandas.read_parquet(DIR/chunks/drops.parquet)``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("title", pa.string()),
        ("artist", pa.string()),
        ("tag", pa.string()),
        ("reason", pa.string()),
        ("row", pa.int64()),
        ("line", pa.int64()),
        ("rules", pa.string()),
        ("detail", pa.string()),
    ]
)
FILE_NAME = "drops.parquet"
FLUSH_ROWS = 4096


class DropLog:
    """Appends dropped songs to a Parquet file (opened on first flush, so the worker pool forks
    before pyarrow starts threads); ``close`` writes the file even when nothing was dropped."""

    def __init__(self, path: Path):
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.buffer: dict[str, list] = {name: [] for name in SCHEMA.names}
        self.rows = 0

    def add(self, reason: str, **fields) -> None:
        for name in SCHEMA.names:
            self.buffer[name].append(reason if name == "reason" else fields.get(name))
        self.rows += 1
        if len(self.buffer["reason"]) >= FLUSH_ROWS:
            self.flush()

    def add_rows(self, rows: dict[str, list], reasons: list[str]) -> None:
        """Columns of dropped rows (any of the schema's names) with one reason each: the same
        rows, and the same flushes, as ``add`` called row by row, a column at a time."""
        start, n = 0, len(reasons)
        while start < n:
            end = min(n, start + FLUSH_ROWS - len(self.buffer["reason"]))
            for name, column in self.buffer.items():
                if name == "reason":
                    column.extend(reasons[start:end])
                elif name in rows:
                    column.extend(rows[name][start:end])
                else:
                    column.extend([None] * (end - start))
            self.rows += end - start
            start = end
            if len(self.buffer["reason"]) >= FLUSH_ROWS:
                self.flush()

    def flush(self) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, SCHEMA, compression="zstd")
        if self.buffer["reason"]:
            self.writer.write_table(pa.Table.from_pydict(self.buffer, schema=SCHEMA))
            self.buffer = {name: [] for name in SCHEMA.names}

    def close(self) -> None:
        self.flush()
        assert self.writer is not None
        self.writer.close()
