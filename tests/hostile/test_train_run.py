"""Hostile runs of the training command (issue 10, items 4, 5, 11, 12, 17), through the real
``train.main`` on the tiny corpus: exit code 2, one stderr line naming the problem, and what the
output folder holds afterwards.

    .venv/bin/python -m pytest tests/hostile/test_train_run.py -q
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lyrics_gpt2 import train
from lyrics_gpt2.testing import exit_code
from tests.hostile.conftest import train_argv as hostile_train_argv

# The tiny preset shrunk to 1 layer, 32 wide: a few steps take a second or two on one core.


FAST = ["--max-steps", "4", "--batch-size", "4", "--eval-every", "0", "--eval-max-songs", "8"]


def one_line(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln]
    assert len(err) == 1, err
    return err[0]


def train_argv(data: Path, out: Path, *extra: str) -> list[str]:
    return hostile_train_argv(data, out, *extra, steps=4)


@pytest.fixture(scope="module")
def finished(tiny_trained, tmp_path_factory) -> Path:
    """A finished run with checkpoints at steps 2 and 4 (copied by tests that change it)."""
    data, _ = tiny_trained
    out = tmp_path_factory.mktemp("finished") / "run"
    assert exit_code(train.main, train_argv(data, out, "--checkpoint-every", "2")) == 0
    return out


def copy_of(finished: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(finished, dest)
    return dest


def listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


# ----------------------------------------------------- --output-dir that cannot be (item 11)
def test_output_dir_is_a_file(tiny_trained, tmp_path, capsys):
    data, _ = tiny_trained
    out = tmp_path / "model"
    out.write_text("not a folder")
    assert exit_code(train.main, train_argv(data, out)) == 2
    assert "is a file" in one_line(capsys)
    assert out.read_text() == "not a folder"


def test_output_dir_under_proc(tiny_trained, capsys):
    data, _ = tiny_trained
    assert exit_code(train.main, train_argv(data, Path("/proc/lyrics-model"))) == 2
    assert "/proc/lyrics-model" in one_line(capsys)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nothing can be written into: a read-only tmpfs as root (root ignores modes),
    else a folder without write permission."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("root without permission to mount a read-only tmpfs")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_output_dir_read_only(tiny_trained, read_only_dir, capsys):
    data, _ = tiny_trained
    assert exit_code(train.main, train_argv(data, read_only_dir / "model")) == 2
    line = one_line(capsys)
    assert str(read_only_dir) in line and ("read-only" in line or "not writable" in line)
    assert list(read_only_dir.iterdir()) == []


def test_disk_full_while_writing_a_checkpoint(tiny_trained, tmp_path, capsys, monkeypatch):
    """ENOSPC halfway through save_state: one line, the partial checkpoint gone, no summary."""
    from accelerate import Accelerator

    data, _ = tiny_trained
    out = tmp_path / "run"

    def full_disk(self, output_dir=None, **kw):
        (Path(output_dir) / "model.safetensors").write_bytes(b"\0" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Accelerator, "save_state", full_disk)
    assert exit_code(train.main, train_argv(data, out, "--checkpoint-every", "2")) == 2
    line = one_line(capsys)
    assert "step-00000002" in line and "No space left" in line
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == []
    assert not (out / "summary.json").exists()


# ---------------------------------------------- a killed --overwrite never mixes runs (item 4)
def test_interrupted_overwrite_leaves_no_finished_looking_folder(
    finished, tiny_trained, tmp_path, capsys, monkeypatch
):
    data, _ = tiny_trained
    out = copy_of(finished, tmp_path)

    def killed(*args, **kw):  # the moment a kill lands: after setup, before the loop ends
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "fit", killed)
    assert exit_code(train.main, train_argv(data, out, "--overwrite", "--seed", "7")) == 130
    left = listing(out)
    for finished_file in ("summary.json", "model.safetensors", "config.json", "train_loss.png"):
        assert finished_file not in left, left
    assert not any(name.startswith("checkpoints/") for name in left)


def test_finished_run_records_its_base_relative(finished):
    summary = json.loads((finished / "summary.json").read_text())
    assert summary["base_model"] == "untuned" and summary["untuned_model"] == "untuned"
    assert summary["base_model_fingerprint"]


# --------------------------------------------- settings a resume cannot change (item 5)
@pytest.mark.parametrize(
    "flag,value,shown",
    [
        ("--lr", "5e-4", "0.0005"),
        ("--warmup-steps", "3", "3"),
        ("--lr-schedule", "linear", "linear"),
        ("--weight-decay", "0.2", "0.2"),
    ],
)
def test_resume_refuses_settings_it_cannot_apply(
    finished, tiny_trained, tmp_path, capsys, flag, value, shown
):
    data, _ = tiny_trained
    out = copy_of(finished, tmp_path)
    before = listing(out)
    argv = train_argv(data, out, "--checkpoint-every", "2", "--resume", "latest", flag, value)
    assert exit_code(train.main, argv) == 2
    line = one_line(capsys)
    assert f"{flag} " in line and shown in line
    assert listing(out) == before


# ------------------------------------------------ damaged checkpoint files (item 12)
@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.bin"])
def test_resume_from_truncated_checkpoint_file(finished, tiny_trained, tmp_path, capsys, name):
    data, _ = tiny_trained
    out = copy_of(finished, tmp_path)
    damaged = out / "checkpoints" / "step-00000002" / name
    blob = damaged.read_bytes()
    damaged.write_bytes(blob[: len(blob) // 2])
    # step 4 is the finished run's last step and saves no checkpoint; step 2 is the latest.
    argv = train_argv(data, out, "--checkpoint-every", "2", "--resume", "latest")
    assert exit_code(train.main, argv) == 2
    line = one_line(capsys)
    assert str(damaged) in line and "truncated" in line
    assert (out / "summary.json").is_file()  # the finished run is left as it was


def test_fine_tune_from_truncated_local_model(finished, tiny_trained, tmp_path, capsys):
    data, _ = tiny_trained
    base = copy_of(finished, tmp_path)
    weights = base / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    argv = [
        *FAST,
        "--model",
        str(base),
        "--data-dir",
        str(data),
        "--output-dir",
        str(tmp_path / "o"),
    ]
    assert exit_code(train.main, argv) == 2
    assert str(weights) in one_line(capsys)
