"""Faults around preprocess's stages: damaged outputs, leftovers of killed runs, a full disk,
``kill -9`` with worker processes. Issue 10 items 10 (disk side), 11, 16, 18."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from lyrics_gpt2.fileio import atomic_path
from lyrics_gpt2.testing import subprocess_env
from tests.conftest import FIXTURES, REPO
from tests.hostile.conftest import GENIUS_HEADER, genius_rows, one_line, preprocess, tree

# The fixture keeps both genres in one chunk, so stage tokenize has songs to balance.
FULL = ["--stages", "chunks", "tokenize", "--tokenizer", "bpe:400", "--min-tokens", "1",
        "--num-chunks", "1"]  # fmt: skip


def snapshot(folder):
    return {p: (folder / p).read_bytes() for p in tree(folder) if (folder / p).is_file()}


@pytest.fixture
def built(tmp_path):
    out = tmp_path / "out"
    assert preprocess(FIXTURES / "genius.csv", out, *FULL) == 0
    return out


# Item 16: a damaged tokenized/*.arrow made train say "re-run preprocessing" while preprocessing
# said "up to date". Truncated or deleted: the rerun rebuilds it, byte-identical.
@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_damaged_tokenized_arrow_is_rebuilt(built, capsys, damage):
    before = snapshot(built / "tokenized")
    arrow = built / "tokenized" / "train" / "data-00000-of-00001.arrow"
    if damage == "truncate":
        arrow.write_bytes(arrow.read_bytes()[:100])
    else:
        arrow.unlink()
    capsys.readouterr()
    assert preprocess(FIXTURES / "genius.csv", built, *FULL) == 0
    assert snapshot(built / "tokenized").keys() == before.keys()
    assert (built / "tokenized" / "train" / "data-00000-of-00001.arrow").read_bytes() == before[
        "train/data-00000-of-00001.arrow"
    ]


# Item 18: a killed --force run's .chunks.*.tmp stayed forever when the next run was up to date.
@pytest.mark.parametrize("name", ["chunks", "tokenized", "tokenizer"])
def test_leftovers_of_a_killed_run_go_even_when_up_to_date(built, name):
    stale = built / f".{name}.abc123.tmp"
    (stale / "half").mkdir(parents=True)
    assert preprocess(FIXTURES / "genius.csv", built, *FULL) == 0
    assert not stale.exists()


def test_a_live_runs_temporary_folder_is_not_taken(built):
    # a concurrent run still writing holds a lock on its temporary folder
    with atomic_path(built / "chunks", is_dir=True) as tmp:
        tmp.mkdir(exist_ok=True)
        (tmp / "part").write_text("being written")
        assert preprocess(FIXTURES / "genius.csv", built, *FULL) == 0
        assert (tmp / "part").read_text() == "being written"


# Item 11: a full disk in tokenize (or chunks) was a traceback. Now one line; the previous good
# output stays, no temporary folder is left.
@pytest.mark.parametrize(
    ("stage", "target"),
    [
        ("tokenize", "pipeline.tokenize.stage.write_splits"),
        ("chunks", "pipeline.chunks.stage.write_json"),
    ],
)
def test_disk_full_is_one_line_and_keeps_the_old_output(built, capsys, monkeypatch, stage, target):
    before = snapshot(built)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(target, full)
    capsys.readouterr()
    stages = ["--stages", stage, *FULL[3:]]  # only the stage that fails
    assert preprocess(FIXTURES / "genius.csv", built, *stages, "--force") == 2
    one_line(capsys.readouterr().err, "no space left")
    after = snapshot(built)
    if stage == "tokenize":  # tokenized.parts is a cache, allowed to change
        before = {k: v for k, v in before.items() if not k.startswith("tokenized.parts")}
        after = {k: v for k, v in after.items() if not k.startswith("tokenized.parts")}
    assert after == before  # no .tmp left, old output untouched


# Item 18: kill -9 of preprocess left orphan workers printing BrokenPipeError tracebacks.
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_leaves_no_orphan_workers(tmp_path):
    inp = tmp_path / "big.csv"
    inp.write_text(f"{GENIUS_HEADER}\n{genius_rows(40_000)}")  # ~4 MB: default workers start
    err = tmp_path / "stderr.txt"
    with err.open("w") as stderr:
        argv = ["--input", str(inp), "--output-dir", str(tmp_path / "out"), "--stages", "chunks"]
        argv += ["--workers", "2", "--quiet", "--language", "any"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.preprocess", *argv],
            cwd=REPO,
            env=subprocess_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        children: list[int] = []
        deadline = time.monotonic() + 60
        while len(children) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            try:
                children = [int(c) for c in _children(proc.pid)]
            except OSError:
                children = []
        assert len(children) >= 2, "the workers never started"
        time.sleep(0.5)  # let them get busy
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not any(_alive(c) for c in children)
    assert "Traceback" not in err.read_text() and "BrokenPipeError" not in err.read_text()


def _children(pid: int) -> list[str]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += f.read().split()
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie is dead, only not yet reaped
    except OSError:
        return False
