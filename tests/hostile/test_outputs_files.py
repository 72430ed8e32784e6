"""Where a command writes: devices, FIFOs and symlinks as outputs, folders given for files, system
folders, a full disk. Each case runs the real command (in this process). Issue 10 items 1, 11.

The rules (lyrics_gpt2/fileio.py): a regular file or a new path is written under a temporary name
and renamed; a symlink's target is replaced that way and the link kept; a device or FIFO (and
``/dev/stdout``) is written through, never replaced; a folder given for a file, a file given for
a folder, ``/proc``, a read-only place: one line before any work."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading

import pytest

from lyrics_gpt2 import generate, perplexity
from lyrics_gpt2.cli import run
from lyrics_gpt2.testing import exit_code
from pipeline.preprocess import main as preprocess_main
from tests.conftest import FIXTURES
from tests.hostile.conftest import one_line

AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
GEN = ["--num-songs", "1", "--max-length", "8", "--format", "json"]


def make_output(kind: str, tmp_path):
    """(the path to pass, a check that the thing is still what it was)."""
    if kind == "dev-null":
        return "/dev/null", lambda: stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if kind == "char-device":
        node = tmp_path / "null"
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        return node, lambda: stat.S_ISCHR(os.lstat(node).st_mode)
    if kind == "symlink-to-device":
        node, link = tmp_path / "null", tmp_path / "link"
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        link.symlink_to(node)
        return link, lambda: link.is_symlink() and stat.S_ISCHR(os.lstat(node).st_mode)
    if kind == "symlink-to-file":
        target, link = tmp_path / "real.json", tmp_path / "link.json"
        target.write_text("old")
        link.symlink_to(target)
        return link, lambda: link.is_symlink() and json.loads(target.read_text())
    raise ValueError(kind)


KINDS = [
    "dev-null",
    pytest.param("char-device", marks=AS_ROOT),
    pytest.param("symlink-to-device", marks=AS_ROOT),
    "symlink-to-file",
]


@pytest.mark.parametrize("kind", KINDS)
def test_generate_output_onto_a_device_or_link_keeps_it(tiny_trained, tmp_path, kind):
    dest, still_there = make_output(kind, tmp_path)
    argv = ["--model", str(tiny_trained[1]), *GEN, "--output", str(dest)]
    assert exit_code(generate.main, argv) == 0
    assert still_there()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("kind", KINDS)
def test_perplexity_json_onto_a_device_or_link_keeps_it(tiny_trained, tmp_path, kind):
    data_dir, model_dir = tiny_trained
    dest, still_there = make_output(kind, tmp_path)
    argv = ["--model", str(model_dir), "--data-dir", str(data_dir), "--base", "none"]
    assert exit_code(perplexity.main, [*argv, "--json", str(dest)]) == 0
    assert still_there()


def test_generate_into_a_fifo_writes_through(tiny_trained, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    argv = ["--model", str(tiny_trained[1]), *GEN, "--output", str(fifo)]
    assert exit_code(generate.main, argv) == 0
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and json.loads(got[0])["songs"]


# Refused before any work: the model is never loaded, the data never read (they would fail).
def _blocker(tmp_path):
    (tmp_path / "file").write_text("x")
    return tmp_path


BEFORE_WORK = [
    ("generate", "--output", lambda t: t, "is a folder"),
    ("generate", "--output", lambda t: _blocker(t) / "file" / "x", "is a file, not a folder"),
    ("generate", "--output", lambda t: "/proc/songs.txt", "system folder"),
    ("perplexity", "--json", lambda t: t, "is a folder"),
    ("perplexity", "--json", lambda t: "/proc/ppl.json", "system folder"),
    ("train", "--output-dir", lambda t: _blocker(t) / "file", "is a file, not a folder"),
    ("train", "--output-dir", lambda t: "/proc/run", "system folder"),
    ("preprocess", "--output-dir", lambda t: _blocker(t) / "file", "is a file, not a folder"),
    ("preprocess", "--output-dir", lambda t: "/proc/data", "system folder"),
]


@pytest.mark.parametrize(("command", "flag", "where", "words"), BEFORE_WORK)
def test_impossible_output_is_one_line_before_any_work(
    tiny_trained, tmp_path, capsys, monkeypatch, command, flag, where, words
):
    data_dir, model_dir = tiny_trained
    dest = str(where(tmp_path))

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the output was checked")

    if command == "generate":
        monkeypatch.setattr(generate, "load_for_inference", no_work)
        code = exit_code(generate.main, ["--model", str(model_dir), flag, dest])
    elif command == "perplexity":
        monkeypatch.setattr(perplexity, "evaluate_models", no_work)
        argv = ["--model", str(model_dir), "--data-dir", str(data_dir), flag, dest]
        code = exit_code(perplexity.main, argv)
    elif command == "train":
        from lyrics_gpt2 import train

        monkeypatch.setattr(train, "load_data", no_work)
        code = exit_code(train.main, ["--preset", "tiny", "--data-dir", str(data_dir), flag, dest])
    else:
        argv = ["--input", str(FIXTURES / "genius.csv"), flag, dest, "--quiet"]
        code = exit_code(preprocess_main, argv)
    assert code == 2
    one_line(capsys.readouterr().err, flag, words)


# Item 11: a full disk while writing the output was a traceback.
@pytest.mark.parametrize("command", ["generate", "perplexity"])
def test_disk_full_is_one_line(tiny_trained, capsys, command):
    data_dir, model_dir = tiny_trained
    if command == "generate":
        code = exit_code(generate.main, ["--model", str(model_dir), *GEN, "--output", "/dev/full"])
    else:
        argv = ["--model", str(model_dir), "--data-dir", str(data_dir), "--base", "none"]
        code = exit_code(perplexity.main, [*argv, "--json", "/dev/full"])
    assert code == 2
    one_line(capsys.readouterr().err, "/dev/full", "no space left")


# Whatever command lets a write error escape, cli.run prints one line, exit code 2.
@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "no space left"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
        (errno.ENOTDIR, "is a file, not a folder"),
        (errno.EISDIR, "it is a folder"),
        (errno.EDQUOT, "quota"),
    ],
)
def test_write_errors_escaping_a_command_are_one_line(capsys, code, words):
    def command(argv):
        raise OSError(code, os.strerror(code), "/some/output")

    assert run(command, []) == 2
    one_line(capsys.readouterr().err, "/some/output", words)


def test_other_os_errors_are_not_hidden():
    def command(argv):
        raise OSError(errno.EIO, "I/O error")  # a bug or a broken disk: keep the traceback

    with pytest.raises(OSError):
        run(command, [])
