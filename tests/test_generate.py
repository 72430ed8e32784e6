"""python -m lyrics_gpt2.generate on a tiny model trained on genre-distinct songs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lyrics_gpt2 import generate
from lyrics_gpt2.cli import run
from lyrics_gpt2.inference import load_model, model_genres
from lyrics_gpt2.testing import _BANKS
from lyrics_gpt2.tokenizer import load_tokenizer
from tests.tiny_trained import tiny_trained

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_trained(tmp_path_factory)[1]


def exit_code(main, argv) -> int:
    """The exit status the command line would get (argparse errors exit via SystemExit)."""
    try:
        return run(main, argv)
    except SystemExit as exc:
        return int(exc.code)


def songs_from(model_dir, tmp_path, *flags: str) -> list[dict]:
    out = tmp_path / "songs.jsonl"
    argv = ["--model", str(model_dir), "--format", "jsonl", "--output", str(out), *flags]
    assert run(generate.main, argv) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_songs_per_genre_without_special_tokens(model_dir, tmp_path):
    songs = songs_from(model_dir, tmp_path, "--genre", "both", "--num-songs", "3")
    assert [s["genre"] for s in songs] == ["rap"] * 3 + ["pop"] * 3
    for s in songs:
        assert s["text"].strip()
        assert "<|endoftext|>" not in s["text"] and "[Genre:" not in s["text"]


def test_conditioning_shows_in_the_words(model_dir, tmp_path):
    """Genre banks are disjoint in the tiny corpus: each genre's songs use mostly its own words."""
    songs = songs_from(model_dir, tmp_path, "--genre", "rap,pop", "--num-songs", "6")
    for genre, other in (("rap", "pop"), ("pop", "rap")):
        words = " ".join(s["text"] for s in songs if s["genre"] == genre).split()
        own = sum(w in _BANKS[genre] for w in words)
        foreign = sum(w in _BANKS[other] for w in words)
        assert own > 3 * foreign, (genre, own, foreign)


def test_same_seed_same_songs_other_seed_other_songs(model_dir, tmp_path):
    a = songs_from(model_dir, tmp_path, "--genre", "rap", "--num-songs", "3", "--seed", "7")
    b = songs_from(model_dir, tmp_path, "--genre", "rap", "--num-songs", "3", "--seed", "7")
    c = songs_from(model_dir, tmp_path, "--genre", "rap", "--num-songs", "3", "--seed", "8")
    assert [s["text"] for s in a] == [s["text"] for s in b]
    assert [s["text"] for s in a] != [s["text"] for s in c]


def test_generation_stops_at_end_of_song(model_dir, tmp_path):
    """Tiny-corpus songs are 10-60 tokens; with room for 60 most songs end on their own."""
    songs = songs_from(model_dir, tmp_path, "--num-songs", "8", "--max-length", "60")
    ended = [s for s in songs if s["ended"]]
    assert len(ended) >= len(songs) // 2
    assert all(s["tokens"] <= 60 for s in ended) and any(s["tokens"] < 60 for s in ended)
    assert all(s["tokens"] == 60 for s in songs if not s["ended"])


def test_sample_stops_each_row_at_eos_and_finish_cuts_there(model_dir):
    tok, model = load_tokenizer(model_dir), load_model(model_dir, torch.device("cpu"))
    eos = tok.eos_token_id
    ids, mask = generate.left_pad([[model_genres(tok)["pop"]]] * 8, eos)
    torch.manual_seed(0)
    new = generate.sample(model, ids, mask, generate.Sampling(max_new_tokens=60), eos, eos)
    for row in new.tolist():
        if eos in row:  # after end-of-song only padding (= eos here) follows
            assert set(row[row.index(eos) :]) == {eos}
    text, n, ended = generate.finish(tok, [5], [7, 8, eos, 9, 9], eos, {eos})
    assert (n, ended) == (3, True)
    assert text == tok.decode([5, 7, 8]).strip()


def test_left_padded_batch_matches_rows_alone(model_dir):
    """Greedy (top-k 1) songs from a batch of different prompt lengths equal each row alone."""
    tok, model = load_tokenizer(model_dir), load_model(model_dir, torch.device("cpu"))
    g = model_genres(tok)
    eos = tok.eos_token_id
    cfg = generate.Sampling(max_new_tokens=10, top_k=1, repetition_penalty=1.0)
    rows = [
        [g["rap"], *tok("money cash street crew")["input_ids"]],
        [g["pop"]],
        [g["pop"], *tok("love")["input_ids"]],
    ]
    batch = generate.sample(model, *generate.left_pad(rows, eos), cfg, eos, eos)
    for i, row in enumerate(rows):
        alone = generate.sample(model, *generate.left_pad([row], eos), cfg, eos, eos)[0]
        assert batch[i, : len(alone)].tolist() == alone.tolist()


def test_prompt_starts_every_song_and_text_format(model_dir, capsys):
    argv = ["--model", str(model_dir), "--genre", "pop", "--num-songs", "2", "--prompt", "love me"]
    assert run(generate.main, argv) == 0
    out = capsys.readouterr().out
    blocks = [b for b in out.split("=== ") if b.strip()]
    assert len(blocks) == 2
    assert all(b.split("===\n", 1)[1].startswith("love me") for b in blocks)


def test_original_settings_are_reachable_with_a_warning(model_dir, tmp_path, capsys):
    flags = ("--genre", "rap", "--num-songs", "2", "--temperature", "2.5")
    songs = songs_from(model_dir, tmp_path, *flags, "--repetition-penalty", "0.8")
    assert len(songs) == 2
    assert "rewards repeated tokens" in capsys.readouterr().err


def test_reflow_breaks_after_commas_and_periods():
    assert generate.reflow("one, two. three! four") == "one,\ntwo.\nthree!\nfour"


@pytest.mark.parametrize(
    ("flags", "expect"),
    [
        (["--temperature", "0"], "--temperature must be > 0"),
        (["--top-p", "0"], "--top-p must be in (0, 1]"),
        (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
        (["--top-k", "-1"], "--top-k must be >= 0"),
        (["--repetition-penalty", "0"], "--repetition-penalty must be > 0"),
        (["--genre", "country"], "valid --genre values: pop, rap, both, all"),
        (["--genre", "hip-hop,jazz"], "no genre jazz (= misc)"),
        (["--max-length", "500"], "use at most 63"),
        (["--num-songs", "0"], "--num-songs must be >= 1"),
        (["--format", "xml"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2_with_one_line(model_dir, capsys, flags, expect):
    assert exit_code(generate.main, ["--model", str(model_dir), *flags]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert expect in err


def test_missing_model_is_one_line(tmp_path, capsys):
    assert run(generate.main, ["--model", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no trained model" in err


@pytest.mark.slow
def test_command_in_a_subprocess(model_dir, tmp_path):
    out = tmp_path / "songs.json"
    cmd = [sys.executable, "-m", "lyrics_gpt2.generate", "--model", str(model_dir)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [*cmd, "--genre", "both", "--num-songs", "2", "--format", "json", "--output", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(out.read_text())
    assert [s["genre"] for s in payload["songs"]] == ["rap", "rap", "pop", "pop"]
    assert payload["settings"]["temperature"] == generate.Sampling().temperature
    assert "4 songs" in proc.stderr
    bad = subprocess.run([*cmd, "--top-p", "2"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


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
    vals, idx = generate.candidates(logits, top_k, top_p)
    ours = torch.full_like(logits, float("-inf")).scatter(1, idx, vals)
    assert torch.equal(torch.isfinite(ours), torch.isfinite(ref))
    assert torch.equal(ours[torch.isfinite(ours)], logits[torch.isfinite(ours)])


def test_repetition_penalty_matches_transformers():
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    torch.manual_seed(0)
    logits, seen = torch.randn(2, 50), torch.tensor([[3, 7, 7, 9], [0, 1, 2, 49]])
    for penalty in (0.8, 1.3):
        ref = RepetitionPenaltyLogitsProcessor(penalty)(seen, logits.clone())
        assert torch.allclose(generate.penalize_repeats(logits, seen, penalty), ref)


def test_cached_loop_matches_transformers_greedy_generate(model_dir):
    """top-k 1 through our KV-cache loop = transformers' greedy generate, token for token."""
    tok, model = load_tokenizer(model_dir), load_model(model_dir, torch.device("cpu"))
    eos = tok.eos_token_id
    ids, mask = generate.left_pad([[model_genres(tok)["rap"], *tok("cash flow")["input_ids"]]], eos)
    cfg = generate.Sampling(max_new_tokens=30, top_k=1, top_p=1.0, repetition_penalty=1.0)
    ours = generate.sample(model, ids, mask, cfg, eos, eos)[0].tolist()
    ref = model.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=False,
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
    text, count, ended = generate.finish(tok, [], new, tok.eos_token_id, set())
    assert text == "money flow\n\ncash real\n\nhood ride"
    assert ended and count == len(new)
