"""Stage tokenize's splits: the tokenized parts -> train, validation (whole artists,
pipeline/tokenize/artist_split.py) and, with artist tokens, ``artist_val`` (held-out songs of the token artists).

Called by pipeline.tokenize.stage (``python -m pipeline.preprocess --stages tokenize``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.tokenize import artist_split as split


def split_parts(
    part_paths: list[str],
    val_artists: set[str],
    seed: int,
    artists: list[str] | None = None,
    holdout: float = 0.0,
) -> tuple[Any, dict[str, Any]]:
    """The parts as a DatasetDict (train, validation, and ``artist_val`` when ``artists`` have
    tokens and ``holdout`` > 0) and what the split did.

    The parts are memory-mapped, never loaded whole, so memory stays bounded by a chunk.
    ``val_artists`` is not changed; artists moved to validation after filtering are added to
    a copy. ``artist_val`` takes ``holdout`` of each token artist's training songs
    (split.artist_holdout), all pieces of a song together.
    """
    from datasets import Dataset, DatasetDict, concatenate_datasets

    parts = [Dataset.from_file(p, in_memory=False) for p in part_paths]
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
        train.append(p.select(np.flatnonzero(is_train), keep_in_memory=True))
        val.append(p.select(np.flatnonzero(is_val), keep_in_memory=True))
        if held:
            split_counts["artist_val"].update(genre[is_held].tolist())
            artist_val.append(p.select(np.flatnonzero(is_held), keep_in_memory=True))
    splits = {"train": concatenate_datasets(train), "validation": concatenate_datasets(val)}
    if held:
        splits["artist_val"] = concatenate_datasets(artist_val)
    dd = DatasetDict(splits)
    info = {
        "per_genre": split_counts,
        "moved": moved,
        "validation_artists": len(val_artists_kept),
        "splits": {name: len(ds) for name, ds in dd.items()},
        "songs": {name: songs[name] for name in dd},
    }
    if artists:
        artist_info["in_validation"] = sorted(set(artists) & val_artists)
        info["artists"] = artist_info
    return dd, info


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
