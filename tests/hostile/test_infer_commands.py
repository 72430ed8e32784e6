"""Hostile input to generate and perplexity (issue 10, items 7, 8, 11, 12, 13, 15, 17), through the
real ``main`` of each command on the session's tiny trained model.

    .venv/bin/python -m pytest tests/hostile/test_infer_commands.py -q

Every case asserts exit code 2, a single stderr line naming the problem, and what is on disk.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from lyrics_gpt2 import generate, perplexity
from lyrics_gpt2.testing import exit_code


def one_line(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln]
    assert len(err) == 1, err
    return err[0]


def _gen(model, *args):
    return ["--model", str(model), "--num-songs", "1", "--max-length", "8", *args]


# ------------------------------------------------------------------- prompts (item 7)
@pytest.mark.parametrize("marker", ["[Genre: Rap]", "[Genre: Pop]", "<|endoftext|>"])
def test_prompt_with_control_token_text_is_refused(tiny_trained, capsys, marker):
    _, model = tiny_trained
    argv = _gen(model, "--genre", "pop", "--prompt", f"I walked {marker} along")
    assert exit_code(generate.main, argv) == 2
    line = one_line(capsys)
    assert "control-token" in line and marker in line


def test_prompt_with_bracket_text_that_is_no_token_stays_text(tiny_trained, capsys):
    """[Artist: X] is no token of this model: it is plain text and generation goes ahead."""
    _, model = tiny_trained
    argv = _gen(model, "--genre", "pop", "--prompt", "[Artist: Nobody] la", "--format", "json")
    assert exit_code(generate.main, argv) == 0
    songs = json.loads(capsys.readouterr().out)["songs"]
    assert songs and songs[0]["genre"] == "pop"


# ------------------------------------------------------------ flags (items 8 and 13)
GEN_FLAGS = {
    "max-length 0": (["--max-length", "0"], "--max-length must be >= 1"),
    "max-length -3": (["--max-length", "-3"], "--max-length must be >= 1"),
    "device bogus": (["--device", "bogus"], "--device bogus"),
    "device cuda:99": (["--device", "cuda:99"], "--device cuda:99"),
}
if not torch.cuda.is_available():
    GEN_FLAGS["device cuda without GPU"] = (["--device", "cuda"], "no cuda device")


@pytest.mark.parametrize("case", list(GEN_FLAGS))
def test_generate_bad_flag(tiny_trained, tmp_path, capsys, case):
    _, model = tiny_trained
    extra, named = GEN_FLAGS[case]
    out = tmp_path / "songs.txt"
    argv = ["--model", str(model), "--num-songs", "1", "--output", str(out), *extra]
    assert exit_code(generate.main, argv) == 2
    assert named in one_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize("device", ["bogus", *([] if torch.cuda.is_available() else ["cuda"])])
def test_perplexity_bad_device(tiny_trained, capsys, device):
    data, model = tiny_trained
    argv = ["--model", str(model), "--data-dir", str(data), "--device", device]
    assert exit_code(perplexity.main, argv) == 2
    assert f"--device {device}" in one_line(capsys)


# --------------------------------------------------- outputs that are folders (item 11)
def test_generate_output_is_a_folder(tiny_trained, tmp_path, capsys):
    _, model = tiny_trained
    folder = tmp_path / "songs"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    assert exit_code(generate.main, _gen(model, "--output", str(folder))) == 2
    assert "is a folder" in one_line(capsys)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_perplexity_json_is_a_folder(tiny_trained, tmp_path, capsys):
    data, model = tiny_trained
    folder = tmp_path / "report"
    folder.mkdir()
    argv = ["--model", str(model), "--data-dir", str(data), "--json", str(folder), "--base", "none"]
    assert exit_code(perplexity.main, argv) == 2
    assert "is a folder" in one_line(capsys)
    assert list(folder.iterdir()) == []


# ------------------------------------------------------- damaged weights (item 12)
@pytest.fixture
def damaged_copy(tiny_trained, tmp_path):
    """A copy of the tiny model (with untuned/) whose weights file is cut in half."""

    def make(which: str):
        _, model = tiny_trained
        copy = tmp_path / "model"
        shutil.copytree(model, copy)
        weights = copy / which / "model.safetensors"
        blob = weights.read_bytes()
        weights.write_bytes(blob[: len(blob) // 2])
        return copy, weights

    return make


def test_generate_truncated_weights(damaged_copy, capsys):
    copy, weights = damaged_copy("")
    assert exit_code(generate.main, _gen(copy)) == 2
    line = one_line(capsys)
    assert str(weights) in line and "truncated" in line


def test_perplexity_truncated_model(damaged_copy, tiny_trained, capsys):
    data, _ = tiny_trained
    copy, weights = damaged_copy("")
    argv = ["--model", str(copy), "--data-dir", str(data), "--base", "none", "--bootstrap", "0"]
    assert exit_code(perplexity.main, argv) == 2
    assert str(weights) in one_line(capsys)


def test_perplexity_truncated_base(damaged_copy, tiny_trained, capsys):
    data, _ = tiny_trained
    copy, weights = damaged_copy("untuned")
    argv = ["--model", str(copy), "--data-dir", str(data), "--base", str(copy / "untuned")]
    assert exit_code(perplexity.main, [*argv, "--bootstrap", "0", "--no-swap"]) == 2
    assert str(weights) in one_line(capsys)


# ----------------------------------------------------- empty validation split (item 15)
def test_perplexity_empty_validation_split(tiny_trained, tmp_path, capsys):
    from datasets import load_from_disk

    data, model = tiny_trained
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    val = copy / "tokenized" / "validation"
    load_from_disk(str(val)).select([]).save_to_disk(str(tmp_path / "empty"))
    shutil.rmtree(val)
    shutil.move(tmp_path / "empty", val)
    argv = ["--model", str(model), "--data-dir", str(copy), "--base", "none"]
    assert exit_code(perplexity.main, argv) == 2
    line = one_line(capsys)
    assert "validation" in line and "no songs" in line


# ------------------------------------------------ base model recorded portably (item 17)
def test_moved_model_folder_still_finds_its_base(tiny_trained, tmp_path, capsys):
    data, model = tiny_trained
    summary = json.loads((model / "summary.json").read_text())
    assert summary["base_model"] == "untuned"  # relative to the model folder, not absolute
    moved = tmp_path / "elsewhere" / "model"
    shutil.copytree(model, moved)
    argv = ["--model", str(moved), "--data-dir", str(data), "--bootstrap", "0", "--no-swap"]
    assert exit_code(perplexity.main, argv) == 0
    assert "untuned" in capsys.readouterr().out


def test_other_model_at_the_base_path_is_noticed(tiny_trained, tmp_path, capsys):
    data, model = tiny_trained
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    shutil.rmtree(copy / "untuned")
    shutil.copytree(model, copy / "untuned", ignore=shutil.ignore_patterns("untuned"))
    argv = ["--model", str(copy), "--data-dir", str(data), "--bootstrap", "0", "--no-swap"]
    assert exit_code(perplexity.main, argv) == 2
    line = one_line(capsys)
    assert "not the one" in line and "--base" in line
