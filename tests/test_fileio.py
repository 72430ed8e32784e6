"""Atomic writes and small file helpers (lyrics_gpt2.fileio)."""

from __future__ import annotations

import pytest

from lyrics_gpt2.fileio import atomic_path, file_fingerprint, params_digest, read_json, write_json


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert dest.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with atomic_path(dest) as tmp:
        tmp.write_text("new")
    assert dest.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_folder_replaces_the_old_one(tmp_path):
    dest = tmp_path / "folder"
    for text in ("one", "two"):
        with atomic_path(dest, is_dir=True) as tmp:
            tmp.mkdir(exist_ok=True)
            (tmp / "f").write_text(text)
    assert (dest / "f").read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_json_round_trip_and_missing_file(tmp_path):
    write_json(tmp_path / "a" / "x.json", {"k": [1, 2]})
    assert read_json(tmp_path / "a" / "x.json") == {"k": [1, 2]}
    assert read_json(tmp_path / "missing.json") is None


def test_fingerprints_change_with_content_and_params(tmp_path):
    f = tmp_path / "data.bin"
    f.write_bytes(b"abc")
    first = file_fingerprint(f)
    f.write_bytes(b"abd")
    assert file_fingerprint(f) != first
    assert params_digest({"a": 1, "b": 2}) == params_digest({"b": 2, "a": 1})
    assert params_digest({"a": 1}) != params_digest({"a": 2})
