"""The ownership rule (lyrics_gpt2.fileio.claim_folder), for every command that writes a folder:
pointed at (a) its input's folder, (b) a folder holding a file the user made, (c) a link to such
a folder, it refuses with exit code 2 and one line, or writes only its own files; every file the
user made is byte-identical afterwards.

    .venv/bin/python -m pytest tests/hostile/test_folder_ownership.py -q
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lyrics_gpt2 import train
from lyrics_gpt2.music import generate as music_generate
from lyrics_gpt2.music import train as music_train
from lyrics_gpt2.music.roll import Note, write_midi
from lyrics_gpt2.report import __main__ as report
from lyrics_gpt2.rnn import train as rnn_train
from lyrics_gpt2.rnn.testing import write_tiny_rnn_data
from lyrics_gpt2.testing import exit_code
from pipeline import preprocess
from tests.hostile.conftest import GENIUS_HEADER, genius_rows, one_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass
class World:
    root: Path
    csv: Path  # a lyrics CSV alone in its folder
    data: Path  # a tiny lyrics data folder (chunks, tokenizer, tokenized)
    tunes: Path  # a folder of MIDI files
    music_model: Path  # a folder standing for a music model
    songs: Path  # a JSONL of songs to report on


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("world")
    csv = root / "lyrics" / "in.csv"
    csv.parent.mkdir()
    csv.write_text(GENIUS_HEADER + "\n" + genius_rows(8))
    data = write_tiny_rnn_data(root / "data")
    tunes = root / "tunes"
    tunes.mkdir()
    for k in range(3):
        write_midi([Note(60 + k, 0.0, 1.0), Note(64, 1.0, 1.0)], tunes / f"t{k}.mid")
    model = root / "music-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "music-lstm"}')
    songs = root / "songs" / "songs.jsonl"
    songs.parent.mkdir()
    songs.write_text(json.dumps({"genre": "pop", "lyrics": "love love"}) + "\n")
    return World(root, csv, data, tunes, model, songs)


# Each command: (its main, argv writing into OUT, the input folder whose folder case (a) uses).
Command = tuple[Callable, Callable[[World, Path], list[str]], Callable[[World], Path]]
COMMANDS: dict[str, Command] = {
    "preprocess": (
        preprocess.main,
        lambda w, out: ["--input", str(w.csv), "--output-dir", str(out), "--stages", "chunks",
                        "--quiet", "--workers", "0"],
        lambda w: w.csv.parent,
    ),
    "train": (
        train.main,
        lambda w, out: ["--preset", "tiny", "--data-dir", str(w.data), "--output-dir", str(out),
                        "--max-steps", "1"],
        lambda w: w.data,
    ),
    "rnn.train": (
        rnn_train.main,
        lambda w, out: ["--arch", "char-rnn", "--data-dir", str(w.data), "--output-dir", str(out),
                        "--max-steps", "1"],
        lambda w: w.data,
    ),
    "music.train": (
        music_train.main,
        lambda w, out: ["--data-dir", str(w.tunes), "--output-dir", str(out), "--max-steps", "1",
                        "--cache-dir", str(w.root / "cache")],
        lambda w: w.tunes,
    ),
    "report": (
        report.main,
        lambda w, out: ["--songs", str(w.songs), "--data-dir", str(w.data), "--out", str(out)],
        lambda w: w.data,
    ),
    "music.generate": (
        music_generate.main,
        lambda w, out: ["--model", str(w.music_model), "--output-dir", str(out)],
        lambda w: w.music_model,
    ),
}  # fmt: skip


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links not followed) with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def users_folder(parent: Path) -> Path:
    """A folder the user made: a file, a hidden file and a subfolder with a file."""
    mine = parent / "mine"
    (mine / "keep").mkdir(parents=True)
    (mine / "notes.txt").write_bytes(b"my own notes\x00\xff")
    (mine / ".hidden").write_text("mine too")
    (mine / "keep" / "config.json").write_text('{"mine": true}')
    return mine


@pytest.mark.parametrize("case", ["input_folder", "user_folder", "link_to_user_folder"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_never_touches_a_file_it_did_not_write(world, tmp_path, capsys, name, case):
    main, argv, input_folder = COMMANDS[name]
    if case == "input_folder":
        out = input_folder(world)
        watched = out
    else:
        watched = users_folder(tmp_path)
        out = watched
        if case == "link_to_user_folder":
            out = tmp_path / "link"
            out.symlink_to(watched, target_is_directory=True)
    before = snapshot(watched)
    inputs_before = snapshot(world.root)

    code = exit_code(main, argv(world, out))

    err = capsys.readouterr().err
    after = snapshot(watched)
    assert {k: after.get(k) for k in before} == before  # every user file is byte-identical
    assert snapshot(world.root) == inputs_before or watched.is_relative_to(world.root)
    if code != 0:
        assert code == 2, err
        line = one_line(err)
        assert "did not write" in line or "the input" in line, line
        assert sorted(after) == sorted(before), "a refused command wrote nothing"
    else:
        # Only preprocess may run here: it writes its stage folder beside the user's files.
        assert name == "preprocess"
        new = {k.split("/")[0] for k in set(after) - set(before)}
        assert new == {"chunks"}, new


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_folder_command_names_both_paths_when_its_output_is_its_input(world, capsys, name):
    main, argv, input_folder = COMMANDS[name]
    if name == "preprocess":
        # Its output folders are DIR/chunks, DIR/tokenizer, DIR/tokenized: the input inside one.
        out = world.root / "pre"
        (out / "chunks").mkdir(parents=True)
        csv = out / "chunks" / "in.csv"
        csv.write_bytes(world.csv.read_bytes())
        args = ["--input", str(csv), "--output-dir", str(out), "--stages", "chunks", "--quiet"]
        assert exit_code(main, args) == 2
        one_line(capsys.readouterr().err, str(csv), "holds the input --input")
        assert csv.read_bytes() == world.csv.read_bytes()
        return
    inp = input_folder(world)
    assert exit_code(main, argv(world, inp)) == 2
    line = one_line(capsys.readouterr().err, str(inp), "the input")
    assert "an output may never replace or hold an input" in line
