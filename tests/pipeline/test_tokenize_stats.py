"""Statistics of stage tokenize (pipeline/tokenize/stats.py): per-chunk counts merged per genre,
exact length statistics from merged histograms, and the refusal when no songs are left."""

from __future__ import annotations

import pytest

from pipeline.tokenize import stats


def result(
    chunk: str, pop: dict, rap: dict, hist: list[int], n_sum: int, n_count: int, rows=(0, 0)
) -> dict:
    zero = dict.fromkeys(stats.COUNT_KEYS, 0)
    return {
        "chunk": chunk,
        "counts": {"pop": {**zero, **pop}, "rap": {**zero, **rap}},
        "kept_length_hist": hist,
        "rows": rows[0],
        "row_tokens": rows[1],
        "all_n_sum": n_sum,
        "all_n_count": n_count,
    }


def test_merge_counts_sums_per_genre_and_keeps_per_chunk():
    a = result("chunk-00.parquet", {"read": 5, "kept": 2}, {"read": 3, "too_long": 1}, [], 0, 0)
    b = result("chunk-01.parquet", {"read": 1, "empty": 1}, {"read": 4, "kept": 2}, [], 0, 0)
    merged = stats.merge_counts([a, b], ["pop", "rap"])
    assert list(merged) == ["filters", "per_genre", "per_chunk"]
    assert list(merged["filters"]) == list(stats.COUNT_KEYS)
    assert merged["per_genre"]["pop"] == {**dict.fromkeys(stats.COUNT_KEYS, 0), "read": 6,
                                          "kept": 2, "empty": 1}  # fmt: skip
    assert list(merged["per_genre"]["pop"]) == list(stats.COUNT_KEYS)
    assert merged["per_genre"]["rap"]["too_long"] == 1
    assert merged["per_chunk"]["chunk-01.parquet"] == b["counts"]


def test_length_stats_exact_from_merged_histograms():
    # Kept n: 5, 5, 6 in one chunk; 9 in the other (histograms of different widths).
    a = result("c0", {}, {}, [0, 0, 0, 0, 0, 2, 1], 16, 3, rows=(3, 16))
    b = result("c1", {}, {}, [0] * 9 + [1], 19, 2, rows=(1, 6))
    s = stats.length_stats([a, b], seq_len=6)
    assert s["songs"] == 4 and s["mean"] == pytest.approx(25 / 4)
    assert (s["median"], s["p95"], s["max"]) == (5, 9, 9)
    assert s["share_cut_at_seq_len"] == pytest.approx(1 / 4)  # only n = 9 exceeds 6
    # Real tokens at seq_len 6: 5 + 5 + 6 + 6 of 24 positions.
    assert s["share_padding_at_seq_len"] == pytest.approx(1 - 22 / 24)
    assert s["all_songs_mean"] == pytest.approx(35 / 5)
    assert stats.length_stats([], 6) == {"songs": 0, "all_songs_mean": 0.0}
    assert s["songs_whole"] == 3 and s["rows"] == 4


def test_length_stats_takes_a_chunk_that_kept_nothing():
    # Its histogram is [] (numpy reads that as float64; adding it into int64 used to crash).
    kept = result("c0", {}, {}, [0, 0, 0, 1], 3, 1, rows=(1, 3))
    nothing = result("c1", {}, {}, [], 40, 2)
    s = stats.length_stats([nothing, kept, nothing], seq_len=6)
    assert s["songs"] == 1 and s["max"] == 3
    assert stats.length_stats([nothing], 6)["songs"] == 0


def test_token_share_kept_is_kept_over_tokenized():
    assert stats.token_share_kept({"tokens": 200, "tokens_kept": 50}) == 0.25
    assert stats.token_share_kept({"tokens": 0, "tokens_kept": 0}) == 0.0


def test_nothing_left_names_the_empty_genre_or_the_balancing():
    ok = {"per_genre": {"pop": {"kept_length": 2, "kept": 1}, "rap": {"kept_length": 1, "kept": 1}}}
    assert stats.nothing_left(ok, ["pop", "rap"]) is None
    gone = {"per_genre": {"pop": {"kept_length": 2, "kept": 1},
                          "rap": {"kept_length": 0, "kept": 0, "read": 4, "too_short": 1,
                                  "too_long": 3, "empty": 0}}}  # fmt: skip
    assert "genre 'rap' has no songs left" in stats.nothing_left(gone, ["pop", "rap"])
    unbalanced = {"per_genre": {"pop": {"kept_length": 2, "kept": 0},
                                "rap": {"kept_length": 1, "kept": 0}}}  # fmt: skip
    assert "no songs left after balancing" in stats.nothing_left(unbalanced, ["pop", "rap"])
