"""Atomic writes and small file helpers (lyrics_gpt2.fileio)."""

from __future__ import annotations

import os

import pytest

from lyrics_gpt2.errors import OutputError
from lyrics_gpt2.fileio import (
    atomic_path,
    check_output,
    file_fingerprint,
    intact,
    listing,
    params_digest,
    read_json,
    write_json,
)


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


def test_a_redirected_stdout_is_appended_to_not_replaced(tmp_path):
    # `--json /dev/stdout > log`: /dev/fd/N -> /proc/self/fd/N -> log. Replacing log by rename
    # would orphan the shell's file; opening it with "w" would truncate what is already there.
    log = tmp_path / "log"
    log.write_text("before\n")
    with log.open("a") as f:
        inode = os.fstat(f.fileno()).st_ino
        write_json(f"/dev/fd/{f.fileno()}", {"k": 1})
    assert log.read_text() == 'before\n{\n  "k": 1\n}\n' and log.stat().st_ino == inode


def test_dev_shm_is_a_place_proc_is_not(tmp_path):
    check_output("/dev/shm/lyrics-gpt2-test.json")
    with pytest.raises(OutputError, match="system folder"):
        check_output("/proc/x.json")


def test_listing_and_intact_notice_a_truncated_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.arrow").write_bytes(b"x" * 10)
    (tmp_path / "manifest.json").write_text("{}")
    files = listing(tmp_path)
    assert files == [{"file": "a/f.arrow", "bytes": 10}] and intact(tmp_path, files)
    (tmp_path / "a" / "f.arrow").write_bytes(b"x" * 9)
    assert not intact(tmp_path, files) and not intact(tmp_path, None)
