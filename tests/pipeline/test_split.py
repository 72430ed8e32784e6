"""The artist-disjoint, genre-stratified validation split (pipeline/tokenize/artist_split.py).

Run: ``pytest tests/pipeline/test_split.py``. The tokenize stage's use of it is tested in tests/pipeline/test_tokenize_stage.py.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

import pytest

from lyrics_gpt2.errors import UsageError
from pipeline.tokenize import artist_split as split


def _counts(seed: int = 0, songs: int = 3000, artists: int = 300) -> Counter:
    rng = random.Random(seed)
    counts: Counter = Counter()
    for _ in range(songs):
        genre = rng.choice(["pop", "pop", "rap", "rock"])
        counts[(f"artist {rng.randrange(artists)}", genre)] += 1
    return counts


def test_artist_rank_is_stable_across_processes():
    # Python's own hash() is salted per process; the rank must not be.
    code = "from pipeline.tokenize import artist_split as split; print(split.artist_rank('Some Artist', 7).hex())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == split.artist_rank("Some Artist", 7).hex()
    assert split.artist_rank("Some Artist", 7) != split.artist_rank("Some Artist", 8)


def test_each_genre_gets_its_share_and_seed_decides():
    counts = _counts()
    val = split.choose_validation_artists(counts, 0.1, seed=3)
    assert val < {a for a, _ in counts}
    totals, in_val = Counter(), Counter()
    for (artist, genre), n in counts.items():
        totals[genre] += n
        in_val[genre] += n if artist in val else 0
    for genre in totals:
        assert 0.07 < in_val[genre] / totals[genre] < 0.15, genre
    assert val == split.choose_validation_artists(counts, 0.1, seed=3)
    assert val != split.choose_validation_artists(counts, 0.1, seed=4)


def test_an_artist_bigger_than_the_need_is_passed_over_while_a_smaller_fits():
    counts = _counts()
    # "big" has 400 pop songs and 2 rock ones; rock needs one validation song, so it takes a
    # one-song artist rather than big, whatever the hash order (and pop never takes big).
    counts[("big", "pop")] = 400
    counts.update({("big", "rock"): 2, ("r1", "rock"): 1, ("r2", "rock"): 1})
    for artist, genre in [k for k in counts if k[1] == "rock" and k[0].startswith("artist")]:
        del counts[(artist, genre)]
    for seed in range(5):
        val = split.choose_validation_artists(counts, 0.05, seed=seed)
        assert "big" not in val
        assert len({"r1", "r2"} & val) == 1


def test_genres_argument_restricts_and_orders_genres():
    counts = {("a", "pop"): 3, ("b", "pop"): 3, ("c", "rap"): 3}  # rap has one artist only
    val = split.choose_validation_artists(counts, 0.3, seed=0, genres=["pop"])
    assert val in ({"a"}, {"b"})


def test_no_training_songs_left_is_a_usage_error():
    with pytest.raises(UsageError, match="no training songs left"):
        split.choose_validation_artists({("a", "pop"): 1, ("b", "pop"): 1}, 0.9, seed=0)


def test_ensure_validation_per_genre_leaves_covered_genres_alone():
    kept = {("a", "pop"): 2, ("b", "pop"): 1, ("c", "rap"): 4, ("d", "rap"): 1}
    chosen = {"a", "c"}
    assert split.ensure_validation_per_genre(kept, chosen, seed=0) == []
    assert chosen == {"a", "c"}


def test_ensure_validation_per_genre_errors():
    with pytest.raises(UsageError, match="only one artist after filtering"):
        split.ensure_validation_per_genre({("a", "pop"): 3}, set(), seed=0)
    with pytest.raises(UsageError, match="no training songs left"):
        split.ensure_validation_per_genre({("a", "pop"): 3, ("b", "pop"): 1}, {"a", "b"}, seed=0)


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


def test_token_artists_most_songs_first_ties_by_name_no_validation_or_pseudo_artists():
    counts = Counter(
        {
            ("Genius English Translations", "pop"): 50,
            ("Genius Brasil Tradues", "pop"): 40,
            ("", "rap"): 30,
            ("Big Val", "rap"): 25,
            ("B", "rap"): 6,
            ("A", "pop"): 4,
            ("A", "rap"): 2,
            ("C", "pop"): 6,
            ("Line\nbreak", "pop"): 7,
            ("D", "pop"): 1,
        }
    )
    chosen, skipped = split.token_artists(counts, {"Big Val"}, 3)
    # A has 6 songs over two genres, tied with B and C: by name.
    assert chosen == ["A", "B", "C"]
    assert skipped == ["Genius English Translations", "Genius Brasil Tradues", "", "Line\nbreak"]
    assert split.token_artists(counts, set(), 0) == ([], [])
    assert split.is_pseudo_artist("Genius Romanizations") and not split.is_pseudo_artist("Geniuses")


def test_artist_holdout_share_at_least_one_keeps_one_and_ignores_order():
    songs = {"a": [f"a{i}" for i in range(20)], "b": ["b0", "b1"], "c": ["c0"]}
    held = split.artist_holdout(songs, 0.1, 7)
    assert [len(held[k]) for k in "abc"] == [2, 1, 0]
    assert set(held["a"]) <= set(songs["a"])
    shuffled = {k: list(reversed(v)) for k, v in songs.items()}
    assert split.artist_holdout(shuffled, 0.1, 7) == held
    assert split.artist_holdout(songs, 0.1, 8)["a"] != held["a"]
    assert split.artist_holdout(songs, 0.0, 7) == {"a": [], "b": [], "c": []}
    assert len(split.artist_holdout(songs, 0.9, 7)["a"]) == 18
    assert len(split.artist_holdout({"b": ["b0", "b1"]}, 0.9, 7)["b"]) == 1  # one stays in train


def test_moving_an_artist_to_validation_spares_token_artists():
    counts = {("small", "rock"): 1, ("tok", "rock"): 1, ("big", "rock"): 9}
    chosen: set[str] = set()
    assert split.ensure_validation_per_genre(counts, chosen, 0, keep_in_train={"small"}) == ["tok"]
