"""lyrics_gpt2.fileio's ownership rule on its own: claim_folder, the marker, record and clear."""

from __future__ import annotations

import pytest

from lyrics_gpt2.errors import OutputError
from lyrics_gpt2.fileio import MARKER, check_inputs, claim_folder, read_marker


def test_a_new_or_empty_folder_is_claimed_and_marked_only_when_written(tmp_path):
    folder = claim_folder(tmp_path / "new", "train")
    assert not (tmp_path / "new").exists()  # a claim writes nothing
    folder.record("summary.json")
    assert read_marker(tmp_path / "new") == {
        **read_marker(tmp_path / "new"),
        "command": "train",
        "files": ["summary.json"],
    }
    (tmp_path / "empty").mkdir()
    assert claim_folder(tmp_path / "empty", "train").owned == []


def test_an_earlier_run_of_the_same_command_is_claimed_with_what_it_listed(tmp_path):
    claim_folder(tmp_path / "run", "report").record("report.json", "report.md")
    (tmp_path / "run" / "report.json").write_text("{}")
    again = claim_folder(tmp_path / "run", "report")
    assert again.owned == ["report.json", "report.md"]
    assert again.present() == ["report.json"]


def test_another_commands_run_is_refused(tmp_path):
    claim_folder(tmp_path / "run", "rnn.train").record("config.json")
    with pytest.raises(OutputError, match=r"holds a run of rnn\.train, not of music\.train"):
        claim_folder(tmp_path / "run", "music.train")


def test_a_file_the_marker_does_not_list_is_refused_and_named(tmp_path):
    claim_folder(tmp_path / "run", "train").record("config.json")
    for name in ("vocab.json", "merges.txt", "a.txt", "b.txt"):
        (tmp_path / "run" / name).write_text("mine")
    with pytest.raises(OutputError, match=r"did not write \(a.txt, b.txt, merges.txt and 1 more\)"):
        claim_folder(tmp_path / "run", "train")


def test_clear_removes_only_listed_names_and_our_temporary_folders(tmp_path):
    run = tmp_path / "run"
    folder = claim_folder(run, "train")
    folder.record("checkpoints", "config.json")
    (run / "checkpoints" / "step-1").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / ".export.abc").mkdir()
    folder.clear()
    assert sorted(p.name for p in run.iterdir()) == [MARKER]
    assert read_marker(run)["files"] == []


def test_temporary_names_of_our_writers_are_not_the_users(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".summary.json.x1.tmp").mkdir()
    assert claim_folder(run, "train").owned == []


def test_a_link_is_judged_by_the_folder_it_points_at(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "photo.jpg").write_bytes(b"\xff")
    (tmp_path / "link").symlink_to(theirs)
    with pytest.raises(OutputError, match=f"-> {theirs}.*photo.jpg"):
        claim_folder(tmp_path / "link", "report", flag="--out")


def test_an_unreadable_marker_makes_the_folder_the_users(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / MARKER).write_text("{not json")
    (run / "config.json").write_text("{}")
    with pytest.raises(OutputError, match="did not write"):
        claim_folder(run, "train")


@pytest.mark.parametrize(
    "out, how",
    [
        ("m", "is"),
        (".", "holds"),
        ("m/model.safetensors", "is inside"),
        ("m/untuned/x.txt", "is inside"),
    ],
)
def test_an_output_may_not_be_hold_or_replace_a_part_of_an_input(tmp_path, out, how):
    (tmp_path / "m").mkdir()
    with pytest.raises(OutputError, match=f"{how} the input --model"):
        check_inputs([("--output", tmp_path / out)], [("--model", tmp_path / "m")])


def test_a_new_file_beside_an_inputs_files_is_fine(tmp_path):
    (tmp_path / "m").mkdir()
    check_inputs([("--output", tmp_path / "m" / "songs.txt")], [("--model", tmp_path / "m")])
    check_inputs([("--output", tmp_path / "x")], [("--model", "gpt2")])  # a hub id: not on disk


def test_a_folder_output_inside_an_input_may_not_take_an_entry_it_does_not_own(tmp_path):
    data = tmp_path / "data"
    (data / "tokenizer").mkdir(parents=True)
    with pytest.raises(OutputError, match="is inside the input --data-dir"):
        claim_folder(data / "tokenizer", "train", inputs=[("--data-dir", data)])
    claim_folder(data / "model2", "train", inputs=[("--data-dir", data)]).record("x")
    claim_folder(data / "model2", "train", inputs=[("--data-dir", data)])  # its own run again
