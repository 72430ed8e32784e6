"""Statistics of stage ``tokenize`` (``python -m pipeline.preprocess --stages tokenize``): the
per-chunk counts merged per genre, and token-length statistics from the per-chunk histograms.
Both go into ``DIR/tokenized/manifest.json`` under ``counts`` and ``token_lengths``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

COUNT_KEYS = (
    "read",
    "empty",
    "control_token",
    "too_short",
    "too_long",
    "kept_length",
    "kept",
    "rows",
    "tokens",
    "tokens_length_ok",
    "tokens_kept",
    "train_songs_before",
    "train_songs_after",
    "train_tokens_before",
    "train_tokens_after",
)
FILTERS = {
    "read": "rows of the genre in the chunk",
    "empty": "no lyrics",
    "control_token": "lyrics contain a genre token or the eos string verbatim",
    "too_short": "n <= min_tokens",
    "too_long": "n >= max_tokens (--long-songs drop) or n >= max_song_tokens (split)",
    "kept_length": "left after the length filter (balance before)",
    "kept": "songs left after balancing (per chunk: --balance tokens, every genre's lyric "
    "tokens to the smallest genre's; songs, every genre's songs to the smallest's; none)",
    "rows": "training rows of the kept songs (a split song is several)",
    "tokens": "lyrics tokens of the genre's songs that were tokenized (not empty, no control token)",
    "tokens_length_ok": "lyrics tokens in the rows of the songs left after the length filter "
    "(before balancing)",
    "tokens_kept": "lyrics tokens inside the rows written (train + validation), after balancing",
    "train_songs_before": "training songs left after the length filter (what --balance sees; "
    "validation songs are never balanced away)",
    "train_songs_after": "training songs after balancing",
    "train_tokens_before": "lyrics tokens of the training songs before balancing",
    "train_tokens_after": "lyrics tokens of the training songs after balancing",
}


def merge_counts(results: list[dict[str, Any]], genres: list[str]) -> dict[str, Any]:
    """The chunks' counts, per genre summed and per chunk as they are."""
    per_genre = {g: dict.fromkeys(COUNT_KEYS, 0) for g in genres}
    per_chunk = {}
    for r in results:
        per_chunk[r["chunk"]] = r["counts"]
        for g in genres:
            for k in COUNT_KEYS:
                per_genre[g][k] += r["counts"][g].get(k, 0)
    return {"filters": dict(FILTERS), "per_genre": per_genre, "per_chunk": per_chunk}


def token_share_kept(c: dict[str, int]) -> float:
    """The share of a genre's tokenized lyrics tokens that reached the rows written."""
    return round(c["tokens_kept"] / c["tokens"], 4) if c.get("tokens") else 0.0


def length_stats(results: list[dict[str, Any]], seq_len: int) -> dict[str, Any]:
    """Mean, median, p95 and max of n over the kept songs, exact (merged histograms), the share
    of songs longer than ``seq_len`` (cut in drop mode, split into pieces in split mode) and the
    share of padding in the rows written."""
    width = max((len(r["kept_length_hist"]) for r in results), default=0)
    hist = np.zeros(width, dtype=np.int64)
    for r in results:
        # int64 even when empty: a chunk that kept nothing stores [] (numpy reads it as float).
        h = np.asarray(r["kept_length_hist"], dtype=np.int64)
        hist[: len(h)] += h
    total = int(hist.sum())
    all_count = sum(r["all_n_count"] for r in results)
    all_mean = sum(r["all_n_sum"] for r in results) / all_count if all_count else 0.0
    if total == 0:
        return {"songs": 0, "all_songs_mean": all_mean}
    values = np.arange(width)
    cdf = np.cumsum(hist)
    rows = sum(r.get("rows", 0) for r in results)
    row_tokens = sum(r.get("row_tokens", 0) for r in results)
    return {
        "counted": "n = genre token + lyrics + eos, before cutting to seq_len",
        "songs": total,
        "mean": float((values * hist).sum() / total),
        "median": int(np.searchsorted(cdf, 0.5 * total)),
        "p95": int(np.searchsorted(cdf, 0.95 * total)),
        "max": int(np.flatnonzero(hist).max()),
        # Songs longer than seq_len: cut there (--long-songs drop) or split into pieces.
        "share_cut_at_seq_len": float(hist[seq_len + 1 :].sum() / total),
        "songs_whole": int(hist[: seq_len + 1].sum()),
        "rows": rows,
        "share_padding_at_seq_len": float(1.0 - row_tokens / (rows * seq_len)) if rows else 0.0,
        "all_songs_mean": all_mean,
    }


def balance_table(counts: dict[str, Any], mode: str) -> dict[str, Any]:
    """The manifest's ``balance`` entry: training songs and lyric tokens per genre before and
    after balancing (validation songs are never balanced away)."""
    per_genre = counts["per_genre"]
    after = [c["train_tokens_after"] for c in per_genre.values()]
    return {
        "mode": mode,
        "rule": BALANCE_RULES[mode],
        "per_genre": {
            g: {
                "songs_before": c["train_songs_before"],
                "songs_after": c["train_songs_after"],
                "tokens_before": c["train_tokens_before"],
                "tokens_after": c["train_tokens_after"],
            }
            for g, c in per_genre.items()
        },
        # max/min of the genres' training lyric tokens after balancing (1.0 = equal)
        "token_ratio_after": round(max(after) / min(after), 4) if after and min(after) else None,
    }


BALANCE_RULES = {
    "tokens": "per chunk, the training songs of every genre (whole, seeded order) until its lyric tokens "
    "are closest to the smallest genre's",
    "songs": "per chunk, every genre's training songs downsampled (seeded) to the smallest genre's song count "
    "(the original notebooks' rule)",
    "none": "no balancing",
}


def nothing_left(counts: dict[str, Any], genres: list[str], balance: str = "tokens") -> str | None:
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
    if balance != "none" and any(counts["per_genre"][g]["kept"] == 0 for g in genres):
        return (
            "no songs left after balancing: no chunk holds every genre "
            f"({', '.join(genres)}) after the length filter; rerun stage chunks so that "
            "genres are mixed across chunks, drop the rare genre there, or pass --balance none"
        )
    return None
