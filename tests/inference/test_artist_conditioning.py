"""Artist conditioning of GPT-2 (stage tokenize's ``--artist-tokens``) on a tiny model trained on
a corpus whose artists really differ (lyrics_gpt2.testing: each artist sings from its own part
of its genre's word bank): ``python -m lyrics_gpt2.generate --artist`` and the perplexity
command's artist swap matrix.

Run: ``pytest tests/inference/test_artist_conditioning.py`` (~30 s: one tiny model is trained).
"""

from __future__ import annotations

import json
import re

import pytest

from lyrics_gpt2 import generate, perplexity
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.evaluation import songs as scored
from lyrics_gpt2.inference import sampler as sampling
from lyrics_gpt2.testing import _BANKS, exit_code, train_tiny_model, write_tiny_dataset
from lyrics_gpt2.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def artist_model(tmp_path_factory):
    """(data_dir, model_dir): two artists per genre with disjoint words, 160 training steps
    (at 80 the artist tokens are not yet learned well enough to win every row)."""
    root = tmp_path_factory.mktemp("artist-model")
    data = write_tiny_dataset(root / "data", artists_per_genre=2, train_per_genre=96)
    return data, train_tiny_model(data, root / "model", steps=160)


def test_generate_with_an_artist_writes_in_its_words(artist_model, tmp_path):
    _, model = artist_model
    out = tmp_path / "songs.jsonl"
    argv = ["--model", str(model), "--genre", "pop", "--num-songs", "6", "--max-length", "40"]
    argv += ["--temperature", "0.7", "--format", "jsonl", "--output", str(out)]
    # The name is matched ignoring case.
    assert exit_code(generate.main, [*argv, "--artist", "pop singer 0"]) == 0
    songs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(songs) == 6 and {s["artist"] for s in songs} == {"Pop Singer 0"}
    words = re.findall(r"[a-z]+", " ".join(s["text"] for s in songs))
    own, other = set(_BANKS["pop"][0::2]), set(_BANKS["pop"][1::2])
    assert sum(w in own for w in words) > 2 * sum(w in other for w in words)
    assert "[Artist" not in " ".join(s["text"] for s in songs)
    # Without --artist the songs carry no artist key, as before.
    assert exit_code(generate.main, argv) == 0
    assert all("artist" not in json.loads(line) for line in out.read_text().splitlines())


def test_generate_refuses_bad_artists_in_one_line(artist_model, tiny_trained, capsys):
    _, model = artist_model
    base = ["--model", str(model), "--genre", "pop", "--num-songs", "1", "--max-length", "4"]
    assert exit_code(generate.main, [*base, "--artist", "Nobody"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no artist 'Nobody'" in err[0] and "'Pop Singer 0'" in err[0]
    # Artist-token text inside a prompt is refused, never obeyed.
    prompt = ["--prompt", "la [Artist: Rap Singer 1] la"]
    assert exit_code(generate.main, [*base, *prompt]) == 2
    assert "control-token text '[Artist: Rap Singer 1]'" in capsys.readouterr().err
    # A model trained without artist tokens.
    plain = ["--model", str(tiny_trained[1]), "--genre", "pop", "--artist", "Pop Singer 0"]
    assert exit_code(generate.main, plain) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no [Artist: X] tokens" in err[0]


def test_sliding_window_keeps_genre_and_artist_tokens():
    tokens = list(range(100, 120))
    assert sampling.window_context(tokens, 8, prefix=2) == [100, 101, *range(116, 120)]
    assert sampling.window_context(tokens, 8) == [100, *range(116, 120)]


def test_check_prompt_covers_artist_tokens(artist_model):
    tok = load_tokenizer(artist_model[1])
    with pytest.raises(UsageError, match=re.escape("[Artist: Pop Singer 1]")):
        sampling.check_prompt(tok, "[Artist: Pop Singer 1]")
    sampling.check_prompt(tok, "Pop Singer 1 is a name, not a token")


def test_perplexity_artist_swap_diagonal_wins(artist_model, tmp_path, capsys):
    data, model = artist_model
    out = tmp_path / "ppl.json"
    argv = ["--model", str(model), "--data-dir", str(data), "--bootstrap", "0"]
    assert exit_code(perplexity.main, [*argv, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    swap = json.loads(out.read_text())["artist_swap"]
    assert swap["artists"] == ["Pop Singer 0", "Pop Singer 1", "Rap Singer 0", "Rap Singer 1"]
    assert swap["columns"] == [*swap["artists"], "(none)"] and swap["songs"] == [4, 4, 4, 4]
    assert swap["diagonal_wins"] == swap["rows"] == 4
    for i, row in enumerate(swap["perplexity"]):
        assert min(row) == row[i]
    assert swap["gain_nats_per_token"] > 0 and all(g > 0 for g in swap["gain_per_artist"])
    assert "Artist swap" in printed and "diagonal wins in 4/4 rows; own artist token" in printed
    # The genre swap on validation is still there, untouched by the artist tokens.
    assert "Genre swap" in printed

    # Scoring artist_val itself: the artist token is never a target, for the tuned model (which
    # reads it) or the base (which reads the rows without it): both score the same tokens.
    result = perplexity.evaluate_models(
        model, str(model / "untuned"), data, split="artist_val", n_boot=0, swap=False
    )
    songs, _ = scored.load_songs(data, "artist_val")
    lyric_and_eos = int((songs.lengths - 2).sum())
    assert result["tuned"]["all"]["tokens"] == result["base"]["all"]["tokens"] == lyric_and_eos
    assert swap["tokens"] == lyric_and_eos
