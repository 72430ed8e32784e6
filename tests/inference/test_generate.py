"""python -m lyrics_gpt2.generate on a tiny model trained on genre-distinct songs."""

from __future__ import annotations

import json

import pytest

from lyrics_gpt2 import generate
from lyrics_gpt2.cli import run
from lyrics_gpt2.inference import sampler as sampling
from lyrics_gpt2.testing import _BANKS, exit_code


@pytest.fixture(scope="module")
def model_dir(tiny_trained):
    return tiny_trained[1]


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


@pytest.mark.parametrize(
    ("flags", "expect"),
    [
        (["--temperature", "0"], "--temperature must be >= 0.001"),
        (["--top-p", "0"], "--top-p must be in (0, 1]"),
        (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
        (["--top-k", "-1"], "--top-k must be >= 0"),
        (["--repetition-penalty", "0"], "--repetition-penalty must be > 0"),
        (["--genre", "country"], "valid --genre values: pop, rap, both, all"),
        (["--genre", "hip-hop,jazz"], "no genre jazz (= misc)"),
        (["--max-length", "-5"], "--max-length must be >= 1"),  # 500 > window now slides
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
def test_command_in_a_subprocess(model_dir, tmp_path, cli):
    out = tmp_path / "songs.json"
    cmd = ["lyrics_gpt2.generate", "--model", str(model_dir)]
    proc = cli(*cmd, "--genre", "both", "--num-songs", "2", "--format", "json", "--output", out)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(out.read_text())
    assert [s["genre"] for s in payload["songs"]] == ["rap", "rap", "pop", "pop"]
    assert payload["settings"]["temperature"] == sampling.Sampling().temperature
    assert "4 songs" in proc.stderr
    bad = cli(*cmd, "--top-p", "2")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
