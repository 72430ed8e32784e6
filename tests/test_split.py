"""The validation split of stage tokenize (pipeline/split.py) on its own: whole artists,
stratified per genre, stable under reordering, and the fix-up after filtering."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from lyrics_gpt2.cli import UsageError
from pipeline import split


def test_split_is_artist_disjoint_stratified_and_stable():
    rng = random.Random(3)
    counts = Counter()
    for _ in range(5000):
        genre = rng.choice(["pop", "pop", "pop", "rap", "rock"])
        counts[(f"artist {rng.randrange(400)}", genre)] += 1
    val = split.choose_validation_artists(counts, 0.05, seed=1)
    assert val == split.choose_validation_artists(dict(reversed(counts.items())), 0.05, seed=1)
    assert val != split.choose_validation_artists(counts, 0.05, seed=2)
    totals, in_val = Counter(), Counter()
    for (artist, genre), n in counts.items():
        totals[genre] += n
        if artist in val:
            in_val[genre] += n
    for genre in totals:
        assert 0.03 < in_val[genre] / totals[genre] < 0.1
    # A tiny genre still gets one validation song.
    counts[("solo", "country")] = 1
    counts[("duo", "country")] = 1
    val = split.choose_validation_artists(counts, 0.05, seed=1)
    assert len({"solo", "duo"} & val) == 1


def test_split_refuses_single_artist_genre():
    with pytest.raises(UsageError, match="at least two"):
        split.choose_validation_artists({("x", "pop"): 5, ("y", "pop"): 5, ("z", "rap"): 3}, 0.1, 0)


def test_fix_up_after_filtering_moves_smallest_artist():
    kept = {("a", "pop"): 5, ("b", "pop"): 1, ("c", "pop"): 3, ("d", "rap"): 2, ("e", "rap"): 2}
    chosen = {"d"}
    assert split.ensure_validation_per_genre(kept, chosen, seed=0) == ["b"]
    assert chosen == {"b", "d"}
