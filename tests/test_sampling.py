"""The batched sampler (lyrics_gpt2.sampling) against transformers and on a tiny trained model."""

from __future__ import annotations

import pytest
import torch

from lyrics_gpt2 import sampling
from lyrics_gpt2.genres import model_genres
from lyrics_gpt2.modeling import load_trained
from lyrics_gpt2.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def model_dir(tiny_trained):
    return tiny_trained[1]


def test_sample_stops_each_row_at_eos_and_finish_cuts_there(model_dir):
    tok, model = load_tokenizer(model_dir), load_trained(model_dir, torch.device("cpu"))
    eos = tok.eos_token_id
    ids, mask = sampling.left_pad([[model_genres(tok)["pop"]]] * 8, eos)
    torch.manual_seed(0)
    new = sampling.sample(model, ids, mask, sampling.Sampling(max_new_tokens=60), eos, eos)
    for row in new.tolist():
        if eos in row:  # after end-of-song only padding (= eos here) follows
            assert set(row[row.index(eos) :]) == {eos}
    text, n, ended = sampling.finish(tok, [5], [7, 8, eos, 9, 9], eos, {eos})
    assert (n, ended) == (3, True)
    assert text == tok.decode([5, 7, 8]).strip()


def test_left_padded_batch_matches_rows_alone(model_dir):
    """Greedy (top-k 1) songs from a batch of different prompt lengths equal each row alone."""
    tok, model = load_tokenizer(model_dir), load_trained(model_dir, torch.device("cpu"))
    g = model_genres(tok)
    eos = tok.eos_token_id
    cfg = sampling.Sampling(max_new_tokens=10, top_k=1, repetition_penalty=1.0)
    rows = [
        [g["rap"], *tok("money cash street crew")["input_ids"]],
        [g["pop"]],
        [g["pop"], *tok("love")["input_ids"]],
    ]
    batch = sampling.sample(model, *sampling.left_pad(rows, eos), cfg, eos, eos)
    for i, row in enumerate(rows):
        alone = sampling.sample(model, *sampling.left_pad([row], eos), cfg, eos, eos)[0]
        assert batch[i, : len(alone)].tolist() == alone.tolist()


def test_reflow_breaks_after_commas_and_periods():
    assert sampling.reflow("one, two. three! four") == "one,\ntwo.\nthree!\nfour"


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
    vals, idx = sampling.candidates(logits, top_k, top_p)
    ours = torch.full_like(logits, float("-inf")).scatter(1, idx, vals)
    assert torch.equal(torch.isfinite(ours), torch.isfinite(ref))
    assert torch.equal(ours[torch.isfinite(ours)], logits[torch.isfinite(ours)])


def test_repetition_penalty_matches_transformers():
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    torch.manual_seed(0)
    logits, seen = torch.randn(2, 50), torch.tensor([[3, 7, 7, 9], [0, 1, 2, 49]])
    for penalty in (0.8, 1.3):
        ref = RepetitionPenaltyLogitsProcessor(penalty)(seen, logits.clone())
        assert torch.allclose(sampling.penalize_repeats(logits, seen, penalty), ref)


def test_cached_loop_matches_transformers_greedy_generate(model_dir):
    """top-k 1 through our KV-cache loop = transformers' greedy generate, token for token."""
    tok, model = load_tokenizer(model_dir), load_trained(model_dir, torch.device("cpu"))
    eos = tok.eos_token_id
    ids, mask = sampling.left_pad([[model_genres(tok)["rap"], *tok("cash flow")["input_ids"]]], eos)
    cfg = sampling.Sampling(max_new_tokens=30, top_k=1, top_p=1.0, repetition_penalty=1.0)
    ours = sampling.sample(model, ids, mask, cfg, eos, eos)[0].tolist()
    ref = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=False,
        # A trained folder's generation_config.json holds the sampling defaults (penalty 1.1):
        # the reference must be plain greedy decoding, as ours is here.
        repetition_penalty=1.0,
        max_new_tokens=30,
        eos_token_id=eos,
        pad_token_id=eos,
    )[0, ids.shape[1] :].tolist()
    assert ours == ref


def test_runs_of_blank_lines_become_one_stanza_break():
    import random

    from lyrics_gpt2.testing import tiny_songs, train_tiny_tokenizer

    tok = train_tiny_tokenizer(tiny_songs("rap", 20, random.Random(0)), ["rap"])
    new = tok("money flow\n\n\n \n\ncash real\n\nhood ride")["input_ids"] + [tok.eos_token_id]
    text, count, ended = sampling.finish(tok, [], new, tok.eos_token_id, set())
    assert text == "money flow\n\ncash real\n\nhood ride"
    assert ended and count == len(new)


# --- songs longer than the model's window ---------------------------------------------------


def test_slide_window_keeps_genre_token_and_recent_tokens():
    pad = 0
    seq = torch.tensor([[pad, pad, 7, 1, 2, 3, 4, 5, 6], [9, 1, 2, 3, 4, 5, 6, 7, 8]])
    mask = (torch.arange(9) >= torch.tensor([[2], [0]])).long()
    ids, new_mask, positions = sampling._slide_window(seq, mask, window=8, pad_id=pad)
    assert ids.tolist() == [[7, 3, 4, 5, 6], [9, 5, 6, 7, 8]]  # genre + the last 8 // 2
    assert new_mask.tolist() == [[1] * 5] * 2 and positions.tolist() == [[0, 1, 2, 3, 4]] * 2


def test_songs_run_past_the_model_window(model_dir):
    """A model with n_positions 64 writes 150-token songs: without the slide, position 64
    would index past its position embeddings."""
    tok, model = load_tokenizer(model_dir), load_trained(model_dir, torch.device("cpu"))
    assert sampling.model_window(model) == 64
    eos = tok.eos_token_id
    g = model_genres(tok)
    ids, mask = sampling.left_pad([[g["pop"]], [g["rap"], *tok("money cash")["input_ids"]]], eos)
    cfg = sampling.Sampling(max_new_tokens=150, min_new_tokens=150)

    def run(seed):
        torch.manual_seed(seed)
        return sampling.sample(model, ids, mask, cfg, eos, eos)

    first = run(3)
    assert first.shape == (2, 150) and (first != eos).all()
    assert torch.equal(first, run(3))  # the same seed gives the same songs
    assert not torch.equal(first, run(4))


def test_generate_command_writes_past_the_window(model_dir, tmp_path):
    from lyrics_gpt2 import generate
    from lyrics_gpt2.testing import exit_code

    out = tmp_path / "songs.json"
    argv = ["--model", str(model_dir), "--genre", "pop", "--num-songs", "2", "--max-length",
            "200", "--format", "json", "--output", str(out)]  # fmt: skip
    assert exit_code(generate.main, argv) == 0  # was exit 2: "--max-length 200 does not fit"
    assert out.read_text().count('"genre": "pop"') == 2
