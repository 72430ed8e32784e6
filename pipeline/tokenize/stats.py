"""Statistics of stage ``tokenize`` (``python -m pipeline.preprocess --stages tokenize``): the
per-chunk counts merged per genre, and token-length statistics from the per-chunk histograms.
Both go into ``DIR/tokenized/manifest.json`` under ``counts`` and ``token_lengths``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COUNT_KEYS = ("read", "empty", "control_token", "too_short", "too_long", "kept_length", "kept")
FILTERS = {
    "read": "rows of the genre in the chunk",
    "empty": "no lyrics",
    "control_token": "lyrics contain a genre token or the eos string verbatim",
    "too_short": "n <= min_tokens",
    "too_long": "n >= max_tokens",
    "kept_length": "left after the length filter (balance before)",
    "kept": "left after balancing (per chunk, every genre to the smallest)",
}


def merge_counts(results: list[dict[str, Any]], genres: list[str]) -> dict[str, Any]:
    """The chunks' counts, per genre summed and per chunk as they are."""
    per_genre = {g: dict.fromkeys(COUNT_KEYS, 0) for g in genres}
    per_chunk = {}
    for r in results:
        per_chunk[r["chunk"]] = r["counts"]
        for g in genres:
            for k in COUNT_KEYS:
                per_genre[g][k] += r["counts"][g][k]
    return {"filters": dict(FILTERS), "per_genre": per_genre, "per_chunk": per_chunk}


def length_stats(results: list[dict[str, Any]], seq_len: int) -> dict[str, Any]:
    """Mean, median, p95 and max of n over the kept songs, exact (merged histograms), and the
    shares cut and padded at ``seq_len``."""
    width = max((len(r["kept_length_hist"]) for r in results), default=0)
    hist = np.zeros(width, dtype=np.int64)
    for r in results:
        h = r["kept_length_hist"]
        hist[: len(h)] += h
    total = int(hist.sum())
    all_count = sum(r["all_n_count"] for r in results)
    all_mean = sum(r["all_n_sum"] for r in results) / all_count if all_count else 0.0
    if total == 0:
        return {"songs": 0, "all_songs_mean": all_mean}
    values = np.arange(width)
    cdf = np.cumsum(hist)
    real = np.minimum(values, seq_len)
    return {
        "counted": "n = genre token + lyrics + eos, before cutting to seq_len",
        "songs": total,
        "mean": float((values * hist).sum() / total),
        "median": int(np.searchsorted(cdf, 0.5 * total)),
        "p95": int(np.searchsorted(cdf, 0.95 * total)),
        "max": int(np.flatnonzero(hist).max()),
        "share_cut_at_seq_len": float(hist[seq_len + 1 :].sum() / total),
        "share_padding_at_seq_len": float(1.0 - (real * hist).sum() / (total * seq_len)),
        "all_songs_mean": all_mean,
    }


def nothing_left(counts: dict[str, Any], genres: list[str]) -> str | None:
    """Why the stage cannot publish (None when it can): a genre filtered away entirely, or
    balancing left nothing because no chunk holds every genre."""
    for genre in genres:
        c = counts["per_genre"][genre]
        if c["kept_length"] == 0:
            return (
                f"genre {genre!r} has no songs left after filtering (read {c['read']}, "
                f"{c['too_short']} too short, {c['too_long']} too long, {c['empty']} empty); "
                "relax --min-tokens/--max-tokens or drop that genre in stage chunks"
            )
    if any(counts["per_genre"][g]["kept"] == 0 for g in genres):
        return (
            "no songs left after balancing: no chunk holds every genre "
            f"({', '.join(genres)}) after the length filter; rerun stage chunks so that "
            "genres are mixed across chunks, or drop the rare genre there"
        )
    return None
