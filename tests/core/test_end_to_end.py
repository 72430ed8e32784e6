"""The demo path through the real commands, as `make demo` runs it, on the bundled sample.

preprocess (both stages) -> accelerate launch train.py -> generate -> perplexity, each in its
own subprocess; then notebooks 01 and 02 run on those outputs. Training is shortened (a 1-layer,
64-wide model, 60 steps) so the whole module takes well under a minute on 2 cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from lyrics_gpt2.fileio import read_json
from lyrics_gpt2.testing import REPO, subprocess_env

SAMPLE = REPO / "data" / "sample.csv.gz"
# Same preprocessing flags as `make demo` and notebook 01, so the notebook finds them up to date.
PREPROCESS_FLAGS = ["--tokenizer", "bpe:8000", "--val-fraction", "0.05"]

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        args, cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{args[:4]} failed:\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("demo")
    data, model = root / "data", root / "model"
    py = sys.executable
    run(
        py,
        "-m",
        "pipeline.preprocess",
        "--input",
        str(SAMPLE),
        "--output-dir",
        str(data),
        "--quiet",
        *PREPROCESS_FLAGS,
    )
    accelerate = Path(py).with_name("accelerate")
    run(
        str(accelerate),
        "launch",
        "--cpu",
        "--num_processes",
        "1",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "lyrics_gpt2/train.py",
        "--preset",
        "tiny",
        "--model-config",
        "n_layer=1,n_embd=64",
        "--max-steps",
        "40",
        "--eval-every",
        "20",
        "--data-dir",
        str(data),
        "--output-dir",
        str(model),
    )
    return {"root": root, "data": data, "model": model}


def test_preprocess_outputs(demo):
    chunks = read_json(demo["data"] / "chunks" / "manifest.json")
    assert chunks["rows_in"] == 10_000
    assert 0 < chunks["rows_out"] < chunks["rows_in"]
    assert {"wrong_language", "placeholder", "duplicate_id"} <= set(chunks["dropped"])
    assert len(list((demo["data"] / "chunks").glob("chunk-*.parquet"))) == 40
    tokenized = read_json(demo["data"] / "tokenized" / "manifest.json")
    assert set(tokenized["genre_tokens"]) == {"pop", "rap"}
    # --balance tokens (default): the genres' training lyric tokens within 5% of each other.
    assert tokenized["balance"]["mode"] == "tokens"
    assert 1 <= tokenized["balance"]["token_ratio_after"] < 1.05


def test_training_learned(demo):
    summary = read_json(demo["model"] / "summary.json")
    metrics = [json.loads(line) for line in (demo["model"] / "metrics.jsonl").open()]
    val = [m["val_loss"] for m in metrics if m["kind"] == "val"]
    assert val[-1] < val[0] - 1.0
    assert summary["final_val_loss"] == pytest.approx(val[-1])
    assert (demo["model"] / "model.safetensors").is_file()
    assert (demo["model"] / "val_loss.png").is_file()


def test_generate_both_genres(demo):
    out = demo["root"] / "songs.jsonl"
    run(
        sys.executable,
        "-m",
        "lyrics_gpt2.generate",
        "--model",
        str(demo["model"]),
        "--genre",
        "both",
        "--num-songs",
        "2",
        "--max-length",
        "60",
        "--format",
        "jsonl",
        "--output",
        str(out),
    )
    songs = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(s["genre"] for s in songs) == ["pop", "pop", "rap", "rap"]
    for song in songs:
        assert song["text"].strip()
        assert "[Genre:" not in song["text"] and "<|endoftext|>" not in song["text"]


def test_perplexity_tuned_beats_untuned(demo):
    out = demo["root"] / "perplexity.json"
    proc = run(
        sys.executable,
        "-m",
        "lyrics_gpt2.perplexity",
        "--model",
        str(demo["model"]),
        "--data-dir",
        str(demo["data"]),
        "--bootstrap",
        "200",
        "--json",
        str(out),
    )
    result = json.loads(out.read_text())
    tuned, base = result["tuned"]["all"], result["base"]["all"]
    assert tuned["ci95"][1] < base["ci95"][0]  # the whole interval lies below the base's
    assert tuned["tokens"] == base["tokens"]
    swap = result["genre_swap"]
    assert len(swap["perplexity"]) == len(swap["genres"]) == 2
    assert all(len(row) == 2 for row in swap["perplexity"])
    assert "Genre swap" in proc.stdout


@pytest.mark.parametrize("name", ["01_preprocess.ipynb", "02_train.ipynb"])
def test_notebook_runs_on_demo_outputs(demo, name, monkeypatch):
    monkeypatch.setenv("LYRICS_INPUT", str(SAMPLE))
    monkeypatch.setenv("LYRICS_DATA_DIR", str(demo["data"]))
    monkeypatch.setenv("LYRICS_MODEL_DIR", str(demo["model"]))
    # No MPLBACKEND here: the kernel's inline backend is what turns figures into PNG outputs.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
