"""benchmarks/full_scale.py end to end on a small dump: every stage runs and is measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_full_scale_benchmark_measures_every_stage_of_a_small_dump(tmp_path, gpt2_tokenizer_dir):
    out = tmp_path / "result.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "full_scale.py"), "--rows", "1500"]
    cmd += ["--steps", "2", "--work-dir", str(tmp_path / "work"), "--json", str(out)]
    cmd += ["--tokenizer", str(gpt2_tokenizer_dir), "--workers", "0", "--max-ngrams", "5000"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    stages = {r["stage"].split(" (")[0]: r for r in result["stages"]}
    assert list(stages) == ["synth", "stage 1", "stage 2", "n-gram index", "training"]
    for r in result["stages"]:
        assert r["wall_s"] > 0 and r["peak_rss_mb"] > 10 and r["load"] >= 0
    assert stages["stage 2"]["tokens"] > 0 and stages["stage 2"]["splits"]["train"] > 0
    index = stages["n-gram index"]
    # The bound holds: more 8-grams were read than the 5,000 kept.
    assert index["keys"] == 5000 < index["ngrams_seen"] and index["met"]
    assert 0 < stages["training"]["first_step_s"] < stages["training"]["wall_s"]
    assert "stage 1 (chunks)" in done.stdout and "first step" in done.stdout
    # The dump is written once: a second run reuses it (no synth row).
    again = subprocess.run([*cmd, "--stages", "chunks"], cwd=REPO, capture_output=True,
                           text=True, timeout=900)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert [r["stage"] for r in json.loads(out.read_text())["stages"]] == ["stage 1 (chunks)"]
