"""The next-token step (lyrics_gpt2.inference.warpers) against transformers' own warpers and by hand."""

from __future__ import annotations

import pytest
import torch

from lyrics_gpt2.inference import warpers


@pytest.fixture(scope="module")
def model_dir(tiny_trained):
    return tiny_trained[1]


@pytest.mark.parametrize(("top_k", "top_p"), [(0, 0.9), (0, 0.99), (20, 0.8), (7, 1.0)])
def test_filters_keep_what_transformers_warpers_keep(top_k, top_p):
    from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

    torch.manual_seed(0)
    # Peaked rows (nucleus inside the first 512) and a flat row (nucleus wider: full sort).
    logits = torch.cat([torch.randn(3, 3000) * 4, torch.randn(1, 3000) * 0.01])
    ref = logits.clone()
    if top_k:
        ref = TopKLogitsWarper(top_k)(None, ref)
    if top_p < 1:
        ref = TopPLogitsWarper(top_p)(None, ref)
    vals, idx = warpers.candidates(logits, top_k, top_p)
    ours = torch.full_like(logits, float("-inf")).scatter(1, idx, vals)
    assert torch.equal(torch.isfinite(ours), torch.isfinite(ref))
    assert torch.equal(ours[torch.isfinite(ours)], logits[torch.isfinite(ours)])


def test_repetition_penalty_matches_transformers():
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    torch.manual_seed(0)
    logits, seen = torch.randn(2, 50), torch.tensor([[3, 7, 7, 9], [0, 1, 2, 49]])
    for penalty in (0.8, 1.3):
        ref = RepetitionPenaltyLogitsProcessor(penalty)(seen, logits.clone())
        assert torch.allclose(warpers.penalize_repeats(logits, seen, penalty), ref)


def test_per_row_penalty_equals_each_row_penalised_alone():
    torch.manual_seed(0)
    logits, seen = torch.randn(2, 50), torch.tensor([[3, 7, 7, 9], [0, 1, 2, 49]])
    both = warpers.penalize_repeats(logits.clone(), seen, torch.tensor([[0.8], [1.3]]))
    assert torch.equal(both[0], warpers.penalize_repeats(logits[:1].clone(), seen[:1], 0.8)[0])
    assert torch.equal(both[1], warpers.penalize_repeats(logits[1:].clone(), seen[1:], 1.3)[0])


def test_penalty_leaves_exempt_tokens_and_window():
    logits = torch.tensor([[2.0, 2.0, 2.0, -2.0, 1.0]])
    seen = torch.tensor([[0, 1, 3]])
    out = warpers.penalize_repeats(logits.clone(), seen, 2.0, exempt=[1])
    assert out.tolist() == [[1.0, 2.0, 2.0, -4.0, 1.0]]
    out = warpers.penalize_repeats(logits.clone(), seen, 2.0, window=1)
    assert out.tolist() == [[2.0, 2.0, 2.0, -4.0, 1.0]]


def test_structure_ids_cover_newline_punctuation_and_genre(model_dir):
    from lyrics_gpt2.genres import model_genres
    from lyrics_gpt2.tokenizer import load_tokenizer

    tok = load_tokenizer(model_dir)
    ids = set(warpers.structure_ids(tok))
    assert tok.convert_tokens_to_ids(tok.tokenize("\n"))[0] in ids
    assert set(model_genres(tok).values()) <= ids
    assert tok.eos_token_id in ids
    word = tok("money", add_special_tokens=False)["input_ids"][0]
    assert word not in ids
