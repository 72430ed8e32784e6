"""The report's n-gram index built in bounded memory gives what sorting everything at once gives,
from songs streamed out of the chunks in any order."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lyrics_gpt2.report import ngrams
from lyrics_gpt2.report.measures import words
from lyrics_gpt2.report.ngrams import NgramIndex, ngram_hashes


def everything_at_once(texts: list[str], n: int, max_ngrams: int):
    """The definition: every distinct informative hash with the smallest song holding it, the smallest
    ``max_ngrams`` hashes kept."""
    best: dict[int, int] = {}
    for i, text in enumerate(texts):
        for h in ngram_hashes(words(text), n, informative=True).tolist():
            best.setdefault(h, i)
    keys = sorted(best)[:max_ngrams]
    return np.array(keys, np.uint64), np.array([best[k] for k in keys], np.uint32)


@pytest.mark.parametrize("max_ngrams", [10**9, 5000, 700, 1])
def test_many_small_merges_give_the_index_of_one_big_sort(monkeypatch, max_ngrams):
    # Tiny batches, blocks and word cache: hundreds of merges and cache resets on 600 songs.
    monkeypatch.setattr(ngrams, "MIN_BATCH", 300)
    monkeypatch.setattr(ngrams, "BLOCK_WORDS", 200)
    monkeypatch.setattr(ngrams, "MAX_CACHE", 40)
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(200)] + ["don't", "'quoted'", "x"]
    texts = [" ".join(rng.choices(vocab, k=rng.randint(0, 50))) for _ in range(600)]
    keys, songs = everything_at_once(texts, 3, max_ngrams)
    shuffled = list(enumerate(texts))
    rng.shuffle(shuffled)
    for index in (NgramIndex.build(texts, 3, max_ngrams),
                  NgramIndex.build_numbered(shuffled, 3, max_ngrams)):  # fmt: skip
        assert np.array_equal(index.keys, keys) and np.array_equal(index.songs, songs)
        assert len(index.keys) == min(max_ngrams, len(keys))
        full = max_ngrams >= len(everything_at_once(texts, 3, 10**9)[0])
        assert index.threshold == (ngrams.ALL if full else keys[-1])
        assert index.seen == sum(max(0, len(words(t)) - 2) for t in texts)


def test_words_strip_apostrophes_as_before():
    rng = random.Random(0)
    for _ in range(20000):
        text = "".join(rng.choices("ab'Z9 \n-'é", k=rng.randint(0, 14)))
        before = [w.strip("'") for w in words.__globals__["WORD"].findall(text.lower())]
        assert words(text) == [w for w in before if w]


@pytest.mark.slow
def test_the_index_streamed_from_chunks_numbers_songs_as_the_report_loads_them(
    tmp_path, gpt2_tokenizer_dir
):
    from lyrics_gpt2.report.build import build_index, index_path
    from lyrics_gpt2.report.corpus import load_split, split_texts
    from pipeline import preprocess
    from pipeline.synth import SynthConfig, generate

    generate(SynthConfig(rows=600, seed=3), tmp_path / "ds.csv")
    data = tmp_path / "data"
    argv = ["--input", str(tmp_path / "ds.csv"), "--output-dir", str(data), "--quiet"]
    argv += ["--tokenizer", str(gpt2_tokenizer_dir), "--workers", "0", "--val-fraction", "0.2"]
    assert preprocess.main(argv) == 0
    songs = load_split(data, "train")
    streamed = dict(split_texts(data, "train"))
    assert len(songs) > 50 and streamed == {i: s.text for i, s in enumerate(songs)}
    index, seen = build_index(data)
    same = NgramIndex.build([s.text for s in songs], 8)
    assert np.array_equal(index.keys, same.keys) and np.array_equal(index.songs, same.songs)
    assert seen == same.seen > 0
    assert np.array_equal(NgramIndex.load(index_path(data)).keys, same.keys)
