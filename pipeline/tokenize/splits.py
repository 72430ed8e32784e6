"""Stage tokenize's splits: the tokenized parts -> train, validation (whole artists,
pipeline/tokenize/artist_split.py) and, with artist tokens, ``artist_val`` (held-out songs of the token artists).

Called by pipeline.tokenize.stage (``python -m pipeline.preprocess --stages tokenize``):
:func:`split_parts` decides which rows of which part go to which split (reading the small
columns only), :func:`write_splits` writes ``DIR/tokenized`` from that plan, streaming.

Why not ``DatasetDict.save_to_disk`` over the memory-mapped parts: it reads every row through
the memory map, and the file pages it touched stay in the process's resident set until it ends
(page cache, reclaimable, but counted by RSS): 659 MB at 1M rows, a few GB at the full dump's
size. :func:`write_splits` reads each part with plain reads, one record batch at a time, and
writes the same folder ``save_to_disk`` writes (shards of at most ``datasets``' default
``MAX_SHARD_SIZE``, named ``data-NNNNN-of-NNNNN.arrow``, ``state.json``, ``dataset_info.json``,
``dataset_dict.json``) with ``datasets``' own ArrowWriter, so ``load_from_disk`` reads it as
before, row for row. Record batches are ``save_to_disk``'s (1,000 rows). (Training no longer
reads them through ``datasets``, lyrics_gpt2/training/rows.py, so their size matters less than
when ~16 MB batches made its random row reads map ~1 MB a row: docs/performance.md.)
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.tokenize import artist_split as split


@dataclass
class SplitPlan:
    """Which rows of which part each split takes, in order: {split: [(part path, row numbers)]}."""

    info: Any  # datasets.DatasetInfo of the parts (their features)
    rows: dict[str, list[tuple[str, np.ndarray]]] = field(default_factory=dict)
    part_bytes: dict[str, tuple[int, int]] = field(default_factory=dict)  # path: (bytes, rows)

    def num_rows(self, split: str) -> int:
        return sum(len(index) for _, index in self.rows[split])

    def items(self):
        return ((name, self.num_rows(name)) for name in self.rows)


def split_parts(
    part_paths: list[str],
    val_artists: set[str],
    seed: int,
    artists: list[str] | None = None,
    holdout: float = 0.0,
) -> tuple[SplitPlan, dict[str, Any]]:
    """The rows of each split (train, validation, and ``artist_val`` when ``artists`` have
    tokens and ``holdout`` > 0), for :func:`write_splits`, and what the split did.

    The parts are memory-mapped and only their small columns read, so memory stays bounded.
    ``val_artists`` is not changed; artists moved to validation after filtering are added to
    a copy. ``artist_val`` takes ``holdout`` of each token artist's training songs
    (split.artist_holdout), all pieces of a song together.
    """
    from datasets import Dataset

    parts = [Dataset.from_file(p, in_memory=False) for p in part_paths]
    plan = SplitPlan(info=parts[0].info if parts else None)
    # Keyed as the rows are: by the file each part was opened from (datasets makes it absolute).
    plan.part_bytes = {p.cache_files[0]["filename"]: (p.data.nbytes, len(p)) for p in parts}
    parts = [p for p in parts if len(p)]
    kept_counts: Counter[tuple[str, str]] = Counter()
    for p in parts:
        # Songs, not rows: a song's later pieces would count its artist several times.
        first = pc.equal(p.data["piece"], 0)
        kept_counts.update(
            zip(
                pc.filter(p.data["artist"], first).to_pylist(),
                pc.filter(p.data["genre"], first).to_pylist(),
                strict=True,
            )
        )
    val_artists = set(val_artists)
    artists = list(artists or [])
    moved = split.ensure_validation_per_genre(kept_counts, val_artists, seed, set(artists))
    values = pa.array(sorted(val_artists), type=pa.string())
    held, artist_info = _artist_holdout(parts, artists, values, holdout, seed)
    held_ids = pa.array(sorted(held), type=pa.string())
    train, val, artist_val = [], [], []
    split_counts: dict[str, Counter[str]] = {"train": Counter(), "validation": Counter()}
    if held:
        split_counts["artist_val"] = Counter()
    val_artists_kept: set[str] = set()
    songs: Counter[str] = Counter()
    for p in parts:
        is_val = pc.is_in(p.data["artist"], value_set=values).to_numpy(zero_copy_only=False)
        is_held = pc.is_in(p.data["id"], value_set=held_ids).to_numpy(zero_copy_only=False)
        is_held &= ~is_val
        is_train = ~is_val & ~is_held
        first = (p.data["piece"].to_numpy() == 0) if len(p) else np.zeros(0, dtype=bool)
        songs.update(
            train=int((first & is_train).sum()),
            validation=int((first & is_val).sum()),
            **({"artist_val": int((first & is_held).sum())} if held else {}),
        )
        genre = np.asarray(p.data["genre"].to_pylist(), dtype=object)
        split_counts["train"].update(genre[is_train].tolist())
        split_counts["validation"].update(genre[is_val].tolist())
        val_artists_kept.update(pc.filter(p.data["artist"], pa.array(is_val)).to_pylist())
        path = p.cache_files[0]["filename"]
        train.append((path, np.flatnonzero(is_train)))
        val.append((path, np.flatnonzero(is_val)))
        if held:
            split_counts["artist_val"].update(genre[is_held].tolist())
            artist_val.append((path, np.flatnonzero(is_held)))
    plan.rows = {"train": train, "validation": val}
    if held:
        plan.rows["artist_val"] = artist_val
    info = {
        "per_genre": split_counts,
        "moved": moved,
        "validation_artists": len(val_artists_kept),
        "splits": dict(plan.items()),
        "songs": {name: songs[name] for name in plan.rows},
    }
    if artists:
        artist_info["in_validation"] = sorted(set(artists) & val_artists)
        info["artists"] = artist_info
    return plan, info


def write_splits(plan: SplitPlan, dest: Path, progress=None) -> None:
    """Write ``plan`` as a ``DatasetDict`` folder at ``dest`` (which exists), one split after the
    other, streaming: one record batch of one part in memory at a time. ``progress(rows)`` is
    called as rows are written."""
    from datasets import config
    from datasets.utils.py_utils import asdict, convert_file_size_to_int

    shard_bytes = convert_file_size_to_int(config.MAX_SHARD_SIZE)
    for name, pieces in plan.rows.items():
        folder = dest / name
        folder.mkdir()
        total = plan.num_rows(name)
        # Shards as save_to_disk makes them: by estimated bytes, then cut into contiguous runs.
        nbytes = sum(
            plan.part_bytes[path][0] * len(index) // max(plan.part_bytes[path][1], 1)
            for path, index in pieces
        )
        num_shards = max(1, min(total, int(nbytes / shard_bytes) + 1))
        names = [f"data-{i:05d}-of-{num_shards:05d}.arrow" for i in range(num_shards)]
        _write_shards(plan, pieces, [folder / n for n in names], total, nbytes, progress)
        state = {
            "_data_files": [{"filename": n} for n in names],
            "_fingerprint": _fingerprint(pieces),
            "_format_columns": list(plan.info.features),
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": None,
        }
        (folder / "state.json").write_text(json.dumps(state, indent=2, sort_keys=True))
        info = asdict(plan.info)
        info = {key: info[key] for key in sorted(info)}
        (folder / "dataset_info.json").write_text(json.dumps(info, indent=2))
    (dest / "dataset_dict.json").write_text(json.dumps({"splits": list(plan.rows)}))


def _write_shards(plan, pieces, paths: list[Path], total: int, nbytes: int, progress) -> None:
    """The rows of ``pieces`` in order into ``paths``: contiguous runs as ``Dataset.shard``
    (contiguous=True) cuts them (the first ``total % n`` shards take one row more), in record
    batches of ``save_to_disk``'s size, so the bytes do not depend on how the parts were
    batched."""
    from datasets import config
    from datasets.arrow_writer import ArrowWriter, get_writer_batch_size_from_data_size

    batch = config.DEFAULT_MAX_BATCH_SIZE
    if nbytes > 0:
        batch = min(batch, get_writer_batch_size_from_data_size(total, nbytes))
    per, extra = divmod(total, len(paths))
    rows = _Rows(_selected_batches(pieces))
    for i, path in enumerate(paths):
        writer = ArrowWriter(features=plan.info.features, path=str(path), writer_batch_size=batch)
        try:
            left = per + (i < extra)
            while left:
                table = rows.take(min(batch, left))
                writer.write_table(table)
                left -= len(table)
                if progress:
                    progress(len(table))
            writer.finalize()  # an empty split: one shard with the schema and no rows
        finally:
            writer.close()


class _Rows:
    """Tables in a row as one stream of rows, taken ``n`` at a time as one contiguous table."""

    def __init__(self, tables):
        self.tables, self.held, self.count = iter(tables), [], 0

    def take(self, n: int) -> pa.Table:
        while self.count < n:
            table = next(self.tables)  # StopIteration: fewer rows than the plan counted
            self.held.append(table)
            self.count += len(table)
        table = pa.concat_tables(self.held).combine_chunks()
        rest = table.slice(n)
        self.held, self.count = ([rest] if len(rest) else []), len(rest)
        return table.slice(0, n)


def _selected_batches(pieces):
    """pa.Tables of each part's selected rows, one record batch of the part at a time, read
    with plain reads (no memory map: nothing stays resident)."""
    for path, index in pieces:
        if not len(index):
            continue
        start = 0
        with pa.OSFile(path) as source:
            for batch in pa.ipc.open_stream(source):
                end = start + batch.num_rows
                lo, hi = np.searchsorted(index, [start, end])
                if hi > lo:
                    yield pa.Table.from_batches([batch.take(pa.array(index[lo:hi] - start))])
                start = end


def _fingerprint(pieces) -> str:
    digest = hashlib.sha256()
    for path, index in pieces:
        digest.update(Path(path).name.encode())
        digest.update(np.ascontiguousarray(index, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def _artist_holdout(
    parts: list, artists: list[str], val_values: pa.Array, holdout: float, seed: int
) -> tuple[set[str], dict[str, Any]]:
    """(ids of the songs held out for ``artist_val``, {"per_artist": {artist: {"train": songs,
    "artist_val": songs}}}) over the kept training songs of the token ``artists``."""
    if not artists:
        return set(), {}
    wanted = pa.array(sorted(artists), type=pa.string())
    songs: dict[str, set[str]] = {a: set() for a in artists}
    for p in parts:
        mine = pc.and_(
            pc.is_in(p.data["artist"], value_set=wanted),
            pc.invert(pc.is_in(p.data["artist"], value_set=val_values)),
        )
        for artist, song_id in zip(
            pc.filter(p.data["artist"], mine).to_pylist(),
            pc.filter(p.data["id"], mine).to_pylist(),
            strict=True,
        ):
            songs[artist].add(song_id)
    chosen = split.artist_holdout(songs, holdout, seed)
    per_artist = {
        a: {"train": len(songs[a]) - len(chosen[a]), "artist_val": len(chosen[a])} for a in artists
    }
    return {i for ids in chosen.values() for i in ids}, {"per_artist": per_artist}
