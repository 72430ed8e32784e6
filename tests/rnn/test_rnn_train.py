"""The RNN commands end to end on a tiny corpus: train, resume, load, generate, bad input."""

from __future__ import annotations

import json

import pytest
import torch

from lyrics_gpt2.cli import run
from lyrics_gpt2.fileio import write_marker
from lyrics_gpt2.rnn import generate, train
from lyrics_gpt2.rnn.data import load_splits
from lyrics_gpt2.rnn.model import load_rnn
from lyrics_gpt2.rnn.testing import write_tiny_rnn_data

SMALL = ["--embed-dim", "8", "--hidden-size", "16", "--layers", "1", "--batch-size", "4"]


# Tiny models: threads only add overhead on a 2-core machine.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_rnn_data(tmp_path_factory.mktemp("rnn-data"), train_per_genre=12)


def losses(out):
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [r["loss"] for r in map(json.loads, lines) if r["kind"] == "train"]


def test_songs_come_from_chunks_with_the_tokenized_split(data_dir):
    splits = load_splits(data_dir)
    assert len(splits["train"]) == 24 and len(splits["validation"]) == 16
    assert all(s.id.startswith("validation-") for s in splits["validation"])
    assert {s.genre for s in splits["train"]} == {"pop", "rap"}
    assert all(s.lyrics and "\n" in s.lyrics for s in splits["train"])


def test_train_writes_a_loadable_model_and_resume_reproduces_losses(data_dir, tmp_path):
    common = ["--arch", "char-lstm", "--data-dir", str(data_dir), *SMALL, "--bptt", "16"]
    common += ["--dropout", "0.2", "--eval-every", "3", "--checkpoint-every", "3"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert train.main([*common, "--output-dir", str(whole), "--max-steps", "6"]) == 0
    assert train.main([*common, "--output-dir", str(split), "--max-steps", "3"]) == 0
    assert train.main([*common, "--output-dir", str(split), "--max-steps", "6", "--resume"]) == 0
    assert losses(whole) == losses(split) and len(losses(whole)) == 6
    for name in ("config.json", "model.safetensors", "vocab.json", "loss.png", "summary.json"):
        assert (whole / name).is_file(), name
    summary = json.loads((whole / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["best_val_bpb"] <= summary["final_val_bpb"]
    vals = [json.loads(x) for x in (whole / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in vals if r["kind"] == "val"] == [0, 3, 6]
    bundle = load_rnn(whole)
    assert bundle.config.arch == "char-lstm" and not bundle.model.training


def test_gradient_checkpointing_trains_the_same_model(data_dir, tmp_path):
    common = ["--arch", "char-gru", "--data-dir", str(data_dir), *SMALL, "--max-steps", "3"]
    common += ["--segment", "4", "--eval-every", "100"]
    assert train.main([*common, "--output-dir", str(tmp_path / "a")]) == 0
    assert (
        train.main([*common, "--output-dir", str(tmp_path / "b"), "--gradient-checkpointing"]) == 0
    )
    assert losses(tmp_path / "a") == pytest.approx(losses(tmp_path / "b"), rel=1e-5)


@pytest.fixture(scope="module")
def genre_model(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("genre-model")
    args = ["--arch", "word-lstm", "--data-dir", str(data_dir), "--output-dir", str(out)]
    args += [*SMALL, "--condition", "genre", "--min-count", "2", "--max-steps", "5"]
    assert train.main(args) == 0
    return out


def test_generate_is_seeded_and_stops_at_the_end_of_songs(genre_model, capsys):
    bundle = load_rnn(genre_model)
    a = generate.sample_songs(bundle, 1, "money", 1.0, 3, seed=4, max_length=50, batch_size=2)
    b = generate.sample_songs(bundle, 1, "money", 1.0, 3, seed=4, max_length=50, batch_size=2)
    c = generate.sample_songs(bundle, 1, "money", 1.0, 3, seed=5, max_length=50, batch_size=2)
    assert a == b and a != c and all(s.startswith("money") for s in a)
    assert "<unk>" not in "".join(a)
    # a model that always ends at once gives empty songs after the prime
    with torch.no_grad():
        bundle.model.head.bias.fill_(-1e4)
        bundle.model.head.bias[bundle.vocab.eos] = 1e4
    assert generate.sample_songs(bundle, 0, "la", 1.0, 2, seed=0) == ["la", "la"]
    out_file = genre_model / "songs.txt"
    argv = ["--model", str(genre_model), "--genre", "rap", "--num-songs", "2"]
    assert generate.main([*argv, "--max-length", "20", "--output", str(out_file)]) == 0
    assert out_file.read_text().count("=== song") == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--temperature", "0"], "--temperature must be >= 0.001"),
        (["--num-songs", "0"], "--num-songs must be >= 1"),
        (["--genre", "jazz"], "unknown genre 'jazz'"),
        (["--artist", "X"], "conditioned on genre; pass --genre"),
        ([], "conditioned on genre; pass --genre"),
    ],
)
def test_generate_bad_values_exit_2_with_one_line(genre_model, capsys, argv, message):
    assert run(generate.main, ["--model", str(genre_model), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--bptt", "0"], "--bptt must be >= 1"),
        (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["--resume"], "nothing to resume"),
    ],
)
def test_train_bad_values_exit_2_with_one_line(data_dir, tmp_path, capsys, argv, message):
    base = ["--arch", "char-rnn", "--data-dir", str(data_dir), "--output-dir", str(tmp_path)]
    assert run(train.main, [*base, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_train_refuses_a_missing_data_dir_and_an_existing_run(tmp_path, data_dir, capsys):
    base = ["--arch", "char-rnn", "--output-dir", str(tmp_path / "m")]
    assert run(train.main, [*base, "--data-dir", str(tmp_path / "nope")]) == 2
    assert "no tokenized data" in capsys.readouterr().err
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    assert run(train.main, [*base, "--data-dir", str(data_dir)]) == 2
    assert "did not write (config.json)" in capsys.readouterr().err  # the user's file
    write_marker(tmp_path / "m", "rnn.train", ["config.json"])  # an earlier run of ours
    assert run(train.main, [*base, "--data-dir", str(data_dir)]) == 2
    assert "already holds a run" in capsys.readouterr().err
