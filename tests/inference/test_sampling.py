"""The batched sampler (lyrics_gpt2.inference.sampler) against transformers and on a tiny trained model."""

from __future__ import annotations

import pytest
import torch

from lyrics_gpt2.genres import model_genres
from lyrics_gpt2.inference import sampler as sampling
from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def model_dir(tiny_trained):
    return tiny_trained[1]


def test_sample_stops_each_row_at_eos_and_finish_cuts_there(model_dir):
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
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
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
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


def test_cached_loop_matches_transformers_greedy_generate(model_dir):
    """top-k 1 through our KV-cache loop = transformers' greedy generate, token for token."""
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
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


def _run_alone(model, eos, row):
    batch = sampling.Batch(model, eos, eos)
    batch.add([row])
    while batch.rows:
        batch.step()
    return row.new


def test_rows_that_join_later_with_their_own_settings_match_rows_alone(model_dir):
    """Continuous batching: a row that joins a running batch, with other settings and a longer
    prompt, gets the same tokens as when sampled alone; so do the rows already running."""
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
    g, eos = model_genres(tok), tok.eos_token_id
    specs = [
        ([g["rap"]], sampling.Sampling(max_new_tokens=30), 1),
        ([g["pop"], *tok("love the night")["input_ids"]], sampling.Sampling(
            max_new_tokens=25, temperature=1.3, top_k=0, top_p=0.8, repetition_penalty=1.0), 2),
        ([g["pop"]], sampling.Sampling(max_new_tokens=20, top_k=5, repetition_penalty=1.5), 3),
    ]  # fmt: skip

    def rows():
        return [sampling.Row(p, c, sampling.row_generator(7, i)) for p, c, i in specs]

    alone = [_run_alone(model, eos, r) for r in rows()]
    together = rows()
    batch = sampling.Batch(model, eos, eos)
    batch.add(together[:1])
    for _ in range(4):
        batch.step()
    batch.add(together[1:])  # join mid-way: the cache is wider than their prompts
    while batch.rows:
        batch.step()
    assert [r.new for r in together] == alone
    assert len({tuple(a) for a in alone}) == 3


def test_a_dropped_row_leaves_and_the_others_are_unchanged(model_dir):
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
    g, eos = model_genres(tok), tok.eos_token_id
    cfg = sampling.Sampling(max_new_tokens=30, min_new_tokens=30)

    def rows():
        return [sampling.Row([g["rap"]], cfg, sampling.row_generator(1, i)) for i in range(3)]

    alone = [_run_alone(model, eos, r) for r in rows()]
    batch, rs = sampling.Batch(model, eos, eos), rows()
    batch.add(rs)
    for _ in range(5):
        batch.step()
    batch.drop([rs[1]])
    assert batch.rows == [rs[0], rs[2]] and batch.cache.layers[0].keys.shape[0] == 2
    while batch.rows:
        batch.step()
    assert rs[0].new == alone[0] and rs[2].new == alone[2]
    assert rs[1].new == alone[1][:5] and batch.cache is None


def test_songs_do_not_depend_on_the_batch_size(model_dir):
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
    cfg = sampling.Sampling(max_new_tokens=40)
    one = sampling.generate_songs(model, tok, ["rap", "pop"], 3, cfg, seed=5, batch_size=1)
    many = sampling.generate_songs(model, tok, ["rap", "pop"], 3, cfg, seed=5, batch_size=4)
    assert [s.text for s in one] == [s.text for s in many]
    assert len({s.text for s in one}) == 6


# --- songs longer than the model's window ---------------------------------------------------


def test_window_context_keeps_genre_token_and_recent_tokens():
    assert sampling.window_context([7, 1, 2, 3, 4, 5, 6], window=8) == [7, 3, 4, 5, 6]
    assert sampling.window_context([9, 1, 2, 3, 4, 5, 6, 7, 8], window=8) == [9, 5, 6, 7, 8]
    assert sampling.window_context([9, 1, 2], window=8) == [9, 1, 2]  # short: kept whole


def test_a_row_at_the_window_slides_while_the_others_keep_their_cache(model_dir):
    """Rows with their own generators: a song that slides gives the same tokens in a batch as
    alone, and a shorter row beside it is not disturbed."""
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
    g, eos = model_genres(tok), tok.eos_token_id
    cfg = sampling.Sampling(max_new_tokens=90, min_new_tokens=90)

    def rows():
        return [
            sampling.Row([g["rap"], *tok("money cash money")["input_ids"]], cfg,
                         sampling.row_generator(3, 0)),
            sampling.Row([g["pop"]], sampling.Sampling(max_new_tokens=20),
                         sampling.row_generator(3, 1)),
        ]  # fmt: skip

    alone = [_run_alone(model, eos, r) for r in rows()]
    together = rows()
    batch = sampling.Batch(model, eos, eos)
    assert batch.window == 64
    batch.add(together)
    while batch.rows:
        batch.step()
        assert max(batch.mask.sum(-1).tolist(), default=0) <= 64
    assert [r.new for r in together] == alone and len(alone[0]) == 90


def test_songs_run_past_the_model_window(model_dir):
    """A model with n_positions 64 writes 150-token songs: without the slide, position 64
    would index past its position embeddings."""
    tok, model = load_tokenizer(model_dir), load_for_inference(model_dir, torch.device("cpu"))
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
