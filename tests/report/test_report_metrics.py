"""Each report metric on hand-made songs whose answers are known and the n-gram index
(lyrics_gpt2/report/); the penalty's structure exemption is tested in test_warpers.py."""

from __future__ import annotations

import numpy as np
import pytest

from lyrics_gpt2.report import measures as metrics
from lyrics_gpt2.report.ngrams import NgramIndex, longest_common_run

CHORUS = "we ride tonight\nunder city lights\n\nwe ride tonight\nunder city lights\nthe end"


def test_words_ignore_case_and_punctuation():
    assert metrics.words("Hey, YOU! don't 'stop'") == ["hey", "you", "don't", "stop"]


def test_distinct_n():
    assert metrics.distinct_n("a b a b", 1) == 0.5
    assert metrics.distinct_n("a b a b", 2) == pytest.approx(2 / 3)
    assert metrics.distinct_n("one", 2) == 0.0


def test_repeated_chorus_lines():
    assert metrics.repeated_line_share(CHORUS) == pytest.approx(4 / 5)
    assert metrics.repeated_line_share("one line\nanother line") == 0.0


def test_lengths():
    assert metrics.lines_per_song(CHORUS) == 5
    assert metrics.words_per_song(CHORUS) == 14
    assert metrics.words_per_line(CHORUS) == pytest.approx(14 / 5)


def test_rhyme_rate_rhyming_and_not():
    assert metrics.rhyme_rate("I saw the light\nin the night") == 1.0
    assert metrics.rhyme_rate("I saw the light\nin the house") == 0.0
    # Pairs are taken within stanzas; identical words are a chorus, not a rhyme.
    assert metrics.rhyme_rate("the cat\nthe hat\n\nthe dog\nthe dog") == 0.5
    assert metrics.rhyme_rate("qzxv\nbrrzt") == 0.0  # no word in the CMU dictionary


def test_self_bleu():
    same = ["the quick brown fox jumps over the lazy dog"] * 3
    assert metrics.self_bleu(same) == pytest.approx(1.0)
    apart = ["alpha beta gamma delta epsilon", "one two three four five", "red green blue x y"]
    assert metrics.self_bleu(apart) < 0.05
    assert metrics.self_bleu(["only one song"]) == 0.0


def test_index_finds_copies_not_fresh_songs():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(500)]
    train = [" ".join(rng.choice(vocab, 60)) for _ in range(50)]
    index = NgramIndex.build(train, n=8)
    assert index.copied_share(train[7]) == 1.0
    assert index.candidates(train[7])[0] == 7
    fresh = " ".join(rng.choice(vocab, 60))
    assert index.copied_share(fresh) == 0.0
    half = " ".join(train[3].split()[:30] + fresh.split()[:30])
    assert 0.3 < index.copied_share(half) < 0.7
    assert longest_common_run(half.split(), train[3].split()) == 30


def test_vocables_shared_by_unrelated_songs_are_no_copy():
    # The case: two unrelated songs whose only shared 8-gram is "la la la la la la la la".
    chant = " ".join(["la"] * 34)
    train = ["walking down the river road tonight " + chant + " carry all the heavy load"]
    song = "summer lights are burning bright " + chant + " dancing on the roof tonight"
    index = NgramIndex.build(train, n=8)
    assert index.copied_share(song) == 0.0 and index.candidates(song) == []
    assert longest_common_run(song.split(), train[0].split()) == 0
    # A single-word chant and a two-word one are low-information too; three words are not.
    assert longest_common_run(["hey", "ho"] * 10, ["hey", "ho"] * 12) == 0
    three = "we will rock you " + "rock you we " * 4
    assert longest_common_run(three.split(), ("intro " + three).split()) == len(three.split())
    # Informative runs that sit next to vocables are still copies.
    copied = "oh oh oh oh the city never sleeps at night my friend"
    assert longest_common_run(copied.split(), ("yeah " + copied).split()) == len(copied.split())
    index = NgramIndex.build(["yeah " + copied], n=8)
    assert 0 < index.copied_share(copied) == 1.0


def test_index_bound_keeps_share_unbiased(tmp_path):
    rng = np.random.default_rng(1)
    vocab = [f"w{i}" for i in range(1000)]
    train = [" ".join(rng.choice(vocab, 100)) for _ in range(200)]
    full, small = NgramIndex.build(train, 8), NgramIndex.build(train, 8, max_ngrams=2000)
    assert len(small.keys) == 2000 < len(full.keys)
    copied = " ".join(train[0].split()[:50] + train[1].split()[:50])
    fresh = " ".join(rng.choice(vocab, 400))
    # The sampled index still calls a copy a copy and a fresh song fresh.
    assert small.copied_share(copied) > 0.8 and small.copied_share(fresh) == 0.0
    small.save(tmp_path / "i.npz")
    again = NgramIndex.load(tmp_path / "i.npz")
    assert again.copied_share(copied) == small.copied_share(copied)


@pytest.fixture(scope="module")
def model_dir(tiny_trained):
    return tiny_trained[1]
