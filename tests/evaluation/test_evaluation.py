"""score_songs: token-weighted NLL that ignores padding and position 0, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lyrics_gpt2.data import collate
from lyrics_gpt2.evaluation.scoring import score_songs

PAD = 0


def tiny_model(vocab: int = 32) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=vocab, n_positions=16, n_embd=8, n_layer=1, n_head=2)
    return GPT2LMHeadModel(cfg).eval()


def rows(*songs: list[int], width: int = 10) -> list[dict]:
    return [{"input_ids": s + [PAD] * (width - len(s)), "length": len(s)} for s in songs]


def reference_nll(model, song: list[int]) -> tuple[float, int]:
    """Score one unpadded song alone, token by token, from log-softmax."""
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([song])).logits[0].double(), dim=-1)
    return -sum(float(logp[t, song[t + 1]]) for t in range(len(song) - 1)), len(song) - 1


def test_matches_per_song_reference_and_is_token_weighted():
    model = tiny_model()
    songs = [[5, 6, 7, 8, 9, 3], [4, 11, 12], [7, 7, 7, 7, 7, 7, 7, 2]]
    batches = [collate(rows(*songs[:2]), PAD), collate(rows(songs[2]), PAD)]
    scores = score_songs(model, batches)
    ref = [reference_nll(model, s) for s in songs]
    np.testing.assert_allclose(scores.nll, [r[0] for r in ref], rtol=1e-5)
    assert scores.tokens.tolist() == [r[1] for r in ref]
    total = sum(r[0] for r in ref) / sum(r[1] for r in ref)
    assert math.isclose(scores.mean_nll, total, rel_tol=1e-6)
    # The per-batch mean of means differs: the token-weighted mean is what we report.
    per_batch = np.mean([ref[0][0] / ref[0][1] + 0, ref[2][0] / ref[2][1]])
    assert not math.isclose(scores.mean_nll, per_batch, rel_tol=1e-3)


def test_padding_width_and_pad_id_do_not_change_scores():
    model = tiny_model()
    song = [5, 6, 7, 8, 3]
    narrow = score_songs(model, [collate(rows(song, width=5), PAD)])
    wide = score_songs(model, [collate(rows(song, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), PAD)])
    other_pad = score_songs(model, [collate(rows(song, width=5), 31)])
    assert narrow.nll[0] == wide.nll[0] == other_pad.nll[0]
    assert narrow.tokens[0] == wide.tokens[0] == 4


def test_first_token_is_never_scored():
    model = tiny_model()
    a = score_songs(model, [collate(rows([1, 6, 7, 8]), PAD)])
    b = score_songs(model, [collate(rows([2, 6, 7, 8]), PAD)])
    assert a.tokens[0] == b.tokens[0] == 3
    assert a.nll[0] != b.nll[0]  # the context changed, so the scores did


def test_song_groups_and_by_song_sum_a_songs_rows():
    from lyrics_gpt2.evaluation.scoring import SongScores, song_groups

    ids = ["b", "b", "a", "c", "a", "b"]
    assert song_groups(ids, pieces=True).tolist() == [0, 0, 1, 2, 1, 0]  # first appearance
    assert song_groups(ids, pieces=False).tolist() == [0, 1, 2, 3, 4, 5]  # no piece column
    rows = SongScores(np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0]), np.array([1, 2, 3, 4, 5, 6]))
    songs = rows.by_song(song_groups(ids, pieces=True))
    assert songs.nll.tolist() == [35.0, 20.0, 8.0]
    assert songs.tokens.tolist() == [9, 8, 4] and songs.tokens.dtype == np.int64
    assert songs.mean_nll == rows.mean_nll  # token-weighted: the same figure
    with pytest.raises(ValueError, match="5 song numbers for 6 scored rows"):
        rows.by_song(np.zeros(5, dtype=np.int64))


def test_pieces_of_a_song_scored_separately_sum_to_its_song_score():
    model = tiny_model()
    # A song cut in two: both pieces start with the genre token (1); only the last ends (2).
    pieces = [[1, 5, 6, 7], [1, 8, 9, 2]]
    whole_other = [1, 4, 4, 2]
    scores = score_songs(model, [collate(rows(*pieces, whole_other), PAD)])
    from lyrics_gpt2.evaluation.scoring import song_groups

    songs = scores.by_song(song_groups(["s1", "s1", "s2"], pieces=True))
    ref = [reference_nll(model, p) for p in pieces]
    assert songs.nll[0] == pytest.approx(ref[0][0] + ref[1][0], rel=1e-5)
    assert songs.tokens.tolist() == [6, 3]
