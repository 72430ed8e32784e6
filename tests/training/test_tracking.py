"""--report-to: GPT-2 and RNN training write TensorBoard events that TensorBoard reads back.

The events are read with TensorBoard's own ``EventAccumulator`` and compared with the run's
``metrics.jsonl``; a missing tracker package stops a command before any work (exit 2, one line).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from lyrics_gpt2.cli import run
from lyrics_gpt2.testing import write_tiny_dataset

pytest.importorskip("tensorboard", reason="the [track] extra brings tensorboard")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def events(folder: Path):
    """The scalars TensorBoard shows for one run folder, and the hparams it stored."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0}).Reload()
    scalars = {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    hparams = {}
    # add_hparams writes its own run folder beside the scalars (accelerate another, with a yaml)
    for sub in folder.glob("*/events.out.tfevents.*"):
        content = EventAccumulator(str(sub.parent)).Reload().PluginTagToContent("hparams")
        start = plugin_data_pb2.HParamsPluginData.FromString(
            content["_hparams_/session_start_info"]
        )
        for key, value in start.session_start_info.hparams.items():
            hparams[key] = getattr(value, value.WhichOneof("kind"))
    return scalars, hparams


def records(out: Path, kind: str) -> list[dict]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["kind"] == kind]


def close(pairs, expected):
    """TensorBoard stores float32: compare at its precision."""
    assert [s for s, _ in pairs] == [s for s, _ in expected]
    for (_, got), (_, want) in zip(pairs, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.slow
def test_gpt2_training_reports_metrics_and_settings_to_tensorboard(tmp_path, capsys):
    from lyrics_gpt2.train import main

    data = write_tiny_dataset(tmp_path / "data", train_per_genre=16, val_per_genre=4)
    out = tmp_path / "model"
    argv = ["--preset", "tiny", "--model-config", "n_layer=1,n_embd=32,n_head=2"]
    argv += ["--data-dir", str(data), "--output-dir", str(out), "--batch-size", "8"]
    argv += [
        "--max-steps",
        "4",
        "--eval-every",
        "2",
        "--log-every",
        "2",
        "--report-to",
        "tensorboard",
    ]
    code = run(main, argv)
    assert code == 0, capsys.readouterr().err[-2000:]

    scalars, hparams = events(out / "runs" / "lyrics-gpt2")
    train, val = records(out, "train"), records(out, "val")
    for field in ("loss", "lr", "grad_norm", "tokens_per_s"):
        close(scalars[f"train/{field}"], [(r["step"], r[field]) for r in train])
    close(scalars["val/loss"], [(r["step"], r["val_loss"]) for r in val])
    assert [s for s, _ in scalars["val/loss"]] == [0, 2, 4]
    assert all(r["grad_norm"] > 0 for r in train)
    assert hparams["batch_size"] == 8 and hparams["max_steps"] == 4
    assert hparams["report_to"] == "tensorboard" and hparams["parameters"] > 0


def rnn_argv(data: Path, out: Path, steps: int) -> list[str]:
    argv = ["--arch", "char-gru", "--data-dir", str(data), "--output-dir", str(out)]
    argv += ["--embed-dim", "8", "--hidden-size", "16", "--layers", "1", "--batch-size", "4"]
    argv += ["--bptt", "16", "--eval-every", "3", "--checkpoint-every", "3"]
    return [*argv, "--max-steps", str(steps), "--report-to", "tensorboard"]


@pytest.mark.slow
def test_rnn_training_reports_to_tensorboard_and_a_resumed_run_reads_as_one(tmp_path):
    from lyrics_gpt2.rnn import train
    from lyrics_gpt2.rnn.testing import write_tiny_rnn_data

    data = write_tiny_rnn_data(tmp_path / "data", train_per_genre=6)
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert train.main(rnn_argv(data, whole, 6)) == 0
    assert train.main(rnn_argv(data, split, 3)) == 0
    # A run killed after step 5 whose last checkpoint is step 3's: steps 4-5 are logged twice.
    shutil.copytree(split / "checkpoint", tmp_path / "step-3")
    assert train.main([*rnn_argv(data, split, 5), "--resume"]) == 0
    shutil.rmtree(split / "checkpoint")
    shutil.copytree(tmp_path / "step-3", split / "checkpoint")
    assert train.main([*rnn_argv(data, split, 6), "--resume"]) == 0

    scalars, hparams = events(whole / "runs" / "lyrics-gpt2")
    train_records = records(whole, "train")
    for field in ("loss", "lr", "grad_norm", "bytes_per_s"):
        close(scalars[f"train/{field}"], [(r["step"], r[field]) for r in train_records])
    close(scalars["val/bpb"], [(r["step"], r["val_bpb"]) for r in records(whole, "val")])
    assert hparams["arch"] == "char-gru" and hparams["hidden_size"] == 16
    # Each resumed run's events replace the earlier ones from its checkpoint on: one curve,
    # the same losses as the uninterrupted run, no step twice.
    resumed, _ = events(split / "runs" / "lyrics-gpt2")
    close(resumed["train/loss"], scalars["train/loss"])
    assert [s for s, _ in resumed["val/bpb"]] == [0, 3, 6]


@pytest.mark.parametrize("command", ["gpt2", "rnn", "music"])
def test_a_missing_tracker_package_stops_before_any_work(command, tmp_path, capsys, monkeypatch):
    # find_spec answers None for a module whose sys.modules entry is None: "not installed".
    monkeypatch.setitem(sys.modules, "wandb", None)
    out = tmp_path / "out"
    if command == "gpt2":
        from lyrics_gpt2.train import main

        argv = ["--preset", "tiny", "--data-dir", str(tmp_path / "no-data")]
    elif command == "rnn":
        from lyrics_gpt2.rnn.train import main

        argv = ["--arch", "char-lstm", "--data-dir", str(tmp_path / "no-data")]
    else:
        from lyrics_gpt2.music.train import main

        argv = []
    code = run(main, [*argv, "--output-dir", str(out), "--report-to", "wandb"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.splitlines() == [err.splitlines()[0]] and "pip install wandb" in err
    assert not out.exists()
