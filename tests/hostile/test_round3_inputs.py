"""Tracebacks, wrong results and impossible flags of the third reliability sweep, through the real
commands: each gives exit code 2 and one line naming the problem and the valid range (or, where
the file is ours and derived, the damage is said and the run goes on).

    .venv/bin/python -m pytest tests/hostile/test_round3_inputs.py -q
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lyrics_gpt2 import compare, generate, train
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.inference.params import MIN_TEMPERATURE, Sampling
from lyrics_gpt2.music import train as music_train
from lyrics_gpt2.report import __main__ as report
from lyrics_gpt2.rnn import generate as rnn_generate
from lyrics_gpt2.rnn import train as rnn_train
from lyrics_gpt2.rnn.testing import write_tiny_rnn_data
from lyrics_gpt2.testing import exit_code
from tests.hostile.conftest import one_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RNN_SMALL = ["--embed-dim", "8", "--hidden-size", "16", "--layers", "1", "--batch-size", "4"]
GPT_SMALL = ["--preset", "tiny", "--model-config", "n_layer=1,n_embd=32,n_head=2"]


@pytest.fixture(scope="module")
def rnn_data(tmp_path_factory) -> Path:
    return write_tiny_rnn_data(tmp_path_factory.mktemp("rnn-data"), train_per_genre=12)


@pytest.fixture(scope="module")
def rnn_run(rnn_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rnn") / "run"
    argv = ["--arch", "char-rnn", "--data-dir", str(rnn_data), "--output-dir", str(out)]
    argv += [*RNN_SMALL, "--bptt", "16", "--max-steps", "2", "--checkpoint-every", "1"]
    assert exit_code(rnn_train.main, argv) == 0
    return out


# ------------------------------------------------------------------ temperatures (item 9)
def test_a_temperature_too_small_to_divide_by_is_refused_for_the_server_too():
    with pytest.raises(UsageError, match=f"--temperature must be >= {MIN_TEMPERATURE}"):
        Sampling(temperature=1e-300).check()
    Sampling(temperature=MIN_TEMPERATURE).check()  # the bound itself is fine


@pytest.mark.parametrize("value", ["1e-300", "0", "nan", "-1"])
def test_generate_refuses_a_temperature_below_the_bound(tiny_trained, capsys, value):
    _, model = tiny_trained
    assert exit_code(generate.main, ["--model", str(model), "--temperature", value]) == 2
    one_line(capsys.readouterr().err, f"--temperature must be >= {MIN_TEMPERATURE}")


@pytest.mark.parametrize("value", ["1e-300", "nan"])
def test_rnn_generate_refuses_a_temperature_below_the_bound(rnn_run, capsys, value):
    assert exit_code(rnn_generate.main, ["--model", str(rnn_run), "--temperature", value]) == 2
    one_line(capsys.readouterr().err, f"--temperature must be >= {MIN_TEMPERATURE}")


# ------------------------------------------------------------ damaged RNN folders (item 8)
def damage(run: Path, tmp_path: Path, how: str) -> Path:
    folder = tmp_path / "rnn"
    shutil.copytree(run, folder)
    if how == "no vocab.json":
        (folder / "vocab.json").unlink()
    else:
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:40])
    return folder


@pytest.mark.parametrize("how", ["no vocab.json", "truncated weights"])
def test_a_damaged_rnn_folder_is_one_line_in_generate_and_compare(
    rnn_run, rnn_data, tmp_path, capsys, how
):
    folder = damage(rnn_run, tmp_path, how)
    assert exit_code(rnn_generate.main, ["--model", str(folder)]) == 2
    one_line(capsys.readouterr().err, "cannot load the RNN model", str(folder))
    argv = ["--data-dir", str(rnn_data), "--models", str(folder), "--bootstrap", "0"]
    assert exit_code(compare.main, argv) == 2
    one_line(capsys.readouterr().err, "cannot load the RNN model")


def test_resume_from_a_truncated_state_is_one_line(rnn_run, rnn_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(rnn_run, run)
    state = run / "checkpoint" / "state.pt"
    state.write_bytes(state.read_bytes()[:100])
    argv = ["--arch", "char-rnn", "--data-dir", str(rnn_data), "--output-dir", str(run)]
    argv += [*RNN_SMALL, "--bptt", "16", "--max-steps", "3", "--resume"]
    assert exit_code(rnn_train.main, argv) == 2
    one_line(capsys.readouterr().err, "state.pt is damaged", "--overwrite")


def test_resume_drops_a_damaged_metrics_line_and_goes_on(rnn_run, rnn_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(rnn_run, run)
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"kind": "train", "ste\n')  # cut by a kill
    argv = ["--arch", "char-rnn", "--data-dir", str(rnn_data), "--output-dir", str(run)]
    argv += [*RNN_SMALL, "--bptt", "16", "--max-steps", "3", "--resume"]
    assert exit_code(rnn_train.main, argv) == 0
    assert "is damaged: dropped" in capsys.readouterr().err
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(ln)["step"] <= 3 for ln in lines)


# ------------------------------------------------------------- impossible flags (item 13)
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--arch", "char-rnn", "--max-minutes", "nan"], "--max-minutes must be a finite number > 0"),
        (["--arch", "char-rnn", "--max-minutes", "inf"], "--max-minutes must be a finite number > 0"),
        (["--arch", "char-rnn", "--segment", "0"], "--segment must be >= 1"),
        (["--arch", "char-rnn", "--condition", "genre", "--artists", "5"],
         "--artists applies to --condition artist only"),
        (["--arch", "char-rnn", "--min-count", "2"], "--min-count applies to --arch word-lstm only"),
        (["--arch", "word-lstm", "--min-count", "1000000000"], "keeps no word piece"),
    ],
)  # fmt: skip
def test_rnn_train_refuses_impossible_flags(rnn_data, tmp_path, capsys, argv, message):
    full = [*argv, "--data-dir", str(rnn_data), "--output-dir", str(tmp_path / "o"), *RNN_SMALL]
    assert exit_code(rnn_train.main, [*full, "--max-steps", "1"]) == 2
    one_line(capsys.readouterr().err, message)
    assert not (tmp_path / "o" / "checkpoint").exists()


def test_music_train_refuses_a_nan_time_budget(tmp_path, capsys):
    argv = ["--output-dir", str(tmp_path / "o"), "--max-minutes", "nan"]
    assert exit_code(music_train.main, argv) == 2
    one_line(capsys.readouterr().err, "--max-minutes must be a finite number > 0 (got nan)")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lora", "100000"], "--lora 100000 is above the model's width 32; use 1..32"),
        (["--lora-alpha", "16"], "--lora-alpha needs --lora RANK"),
        (["--model", "./no/such/model"], "--model ./no/such/model: no such model folder"),
    ],
)
def test_train_refuses_impossible_model_flags(tiny_trained, tmp_path, capsys, argv, message):
    data, _ = tiny_trained
    full = [*GPT_SMALL, "--data-dir", str(data), "--output-dir", str(tmp_path / "o"), *argv]
    assert exit_code(train.main, [*full, "--max-steps", "1"]) == 2
    one_line(capsys.readouterr().err, message)


# -------------------------------------------------------------- report --songs (items 8, 12)
def song(**fields) -> str:
    return json.dumps({"genre": "pop", "lyrics": "love love tonight", **fields})


@pytest.mark.parametrize(
    "content, message",
    [
        (song().encode("utf-16"), "is not UTF-8 text"),
        ('{"genre": "pop", "lyrics": "caf\u00e9"}\n'.encode("latin-1"), "is not UTF-8 text"),
        (song(genre="jazz").encode(), "genre must be one of pop, rap (got 'jazz')"),
        (song(genre=None).encode(), "genre must be one of pop, rap (got None)"),
        (song(lyrics=12345).encode(), "lyrics must be a string (got int)"),
        (song(lyrics=["a", "b"]).encode(), "lyrics must be a string (got list)"),
        (song(ended="maybe").encode(), "ended must be true, false or absent (got 'maybe')"),
    ],
)
def test_report_refuses_songs_it_cannot_score_as_given(
    tiny_trained, tmp_path, capsys, content, message
):
    data, _ = tiny_trained
    songs = tmp_path / "songs.jsonl"
    songs.write_bytes(content)
    argv = ["--songs", str(songs), "--data-dir", str(data), "--out", str(tmp_path / "r")]
    assert exit_code(report.main, argv) == 2
    one_line(capsys.readouterr().err, message)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("kind", ["a file", "a system folder"])
def test_report_refuses_its_out_before_training_the_classifier(
    tiny_trained, tmp_path, capsys, kind
):
    data, _ = tiny_trained
    songs = tmp_path / "songs.jsonl"
    songs.write_text(song() + "\n")
    out = tmp_path / "out"
    if kind == "a file":
        out.write_text("mine")
    else:
        out = Path("/proc/lyrics-report")  # nothing can be created there, even by root
    argv = ["--songs", str(songs), "--data-dir", str(data), "--out", str(out)]
    assert exit_code(report.main, argv) == 2
    err = capsys.readouterr().err
    one_line(err, f"--out {out}")
    assert "classifier" not in err
