"""Stage tokenize's ``--balance``: which songs of a chunk each genre keeps so that the genres
train on equal lyric tokens (or songs). Called per chunk by pipeline/tokenize/encode.py
(``python -m pipeline.preprocess --stages tokenize --balance tokens|songs|none``).
"""

from __future__ import annotations

import numpy as np


def balance(
    passed_tags: np.ndarray,
    genres,
    rng: np.random.Generator,
    mode: str = "songs",
    song_tokens: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, int], int]:
    """Downsample the songs that passed the length rule (seeded, whole songs).

    ``mode="songs"`` (the original rule): every genre down to the smallest genre's count of
    songs. ``"tokens"``: every genre's lyric tokens (``song_tokens``, per passed song) down to the
    smallest genre's: the songs of a bigger genre are taken in a seeded random order until their
    running total is closest to the target, so the per-chunk error is at most half a song either
    way and cancels over chunks rather than piling up on one side. ``"none"``: all kept.

    Returns (positions into ``passed_tags`` to keep, ascending so the chunk's order is kept;
    songs per genre before balancing; the target: songs, or tokens in tokens mode).
    """
    per_genre = {g: np.flatnonzero(passed_tags == g) for g in genres}
    before = {g: len(pos) for g, pos in per_genre.items()}
    if mode == "none":
        return np.arange(len(passed_tags)), before, 0
    if mode == "tokens":
        assert song_tokens is not None
        totals = {g: int(song_tokens[pos].sum()) for g, pos in per_genre.items()}
        target = min(totals.values())
        chosen = []
        for g in genres:
            pos = per_genre[g]
            if totals[g] > target:
                pos = rng.permutation(pos)
                running = np.cumsum(song_tokens[pos])
                # k songs, k in 0..len: the prefix whose total is closest to the target
                sums = np.concatenate([[0], running])
                k = int(np.argmin(np.abs(sums - target)))
                pos = pos[:k]
            chosen.append(pos)
        selected = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
        return selected, before, int(target)
    target = min(before.values())
    chosen = []
    for g in genres:
        pos = per_genre[g]
        if len(pos) > target:
            pos = rng.choice(pos, size=target, replace=False)
        chosen.append(pos)
    selected = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    return selected, before, int(target)
