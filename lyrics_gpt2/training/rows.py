"""Training's rows, read from the split's Arrow files with ``os.pread``, not through memory maps.

    rows = SplitRows.open("artifacts/data/tokenized/train")
    rows[7]            # {"input_ids": np.ndarray of int64, "length": np.int32}
    len(rows), rows.head(500), rows.count_songs()

A split in ``DIR/tokenized`` is ``save_to_disk``'s layout (``state.json`` names the shards, each
an Arrow IPC stream of record batches), whether stage tokenize wrote it
(pipeline/tokenize/splits.py) or ``datasets`` did. ``datasets.load_from_disk`` memory-maps every
shard, and the file pages it touches stay in the process's RSS until it ends: each record
batch's header when the split is opened (~64 KB of pages around it: ~400 MB for the full dump's
5.6M training rows in batches of 1,000) and, for every random row read, the pages around the
row and its batch. Training's RSS grew with the data, over its 1.5 GB target at the full dump's
size (docs/performance.md, "Measured at the full size").

Here each shard is mapped once, only to walk its record batches: per batch the row count and
where in the file ``input_ids``' offsets and values, ``length`` and ``piece`` lie (a buffer's
address less the map's base). The map is then closed, which drops its pages from the RSS; a
row is three ``pread`` calls (its two offsets, its ids, its length) into small numpy arrays.
The page cache still holds what was read, but as the kernel's, not the process's. A file is
opened lazily per process (DataLoader workers reopen after fork), and pickling leaves the
descriptors behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

COLUMNS = ("input_ids", "length")  # what a row holds, as the loaders read them


class SplitRows:
    """The rows ``[0, n)`` of one tokenized split: ``len``, ``rows[i]``, ``head(n)``."""

    column_names = COLUMNS

    def __init__(self, paths: list[str], index: dict[str, np.ndarray], dtype, n: int | None = None):
        self.paths, self.index, self.dtype = paths, index, np.dtype(dtype)
        # index: one entry per non-empty record batch, in row order: "start" (its first row in
        # the split), "file", and the byte positions "offsets", "values", "length", "piece"
        # (-1: no piece column) of its first row's entries.
        total = int(index["start"][-1] + index["rows"][-1]) if len(index["start"]) else 0
        self.n = total if n is None else min(n, total)
        self._fds: dict[int, int] = {}
        self._pid: int | None = None

    @classmethod
    def open(cls, split_dir: str | Path) -> SplitRows:
        """Index the shards ``split_dir/state.json`` names. ValueError when a shard lacks a
        column or holds nulls (stage tokenize writes neither); OSError when one is missing."""
        split_dir = Path(split_dir)
        state = json.loads((split_dir / "state.json").read_text())
        paths = [str(split_dir / f["filename"]) for f in state["_data_files"]]
        parts, dtypes, start = [], set(), 0
        for k, path in enumerate(paths):
            batches, dtype = _scan(path)
            dtypes.add(dtype)
            for rows, *positions in batches:
                parts.append((start, rows, k, *positions))
                start += rows
        if len(dtypes) > 1:
            raise ValueError(f"{split_dir}: shards store input_ids as {sorted(map(str, dtypes))}")
        names = ("start", "rows", "file", "offsets", "values", "length", "piece")
        table = np.array(parts, dtype=np.int64).reshape(-1, len(names))
        index = {name: table[:, i].copy() for i, name in enumerate(names)}
        return cls(paths, index, dtypes.pop() if dtypes else np.uint16)

    def __len__(self) -> int:
        return self.n

    def head(self, n: int) -> SplitRows:
        """The first ``n`` rows (validation capped by ``--eval-max-songs``)."""
        return SplitRows(self.paths, self.index, self.dtype, max(0, min(n, self.n)))

    def __getitem__(self, i) -> dict[str, np.ndarray]:
        i = int(i)
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(f"row {i} of a split of {self.n} rows")
        b, j = self._locate(i)
        fd = self._fd(int(self.index["file"][b]))
        bounds = _read(fd, np.empty(2, np.int32), int(self.index["offsets"][b]) + 4 * j)
        ids = np.empty(int(bounds[1] - bounds[0]), self.dtype)
        _read(fd, ids, int(self.index["values"][b]) + self.dtype.itemsize * int(bounds[0]))
        length = _read(fd, np.empty(1, np.int32), int(self.index["length"][b]) + 4 * j)
        # int64, as datasets' numpy format gives them (stored as uint16 when the vocabulary fits)
        return {"input_ids": ids.astype(np.int64, copy=False), "length": length[0]}

    def count_songs(self) -> int:
        """Rows of piece 0 (a long song's later pieces are rows too); every row without a
        ``piece`` column."""
        songs = 0
        for b in range(len(self.index["start"])):
            start, rows = int(self.index["start"][b]), int(self.index["rows"][b])
            take = min(rows, self.n - start)
            if take <= 0:
                break
            if self.index["piece"][b] < 0:
                songs += take
                continue
            pieces = np.empty(take, np.int32)
            _read(self._fd(int(self.index["file"][b])), pieces, int(self.index["piece"][b]))
            songs += int((pieces == 0).sum())
        return songs

    def close(self) -> None:
        if self._pid == os.getpid():
            for fd in self._fds.values():
                os.close(fd)
        self._fds, self._pid = {}, None

    def __del__(self):
        try:
            self.close()
        except Exception:  # at interpreter exit the modules close() uses may be gone
            return

    def __getstate__(self):
        return {**self.__dict__, "_fds": {}, "_pid": None}

    def _locate(self, i: int) -> tuple[int, int]:
        b = int(np.searchsorted(self.index["start"], i, side="right")) - 1
        return b, i - int(self.index["start"][b])

    def _fd(self, k: int) -> int:
        if self._pid != os.getpid():
            # A forked worker: its copies of the parent's descriptors are its own to close.
            if self._pid is not None:
                for fd in self._fds.values():
                    os.close(fd)
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.get(k)
        if fd is None:
            fd = self._fds[k] = os.open(self.paths[k], os.O_RDONLY | os.O_CLOEXEC)
        return fd


def _read(fd: int, out: np.ndarray, position: int) -> np.ndarray:
    """Fill ``out`` from ``position`` of ``fd``; OSError when the file ends first."""
    got = os.preadv(fd, [out], position) if out.nbytes else 0
    if got != out.nbytes:
        raise OSError(f"short read: {got} of {out.nbytes} bytes at {position} (file truncated?)")
    return out


def _scan(path: str) -> tuple[list[tuple[int, int, int, int, int]], np.dtype]:
    """Per non-empty record batch of the Arrow stream at ``path``: (rows, file positions of its
    first row's input_ids offset, its first id's place in the values, length, piece or -1), and
    the ids' dtype. Only batch headers are read; the map is closed before returning."""
    out = []
    with pa.memory_map(path) as source:
        whole = source.read_buffer()
        base, size = whole.address, whole.size
        reader = pa.ipc.open_stream(whole)
        schema = reader.schema
        for name in COLUMNS:
            if schema.get_field_index(name) < 0:
                raise ValueError(f"{path} has no column {name}")
        ids_type = schema.field("input_ids").type
        if not pa.types.is_list(ids_type) or not pa.types.is_integer(ids_type.value_type):
            raise ValueError(f"{path}: input_ids is {ids_type}, not a list of integers")
        if schema.field("length").type != pa.int32():
            raise ValueError(f"{path}: length is {schema.field('length').type}, not int32")
        has_piece = schema.get_field_index("piece") >= 0
        if has_piece and schema.field("piece").type != pa.int32():
            raise ValueError(f"{path}: piece is {schema.field('piece').type}, not int32")
        dtype = np.dtype(ids_type.value_type.to_pandas_dtype())

        def where(buffer, offset: int, itemsize: int) -> int:
            # A buffer from the map lies in it; a copy (pyarrow realigning one) would not.
            position = buffer.address - base + itemsize * offset
            if not 0 <= position <= size:
                raise ValueError(f"{path}: a record batch buffer is not in the file")
            return position

        for batch in reader:
            if not batch.num_rows:
                continue
            ids, length = batch.column("input_ids"), batch.column("length")
            piece = batch.column("piece") if has_piece else None
            columns = [ids, ids.values, length] + ([piece] if has_piece else [])
            if any(column.null_count for column in columns):
                raise ValueError(f"{path}: a record batch holds nulls")
            # list buffers: [validity, offsets (int32), child validity, child values]
            buffers = ids.buffers()
            row = (
                batch.num_rows,
                where(buffers[1], ids.offset, 4),
                where(buffers[3], ids.values.offset, dtype.itemsize),
                where(length.buffers()[1], length.offset, 4),
                where(piece.buffers()[1], piece.offset, 4) if has_piece else -1,
            )
            out.append(row)
            del batch, ids, length, piece, columns, buffers
        del reader, whole
    return out, dtype
