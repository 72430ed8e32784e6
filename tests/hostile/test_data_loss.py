"""The data-loss cases of the third reliability sweep, each replayed through the real command:
preprocess over the user's stage folders, training over a model or the user's folder, the RNN and
music trainers over the user's files, an output that would replace an input. Each must refuse with
exit code 2 and one line (or write only its own files), and leave every user file as it was.

    .venv/bin/python -m pytest tests/hostile/test_data_loss.py -q
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lyrics_gpt2 import generate, train
from lyrics_gpt2.fileio import MARKER, read_marker
from lyrics_gpt2.music import generate as music_generate
from lyrics_gpt2.music import train as music_train
from lyrics_gpt2.music.roll import Note, write_midi
from lyrics_gpt2.rnn import train as rnn_train
from lyrics_gpt2.testing import exit_code
from tests.hostile.conftest import GENIUS_HEADER, genius_rows, one_line, preprocess
from tests.hostile.conftest import train_argv as hostile_train_argv

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def csv(tmp_path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(GENIUS_HEADER + "\n" + genius_rows(8))
    return path


# ------------------------------------------------------------------- 1. preprocess
def test_preprocess_keeps_the_input_csv_inside_its_own_chunks_folder(tmp_path, csv, capsys):
    x = tmp_path / "x"
    (x / "chunks").mkdir(parents=True)
    inside = x / "chunks" / "in.csv"
    shutil.copy(csv, inside)
    assert preprocess(inside, x) == 2
    one_line(capsys.readouterr().err, f"--input {inside}", "holds the input")
    assert inside.read_bytes() == csv.read_bytes()


@pytest.mark.parametrize("stage", ["chunks", "tokenizer", "tokenized"])
def test_preprocess_refuses_a_stage_folder_holding_the_users_file(tmp_path, csv, capsys, stage):
    x = tmp_path / "x"
    (x / stage).mkdir(parents=True)
    (x / stage / "mine.txt").write_text("keep me")
    assert preprocess(csv, x, "--stages", "chunks", "tokenize", "--tokenizer", "bpe:300") == 2
    one_line(capsys.readouterr().err, f"{x / stage}", "did not write", "mine.txt")
    assert (x / stage / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in x.iterdir()) == [stage]  # no stage ran


def test_preprocess_rerun_refuses_a_file_the_user_added_to_its_chunks(tmp_path, csv, capsys):
    x = tmp_path / "x"
    assert preprocess(csv, x) == 0
    assert read_marker(x / "chunks")["command"] == "preprocess"
    before = files(x / "chunks")
    (x / "chunks" / "notes.txt").write_text("mine")
    assert preprocess(csv, x, "--force") == 2
    one_line(capsys.readouterr().err, "notes.txt", "did not write")
    assert files(x / "chunks") == {**before, "notes.txt": b"mine"}
    (x / "chunks" / "notes.txt").unlink()
    assert preprocess(csv, x, "--force") == 0  # its own earlier run: replaced


def test_preprocess_through_a_linked_chunks_folder_keeps_the_linked_files(tmp_path, csv, capsys):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "photo.jpg").write_bytes(b"\xff\xd8 not a chunk")
    x = tmp_path / "x"
    x.mkdir()
    (x / "chunks").symlink_to(theirs, target_is_directory=True)
    assert preprocess(csv, x) == 2
    one_line(capsys.readouterr().err, "photo.jpg", str(theirs))
    assert files(theirs) == {"photo.jpg": b"\xff\xd8 not a chunk"}


def test_preprocess_adopts_its_stage_folder_written_before_markers(tmp_path, csv):
    x = tmp_path / "x"
    assert preprocess(csv, x) == 0
    (x / "chunks" / MARKER).unlink()  # as an earlier version left it
    assert preprocess(csv, x, "--force") == 0
    assert read_marker(x / "chunks")["command"] == "preprocess"


# ------------------------------------------------------------------- 2. training
def train_argv(data: Path, out: Path, *extra: str) -> list[str]:
    return hostile_train_argv(data, out, *extra, steps=2)


@pytest.fixture(scope="module")
def finished(tiny_trained, tmp_path_factory) -> Path:
    data, _ = tiny_trained
    out = tmp_path_factory.mktemp("finished") / "run"
    assert exit_code(train.main, train_argv(data, out)) == 0
    return out


def test_train_from_a_model_into_the_same_folder_is_refused(tiny_trained, tmp_path, capsys):
    data, model = tiny_trained
    m = tmp_path / "m"
    shutil.copytree(model, m)
    before = files(m)
    assert exit_code(train.main, train_argv(data, m, "--model", str(m))) == 2
    one_line(capsys.readouterr().err, f"--output-dir {m} is the input --model {m}")
    assert files(m) == before


def test_train_into_the_datas_tokenizer_is_refused(tiny_trained, tmp_path, capsys):
    data, _ = tiny_trained
    before = files(data)
    out = data / "tokenizer"
    assert exit_code(train.main, train_argv(data, out)) == 2
    one_line(capsys.readouterr().err, str(out), "is inside the input --data-dir")
    assert files(data) == before


def test_a_fresh_run_into_a_finished_run_needs_overwrite(finished, tiny_trained, tmp_path, capsys):
    data, _ = tiny_trained
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    shutil.rmtree(run / "checkpoints", ignore_errors=True)
    before = files(run)
    assert exit_code(train.main, train_argv(data, run)) == 2
    one_line(capsys.readouterr().err, "finished training run", "--overwrite")
    assert files(run) == before
    assert exit_code(train.main, train_argv(data, run, "--overwrite")) == 0


def test_overwrite_refuses_a_run_folder_holding_files_it_did_not_write(
    finished, tiny_trained, tmp_path, capsys
):
    data, _ = tiny_trained
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "merges.txt").write_text("the user's merges")  # not listed by this run's marker
    (run / "untuned").mkdir(exist_ok=True)
    before = files(run)
    assert exit_code(train.main, train_argv(data, run, "--overwrite")) == 2
    one_line(capsys.readouterr().err, "merges.txt", "did not write")
    assert files(run) == before


def test_train_refuses_the_users_folder_with_checkpoints_and_config(tiny_trained, tmp_path, capsys):
    data, _ = tiny_trained
    mine = tmp_path / "mine"
    (mine / "checkpoints" / "step-00000001").mkdir(parents=True)
    (mine / "checkpoints" / "step-00000001" / "weights.bin").write_bytes(b"\x00" * 64)
    (mine / "config.json").write_text('{"mine": 1}')
    before = files(mine)
    for extra in ((), ("--overwrite",), ("--resume", "latest")):
        assert exit_code(train.main, train_argv(data, mine, *extra)) == 2
        one_line(capsys.readouterr().err, "did not write", "checkpoints")
        assert files(mine) == before


# ------------------------------------------------------------------- 3. RNN and music
@pytest.fixture(scope="module")
def tunes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tunes")
    for k in range(6):
        write_midi([Note(60 + k, 0.0, 1.0), Note(62, 1.0, 1.0), Note(64, 2.0, 2.0)],
                   folder / f"t{k}.mid")  # fmt: skip
    return folder


@pytest.mark.parametrize(
    "names, extra",
    [
        (("checkpoint/state.pt", "checkpoint/notes.txt"), ("--overwrite",)),
        (("summary.json", "metrics.jsonl"), ()),
    ],
)
def test_music_train_keeps_the_users_files(tunes, tmp_path, capsys, names, extra):
    home = tmp_path / "home"
    for name in names:
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(f"the user's {name}")
    before = files(home)
    argv = ["--data-dir", str(tunes), "--output-dir", str(home), "--cache-dir", str(tmp_path / "c")]
    assert exit_code(music_train.main, [*argv, "--max-steps", "1", *extra]) == 2
    one_line(capsys.readouterr().err, "did not write", names[0].split("/")[0])
    assert files(home) == before


def test_rnn_train_keeps_the_users_files_even_with_overwrite(tiny_trained, tmp_path, capsys):
    data, _ = tiny_trained
    home = tmp_path / "home"
    (home / "checkpoint").mkdir(parents=True)
    (home / "checkpoint" / "state.pt").write_bytes(b"mine")
    (home / "vocab.json").write_text("{}")
    before = files(home)
    argv = ["--arch", "char-rnn", "--data-dir", str(data), "--output-dir", str(home)]
    assert exit_code(rnn_train.main, [*argv, "--overwrite", "--max-steps", "1"]) == 2
    one_line(capsys.readouterr().err, "did not write")
    assert files(home) == before


# ------------------------------------------------------------------- 4. an output over an input
def test_generate_never_writes_over_the_models_weights(tiny_trained, tmp_path, capsys):
    _, model = tiny_trained
    m = tmp_path / "m"
    shutil.copytree(model, m)
    before = files(m)
    weights = m / "model.safetensors"
    assert exit_code(generate.main, ["--model", str(m), "--output", str(weights)]) == 2
    one_line(capsys.readouterr().err, f"--output {weights} is inside the input --model {m}")
    assert files(m) == before


def test_music_generate_never_writes_over_its_prime(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    prime = out / "tune-01.mid"
    write_midi([Note(60, 0.0, 1.0)], prime)
    before = prime.read_bytes()
    model = tmp_path / "model"
    model.mkdir()
    argv = ["--model", str(model), "--prime-tune", str(prime), "--output-dir", str(out)]
    assert exit_code(music_generate.main, argv) == 2
    one_line(capsys.readouterr().err, f"--output-dir {out} holds the input --prime-tune {prime}")
    assert prime.read_bytes() == before


def test_the_marker_names_the_command_and_only_what_it_wrote(finished):
    marker = json.loads((finished / MARKER).read_text())
    assert marker["command"] == "train"
    on_disk = {p.name for p in finished.iterdir() if p.name != MARKER}
    assert on_disk <= set(marker["files"])
    assert "merges.txt" not in marker["files"] or (finished / "merges.txt").exists()


def test_a_training_run_from_before_markers_is_adopted(finished, tiny_trained, tmp_path):
    data, _ = tiny_trained
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / MARKER).unlink()  # as an earlier version left it
    assert exit_code(train.main, train_argv(data, run, "--overwrite")) == 0
    assert read_marker(run)["command"] == "train"
