"""One chunk of stage ``tokenize`` (``python -m pipeline.preprocess --stages tokenize``): read,
drop control tokens, tokenize + pad, balance, count, write ``DIR/tokenized.parts/chunk-NN.arrow``.

Runs in worker processes (see workers.py). ``encode_chunk(task)`` takes a frozen ``ChunkTask``;
each step below is a plain function of arrays, so it can be tested on its own.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lyrics_gpt2.cli import UsageError
from lyrics_gpt2.fileio import atomic_path

BATCH_SIZE = 1000
COLUMNS = ("id", "artist", "tag", "lyrics")
PART_META = b"lyrics_gpt2"


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs for one chunk (pickled to the worker process)."""

    chunk: Path  # DIR/chunks/chunk-NN.parquet
    part: Path  # DIR/tokenized.parts/chunk-NN.arrow
    index: int  # NN: seeds this chunk's balancing
    key: str  # the part is reused when its stored key equals this
    force: bool
    tokenizer_json: Path
    genres: tuple[str, ...]
    genre_ids: Mapping[str, int]
    eos: int
    pad: int
    control_tokens: tuple[str, ...]  # dropped when found verbatim in lyrics
    dtype: str  # of input_ids
    schema: pa.Schema  # of the part: lyrics_gpt2.data.features(dtype), made by the parent process
    min_tokens: int
    max_tokens: int
    seq_len: int
    seed: int


def read_chunk(path: Path, columns: tuple[str, ...]) -> pa.Table:
    """``columns`` of a stage-1 chunk; a UsageError naming the file when it is damaged or old."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise UsageError(f"cannot read chunk {path} ({exc}); rerun stage chunks") from None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise UsageError(
            f"chunk {path} lacks column(s) {', '.join(missing)}; rerun stage chunks with --force"
        )
    return pq.read_table(path, columns=list(columns))


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return None


@functools.lru_cache(maxsize=2)
def _load_backend(path: str, sha: str | None):
    """The Rust tokenizer, parsed once per worker (GPT-2's JSON takes ~0.3 s), keyed by content."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def read_part_meta(path: Path) -> dict[str, Any] | None:
    try:
        with pa.ipc.open_stream(path) as reader:
            meta = reader.schema.metadata or {}
        return json.loads(meta[PART_META])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


# ------------------------------------------------------------------------------------ the steps
def control_filter(lyrics: pa.ChunkedArray, control_tokens) -> tuple[np.ndarray, np.ndarray]:
    """(empty, has_control) per row: no lyrics; lyrics holding a control token verbatim (the
    tokenizer would read it as the control token itself). A row is never both."""
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(lyrics), ""), True)
    has_control = np.zeros(len(lyrics), dtype=bool)
    for token in control_tokens:
        has_control |= pc.fill_null(pc.match_substring(lyrics, token), False).to_numpy(
            zero_copy_only=False
        )
    empty_np = empty.to_numpy(zero_copy_only=False)
    has_control &= ~empty_np
    return empty_np, has_control


def tokenize_and_pad(
    tokenizer, texts: pa.ChunkedArray, rows: np.ndarray, tags: np.ndarray, n_rows: int, task
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokenize ``texts`` (the lyrics of row numbers ``rows``) a batch at a time.

    Returns (n per row of the chunk, 0 where not tokenized; the rows that pass the length
    filter, ascending; their padded [passed, seq_len] ids). n = genre token + lyrics + eos. A song
    that passes goes straight into a padded row, so no per-token Python objects outlive their
    batch (memory stays ~ rows x seq_len x 2 bytes per chunk).
    """
    seq_len, lo, hi = task.seq_len, task.min_tokens, task.max_tokens
    dtype = np.dtype(task.dtype)
    pad, eos, genre_ids = task.pad, task.eos, task.genre_ids
    n_tokens = np.zeros(n_rows, dtype=np.int64)
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    blocks: list[np.ndarray] = []
    block_rows: list[np.ndarray] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = texts.slice(start, BATCH_SIZE).to_pylist()
        encodings = encode(batch, add_special_tokens=False)
        batch_rows = rows[start : start + len(batch)]
        n = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(batch)) + 2
        n_tokens[batch_rows] = n
        passing = np.flatnonzero((n > lo) & (n < hi))
        block = np.full((len(passing), seq_len), pad, dtype=dtype)
        for j, k in enumerate(passing):
            ids = encodings[k].ids
            body = min(len(ids), seq_len - 1)
            block[j, 0] = genre_ids[tags[batch_rows[k]]]
            block[j, 1 : 1 + body] = ids[:body]
            if body + 1 < seq_len:
                block[j, body + 1] = eos
        blocks.append(block)
        block_rows.append(batch_rows[passing])
    passed = np.concatenate(block_rows) if blocks else np.zeros(0, dtype=np.int64)
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, seq_len), dtype=dtype)
    return n_tokens, passed, matrix


def balance(
    passed_tags: np.ndarray, genres, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, int], int]:
    """Every genre down to the smallest genre's count (seeded).

    Returns (positions into ``passed_tags`` to keep, ascending so the chunk's order is kept;
    songs per genre before balancing; the target count).
    """
    per_genre = {g: np.flatnonzero(passed_tags == g) for g in genres}
    target = min(len(pos) for pos in per_genre.values())
    chosen = []
    for g in genres:
        pos = per_genre[g]
        if len(pos) > target:
            pos = rng.choice(pos, size=target, replace=False)
        chosen.append(pos)
    selected = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    return selected, {g: len(pos) for g, pos in per_genre.items()}, int(target)


def count(
    task, tags, empty, has_control, n_tokens, kept_length: dict[str, int], target: int
) -> dict[str, dict[str, int]]:
    """Songs per genre through every filter (the keys of stats.COUNT_KEYS, in that order)."""
    lo, hi = task.min_tokens, task.max_tokens
    counts = {}
    for g in task.genres:
        is_g = tags == g
        counts[g] = {
            "read": int(is_g.sum()),
            "empty": int((is_g & empty).sum()),
            "control_token": int((is_g & has_control).sum()),
            "too_short": int((is_g & (n_tokens > 0) & (n_tokens <= lo)).sum()),
            "too_long": int((is_g & (n_tokens >= hi)).sum()),
            "kept_length": kept_length[g],
            "kept": target,
        }
    return counts


def part_table(
    table: pa.Table, keep: np.ndarray, matrix: np.ndarray, lengths: np.ndarray, task
) -> pa.Table:
    """The kept songs in the columns and types of ``lyrics_gpt2.data.features`` (``task.schema``)."""
    seq_len = task.seq_len
    offsets = pa.array(np.arange(0, (len(keep) + 1) * seq_len, seq_len, dtype=np.int32))
    idx = pa.array(keep, type=pa.int64())
    columns = {
        "input_ids": pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1))),
        "length": pa.array(lengths),
        "genre": table["tag"].take(idx),
        "id": pc.cast(table["id"], pa.string()).take(idx),
        "artist": pc.fill_null(table["artist"], "").take(idx),
    }
    return pa.table([columns[name] for name in task.schema.names], schema=task.schema)


def write_part(path: Path, out: pa.Table, key: str, stats: dict[str, Any]) -> None:
    """Write the part atomically, its key and stats in the schema metadata (for reuse)."""
    out = out.replace_schema_metadata({PART_META: json.dumps({"key": key, "stats": stats})})
    with (
        atomic_path(path) as tmp,
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_stream(sink, out.schema) as writer,
    ):
        writer.write_table(out)


# ------------------------------------------------------------------------------------- the chunk
def encode_chunk(task: ChunkTask) -> dict[str, Any]:
    """Tokenize, filter, balance and pad one chunk; write its part atomically. Returns its stats."""
    part = Path(task.part)
    if not task.force:
        meta = read_part_meta(part)
        if meta is not None and meta.get("key") == task.key:
            return {**meta["stats"], "part": str(part), "reused": True}

    t0 = time.perf_counter()
    tokenizer = _load_backend(str(task.tokenizer_json), file_sha(Path(task.tokenizer_json)))
    table = read_chunk(Path(task.chunk), COLUMNS)
    tags = np.asarray(table["tag"].to_pylist(), dtype=object)
    empty, has_control = control_filter(table["lyrics"], task.control_tokens)
    candidates = np.flatnonzero(~empty & ~has_control)

    texts = table["lyrics"].take(pa.array(candidates, type=pa.int64()))
    n_tokens, passed, matrix_all = tokenize_and_pad(
        tokenizer, texts, candidates, tags, len(table), task
    )
    del texts
    tokens = int(np.maximum(n_tokens - 2, 0).sum())

    rng = np.random.default_rng([task.seed, task.index])
    selected, kept_length, target = balance(tags[passed], task.genres, rng)
    keep = passed[selected]
    matrix = matrix_all[selected]
    del matrix_all
    lengths = np.minimum(n_tokens[keep], task.seq_len).astype(np.int32)

    kept_n = n_tokens[keep]
    tokenized = n_tokens[n_tokens > 0]
    stats = {
        "chunk": Path(task.chunk).name,
        "tokens": int(tokens),
        "songs": len(table),
        "counts": count(task, tags, empty, has_control, n_tokens, kept_length, target),
        # Histogram of n over the kept songs (n < max_tokens): exact merged median and p95.
        "kept_length_hist": np.bincount(kept_n, minlength=task.max_tokens).tolist()
        if len(keep)
        else [],
        "all_n_sum": int(tokenized.sum()),
        "all_n_count": len(tokenized),
        "seconds": time.perf_counter() - t0,
    }
    write_part(part, part_table(table, keep, matrix, lengths, task), task.key, stats)
    return {**stats, "part": str(part), "reused": False}
