"""Experiment trackers for every training command (``--report-to``): TensorBoard, Trackio, W&B, MLflow.

    python lyrics_gpt2/train.py --preset tiny --report-to tensorboard      # GPT-2
    python -m lyrics_gpt2.rnn.train --arch char-lstm ... --report-to tensorboard
    python -m lyrics_gpt2.music.train --output-dir artifacts/music/bach --report-to trackio
    tensorboard --logdir artifacts/model/runs                              # then watch

The trackers are accelerate's (``accelerate.tracking``); GPT-2 training reaches them through its
``Accelerator``, the RNN and music trainers, which have none, through :class:`Tracker`. Every
tracker receives the scalars ``metrics.jsonl`` holds, named the same way in every command
(:func:`scalars`: ``train/loss``, ``train/lr``, ``train/grad_norm``, the throughput,
``val/loss``, ...), and the run's settings as hyperparameters (:func:`hparams`).

The tracker packages are optional (``pip install 'lyrics-gpt2[track]'`` brings TensorBoard):
a missing one stops the command before any work with one line naming the ``pip install``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from lyrics_gpt2.errors import UsageError

PROJECT = "lyrics-gpt2"
TRACKERS = ("none", "tensorboard", "trackio", "wandb", "mlflow")
# The module each tracker imports, and the pip package that brings it.
PACKAGES = {
    "tensorboard": ("tensorboard", "tensorboard"),
    "trackio": ("trackio", "trackio"),
    "wandb": ("wandb", "wandb"),
    "mlflow": ("mlflow", "mlflow"),
}
# metrics.jsonl fields that are counts or bookkeeping, not curves worth a chart.
NOT_SCALARS = {"kind", "step", "tokens", "tokens_seen", "targets", "val_tokens", "val_songs"}


def missing_tracker(name: str) -> str | None:
    """The one-line problem when ``--report-to name`` cannot work here, else None."""
    if name not in PACKAGES:
        return None if name == "none" else f"--report-to: one of {', '.join(TRACKERS)}"
    module, package = PACKAGES[name]
    if importlib.util.find_spec(module) is None:
        return f"--report-to {name} needs the {package} package: pip install {package}"
    return None


def require_tracker(name: str) -> None:
    problem = missing_tracker(name)
    if problem:
        raise UsageError(problem)


def hparams(values: dict) -> dict:
    """Settings as the scalar types every tracker takes (TensorBoard refuses None, paths, lists)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, Path):
            out[key] = str(value)
        else:
            out[key] = json.dumps(value, default=str)  # None -> "null", lists and dicts as JSON
    return out


def scalars(record: dict) -> dict:
    """A ``metrics.jsonl`` record as tracker scalars: ``train/<field>`` or ``val/<field>``."""
    kind = record["kind"]
    out = {}
    for key, value in record.items():
        if key in NOT_SCALARS or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        name = key.removeprefix("val_") if kind == "val" else key
        out[f"{kind}/{name}"] = value
    return out


def init_kwargs(name: str, run_name: str, resume_step: int = 0) -> dict:
    """Per-tracker arguments: the run's name, and for TensorBoard the resumed step, from which
    the earlier run's events are dropped when read (the resumed run writes them again)."""
    if name == "tensorboard":
        return {"tensorboard": {"purge_step": resume_step + 1}} if resume_step else {}
    key = {"wandb": "name", "trackio": "name", "mlflow": "run_name"}.get(name)
    return {name: {key: run_name}} if key else {}


class Tracker:
    """One accelerate tracker used without an ``Accelerator`` (the RNN and music trainers).

    TensorBoard writes under ``logging_dir/lyrics-gpt2``; the others where their own
    configuration says (Trackio and MLflow locally by default, W&B to its server).
    """

    def __init__(self, name: str, logging_dir: Path, run_name: str, config: dict,
                 resume_step: int = 0):  # fmt: skip
        from accelerate.tracking import LOGGER_TYPE_TO_CLASS

        require_tracker(name)
        cls = LOGGER_TYPE_TO_CLASS[name]
        kwargs = init_kwargs(name, run_name, resume_step).get(name, {})
        if cls.requires_logging_directory:
            self.tracker = cls(PROJECT, str(logging_dir), **kwargs)
        else:
            self.tracker = cls(PROJECT, **kwargs)
        self.tracker.start()
        self.tracker.store_init_configuration(hparams(config))

    def log(self, record: dict) -> None:
        values = scalars(record)
        if values:
            self.tracker.log(values, step=record["step"])

    def finish(self) -> None:
        self.tracker.finish()
