"""Songs take the forms of the songs the model learned from: training writes ``forms.json`` (the
section order of its training songs, per genre) and ``python -m lyrics_gpt2.generate`` draws each
song's form from it when no ``--form`` is given (``--form auto``); ``--form free`` leaves the form
to the model (tiny models and datasets from lyrics_gpt2.testing, the commands' main())."""

from __future__ import annotations

import json
import shutil

import pytest

from lyrics_gpt2 import generate
from lyrics_gpt2.cli import run
from lyrics_gpt2.songcraft.forms import FORMS_FILE, load_forms
from lyrics_gpt2.testing import train_tiny_model, write_tiny_dataset

TINY = ["--preset", "tiny", "--model-config", "n_layer=1,n_embd=16,n_head=2", "--max-steps", "1"]
TINY += ["--batch-size", "8", "--eval-max-songs", "8"]


@pytest.fixture(scope="module")
def sectioned(tmp_path_factory):
    """Tiny verse-chorus-verse-chorus data with section tokens and a model trained on it
    (without forms.json: each test writes the table it needs)."""
    root = tmp_path_factory.mktemp("forms")
    data = write_tiny_dataset(root / "data", sections=True)
    return data, train_tiny_model(data, root / "model", steps=40)


def test_training_writes_the_forms_of_its_training_songs_joining_a_long_songs_pieces(tmp_path):
    from datasets import load_from_disk

    from lyrics_gpt2.train import main

    # Songs cut into pieces of 5 tokens: a song's section tokens lie in several rows.
    data = write_tiny_dataset(tmp_path / "data", sections=True, piece_tokens=5)
    out = tmp_path / "model"
    assert run(main, [*TINY, "--data-dir", str(data), "--output-dir", str(out)]) == 0
    train = load_from_disk(str(data / "tokenized"))["train"]
    assert len(set(train["id"])) < len(train)  # the pieces really are several rows per song
    genres = json.loads((out / FORMS_FILE).read_text())["genres"]
    for genre in set(train["genre"]):
        songs = len({i for i, g in zip(train["id"], train["genre"], strict=True) if g == genre})
        assert genres[genre] == {"songs": songs, "coverage": 1.0, "forms": [["vcvc", songs]]}
    marker = json.loads((out / ".lyrics-gpt2.json").read_text())
    assert FORMS_FILE in json.dumps(marker)  # the run owns it: --overwrite may remove it


def test_training_on_data_without_section_tokens_writes_no_forms(tmp_path):
    from lyrics_gpt2.train import main

    data = write_tiny_dataset(tmp_path / "data")
    out = tmp_path / "model"
    assert run(main, [*TINY, "--data-dir", str(data), "--output-dir", str(out)]) == 0
    assert (out / "config.json").is_file() and not (out / FORMS_FILE).exists()


def _with_forms(tmp_path, model, forms: dict):
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    (copy / FORMS_FILE).write_text(json.dumps({"genres": forms}))
    return copy


def _songs(capsys, model, *flags: str) -> list[dict]:
    argv = ["--model", str(model), "--format", "jsonl", "--genre", "pop", "--seed", "5", *flags]
    assert run(generate.main, argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_each_song_follows_a_form_drawn_from_its_genres_table(sectioned, tmp_path, capsys):
    table = {"pop": {"songs": 40, "forms": [["vcvc", 10], ["cvvc", 30]]}}
    model = _with_forms(tmp_path, sectioned[1], table)
    songs = _songs(capsys, model, "--num-songs", "16")
    drawn = [tuple(s["drawn_form"]) for s in songs]
    assert set(drawn) == {
        ("verse", "chorus", "verse", "chorus"),
        ("chorus", "verse", "verse", "chorus"),
    }
    for song in songs:
        kinds = [s["kind"] for s in song["sections"]]
        assert kinds == song["drawn_form"] == song["controls"]["form"]
        choruses = [s["text"] for s in song["sections"] if s["kind"] == "chorus"]
        assert len(set(choruses)) == 1  # the chorus that comes back is the same lines
    # The draw is the seed's: the same command gives the same forms, another seed others.
    assert [tuple(s["drawn_form"]) for s in _songs(capsys, model, "--num-songs", "16")] == drawn
    again = [
        tuple(s["drawn_form"]) for s in _songs(capsys, model, "--num-songs", "16", "--seed", "6")
    ]
    assert again != drawn


def test_free_and_a_given_form_ignore_the_table(sectioned, tmp_path, capsys):
    table = {"pop": {"songs": 40, "forms": [["cvvc", 1]]}}
    model = _with_forms(tmp_path, sectioned[1], table)
    free = _songs(capsys, model, "--num-songs", "4", "--form", "free")
    assert all("drawn_form" not in s for s in free)
    # --form free writes what the same model without a table writes.
    assert [s["text"] for s in free] == [
        s["text"] for s in _songs(capsys, sectioned[1], "--num-songs", "4")
    ]
    given = _songs(capsys, model, "--num-songs", "3", "--form", "verse chorus")
    assert all([s["kind"] for s in g["sections"]] == ["verse", "chorus"] for g in given)
    assert all("drawn_form" not in s for s in given)


def test_a_genre_with_too_few_songs_or_a_damaged_table_is_not_drawn_from(tmp_path):
    (tmp_path / FORMS_FILE).write_text(
        json.dumps({"genres": {"pop": {"songs": 5, "forms": [["vc", 5]]},
                               "rap": {"songs": 50, "forms": [["vc", 50]]}}})
    )  # fmt: skip
    assert set(load_forms(tmp_path)) == {"rap"}
    (tmp_path / FORMS_FILE).write_text("{not json")
    assert load_forms(tmp_path) == {}
    assert load_forms(tmp_path / "absent") == {}


def test_songs_that_follow_a_form_default_to_no_penalty_and_room_for_a_whole_song(
    sectioned, tmp_path, capsys
):
    model = _with_forms(tmp_path, sectioned[1], {"pop": {"songs": 40, "forms": [["vc", 1]]}})

    def settings(*flags: str) -> dict:
        argv = ["--model", str(model), "--format", "json", "--genre", "pop", "--num-songs", "1"]
        assert run(generate.main, [*argv, *flags]) == 0
        return json.loads(capsys.readouterr().out)["settings"]

    drawn, free = settings(), settings("--form", "free")
    assert (drawn["repetition_penalty"], drawn["max_length"]) == (1.0, 1024)
    assert drawn["forms"].endswith(FORMS_FILE)
    # A free song stops at 256 new tokens, or where the model's context does (this one's 64).
    room = json.loads((model / "config.json").read_text())["n_positions"] - 1
    assert (free["repetition_penalty"], free["max_length"]) == (1.1, min(256, room))
    assert "forms" not in free
    # What the user asks for wins either way.
    asked = settings("--repetition-penalty", "1.3", "--max-length", "50")
    assert (asked["repetition_penalty"], asked["max_length"]) == (1.3, 50)
