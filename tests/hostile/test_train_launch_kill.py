"""``kill -9`` of ``accelerate launch`` ends the training process it started (issue 10, item 9).

    .venv/bin/python -m pytest tests/hostile/test_train_launch_kill.py -q

A real launch in a subprocess: once the training process (the launcher's child) has started
writing metrics, the launcher is SIGKILLed; the child must be gone within seconds and write
nothing more.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lyrics_gpt2.testing import REPO, subprocess_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has stopped running; only its exit status is left


def wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_sigkill_of_the_launcher_ends_training(tiny_trained, tmp_path):
    data, _ = tiny_trained
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1"]
    cmd += ["--mixed_precision", "no", "--dynamo_backend", "no", "--num_machines", "1"]
    cmd += [str(REPO / "lyrics_gpt2" / "train.py"), "--preset", "tiny"]
    cmd += ["--model-config", "n_layer=1,n_embd=32,n_head=2", "--max-steps", "100000"]
    cmd += ["--epochs", "1000", "--eval-every", "0", "--eval-max-songs", "4", "--batch-size", "2"]
    cmd += ["--checkpoint-every", "0", "--data-dir", str(data), "--output-dir", str(out)]
    env = subprocess_env(OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    launcher = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    metrics = out / "metrics.jsonl"
    trainer = None
    try:
        assert wait_for(lambda: metrics.is_file() and metrics.stat().st_size > 0, 120), (
            "training never started"
        )
        (trainer,) = children(launcher.pid)
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait(10)
        assert wait_for(lambda: not alive(trainer), 15), "training outlived its launcher"
        size = metrics.stat().st_size
        time.sleep(1.0)
        assert metrics.stat().st_size == size  # nothing written after the launcher died
    finally:
        if launcher.poll() is None:
            launcher.kill()
        if trainer is not None and alive(trainer):
            os.kill(trainer, signal.SIGKILL)
