"""The training machinery every TBPTT model shares: the lyric RNNs and the piano-roll music LSTM.

    python -m lyrics_gpt2.rnn.train --arch char-lstm --data-dir artifacts/data --output-dir artifacts/rnn/char-lstm
    python -m lyrics_gpt2.music.train --output-dir artifacts/music/bach

Each command builds its data, model and optimizer, then hands them to :class:`TBPTTLoop`, which
owns what is the same for every model:

- the output folder rules (``--resume`` needs ``checkpoint/state.pt``; an existing run is never
  overwritten without ``--overwrite``), :func:`prepare_output`;
- ``metrics.jsonl`` (one line per step and per validation; a resumed run drops what came after
  its checkpoint), the loss PNG, the validation schedule (step 0, every ``--eval-every`` steps,
  at the end) and keeping the best model by the validation score (lower is better);
- ``checkpoint/state.pt``: weights, optimizer, the carried hidden state of every lane, RNG and
  progress, written atomically, so a resumed run reproduces the losses of an uninterrupted one;
- the epoch / window loop with ``--max-steps`` and ``--max-minutes`` (time in training steps;
  validation and saving not counted), gradient clipping, denormals flushed to zero on CPU.

What differs between models comes in as callables: ``plan(epoch)`` gives the epoch's windows
(``len(plan)`` steps), ``step(plan, k, state)`` runs window ``k`` and returns the summed loss,
the number of targets it averages over and the new state, ``score()`` validates.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import RunFolder, atomic_path, claim_folder, read_json
from lyrics_gpt2.modeling import add_device_flag
from lyrics_gpt2.training.tracking import TRACKERS, Tracker, missing_tracker


def save_model_files(out: Path, save: Callable[[Path], None], names: Sequence[str]) -> None:
    """Put the model files ``save(folder)`` writes into ``out``, each by rename, in the order of
    ``names`` (config.json last: a reader never sees a config without its weights)."""
    tmp = Path(tempfile.mkdtemp(prefix=".model.", dir=out))
    try:
        save(tmp)
        for name in names:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def add_loop_flags(p, *, eval_every: int = 200, epochs: int = 10) -> None:
    """The flags of :class:`TBPTTLoop`, the same in every training command."""
    a = p.add_argument
    a("--clip", type=float, default=1.0, help="gradient norm clip, 0 = off (%(default)s)")
    a("--epochs", type=int, default=epochs, help="passes over the training data (%(default)s)")
    a("--max-steps", type=int, default=None, help="stop after this many steps")
    a("--max-minutes", type=float, default=None, help="stop after this much training time")
    a("--eval-every", type=int, default=eval_every, help="validate every N steps (%(default)s)")
    a("--checkpoint-every", type=int, default=200, help="resumable state every N steps")
    a("--seed", type=int, default=0, help="(%(default)s)")
    add_device_flag(p)
    a("--resume", action="store_true", help="continue from OUTPUT/checkpoint")
    a("--overwrite", action="store_true", help="start afresh even if OUTPUT holds a run")
    a("--report-to", choices=TRACKERS, default="none",
      help="also send metrics and settings to this tracker; tensorboard writes OUTPUT/runs "
      "(%(default)s)")  # fmt: skip


def loop_problems(args) -> list[str]:
    """What is wrong with the loop flags, each as one message."""
    problems = [
        f"--{k.replace('_', '-')} must be >= 1 (got {getattr(args, k)})"
        for k in ("epochs", "eval_every", "checkpoint_every")
        if getattr(args, k) < 1
    ]
    for k in ("max_steps", "max_minutes"):
        v = getattr(args, k)
        # not (v > 0): nan compares false with everything and would mean "no limit" silently
        if v is not None and (not v > 0 or not math.isfinite(v)):
            problems.append(f"--{k.replace('_', '-')} must be a finite number > 0 (got {v})")
    if missing_tracker(args.report_to):
        problems.append(missing_tracker(args.report_to))
    return problems


# What a TBPTT run may write into its folder (model files come from the command).
LOOP_OUTPUTS = ("checkpoint", "metrics.jsonl", "loss.png", "summary.json", "runs")


def _legacy_run(real: Path) -> bool:
    """A finished run folder written before ownership markers: its summary.json."""
    summary = read_json(real / "summary.json")
    return isinstance(summary, dict) and {"kind", "steps", "args", "config"} <= summary.keys()


def prepare_output(
    out: Path,
    resume: bool,
    overwrite: bool,
    *,
    command: str = "rnn.train",
    inputs=(),
    model_files: Sequence[str] = (),
) -> RunFolder:
    """Claim ``out`` for ``command`` (lyrics_gpt2.fileio.claim_folder: new, empty or its own
    earlier run, never an input's folder); refuse a resume without a checkpoint and a fresh run
    over an existing one."""
    folder = claim_folder(
        out, command, inputs=inputs, legacy=_legacy_run, known=(*LOOP_OUTPUTS, *model_files)
    )
    ckpt = out / "checkpoint"
    if resume and not (ckpt / "state.pt").is_file():
        raise UsageError(f"nothing to resume: no {ckpt}/state.pt")
    if not resume and not overwrite and (ckpt.exists() or (out / "config.json").exists()):
        raise UsageError(f"{out} already holds a run; pass --resume, --overwrite or another dir")
    return folder


def reset_lanes(state, reset: torch.Tensor):
    """Zero the lanes (dimension 1 of each state tensor) where ``reset`` [B] is true."""
    keep = (~reset).to(state[0].dtype)[None, :, None]
    return tuple(s * keep for s in state)


def detach(state):
    return tuple(s.detach() for s in state)


class TBPTTLoop:
    """One training run in ``out``: metrics, validation, best model, checkpoints, the loop.

    ``settings`` are the values a resumed run must share with its checkpoint; ``val_key`` names
    the validation score (lower is better) that ``score()`` returns in its dict;
    ``save_best()`` writes the model files when the score improves; ``rate`` = (metric name,
    units per target) for the per-step throughput line of ``metrics.jsonl``.
    """

    def __init__(
        self,
        out: Path,
        *,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        state: tuple,
        settings: dict,
        device: torch.device,
        val_key: str,
        score: Callable[[], dict],
        save_best: Callable[[], None],
        rate: tuple[str, float],
        clip: float,
        folder: RunFolder | None = None,
        model_files: Sequence[str] = (),
    ):
        self.out, self.ckpt = out, out / "checkpoint"
        self.model, self.optimizer, self.state = model, optimizer, state
        self.settings, self.device = settings, device
        self.val_key, self.score, self.save_best = val_key, score, save_best
        self.rate, self.clip = rate, clip
        self.t = {"step": 0, "epoch": 0, "step_in_epoch": 0, "train_time_s": 0.0, "best": math.inf}
        self.records: list[dict] = []
        self.metrics = None
        # The folder as claimed (prepare_output): a fresh run clears only what it listed.
        self.folder, self.outputs = folder, (*LOOP_OUTPUTS, *model_files)
        self.tracker: Tracker | None = None

    # ---- start: fresh or resumed ----
    def start(self, resume: bool) -> None:
        out = self.out
        if resume:
            try:
                saved = torch.load(
                    self.ckpt / "state.pt", map_location=self.device, weights_only=False
                )
                saved["settings"], saved["progress"]
            except Exception as exc:  # a truncated zip gives RuntimeError, pickle its own
                raise UsageError(
                    f"cannot resume: {self.ckpt}/state.pt is damaged ({type(exc).__name__}); "
                    "start afresh with --overwrite"
                ) from None
            differ = [
                f"{k} {saved['settings'].get(k)} -> {v}"
                for k, v in self.settings.items()
                if saved["settings"].get(k) != v
            ]
            if differ:
                raise UsageError(f"cannot resume with other settings: {'; '.join(differ)}")
            self.model.load_state_dict(saved["model"])
            self.optimizer.load_state_dict(saved["optimizer"])
            self.state = tuple(s.to(self.device) for s in saved["hidden"])
            torch.set_rng_state(saved["rng"])
            if self.device.type == "cuda" and saved.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(saved["cuda_rng"])
            self.t = dict(saved["progress"])
            if "best_bpb" in self.t:  # checkpoints written before the loop was shared
                self.t["best"] = self.t.pop("best_bpb")
            print(f"resumed from {self.ckpt} at step {self.t['step']}", file=sys.stderr)
        elif self.folder is not None:
            self.folder.clear()
        else:
            shutil.rmtree(self.ckpt, ignore_errors=True)
            for name in ("metrics.jsonl", "config.json", "summary.json"):
                (out / name).unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        if self.folder is not None:
            self.folder.record(*self.outputs)
        if (out / "metrics.jsonl").is_file():  # drop what came after the checkpoint
            for n, line in enumerate((out / "metrics.jsonl").read_text().splitlines(), 1):
                try:
                    r = json.loads(line)
                    keep = r["step"] <= self.t["step"]
                except (ValueError, KeyError, TypeError):
                    # A line cut by a kill, or edited: the log is ours, the rest is kept.
                    print(f"{out}/metrics.jsonl line {n} is damaged: dropped", file=sys.stderr)
                    continue
                if keep:
                    self.records.append(r)
        self.metrics = (out / "metrics.jsonl").open("w")
        for r in self.records:
            self.metrics.write(json.dumps(r) + "\n")

    def track(self, name: str, config: dict) -> None:
        """Send the records from here on, and ``config``, to the ``--report-to`` tracker."""
        if name != "none":
            self.tracker = Tracker(
                name, self.out / "runs", self.out.name, config, resume_step=self.t["step"]
            )

    def log(self, record: dict) -> None:
        self.records.append(record)
        self.metrics.write(json.dumps(record) + "\n")
        self.metrics.flush()
        if self.tracker is not None:
            self.tracker.log(record)

    def validate(self) -> float:
        fields = self.score()
        self.log({"kind": "val", "step": self.t["step"], **fields})
        value = fields[self.val_key]
        if value < self.t["best"]:
            self.t["best"] = value
            self.save_best()
        return value

    def save_checkpoint(self) -> None:
        with atomic_path(self.ckpt, is_dir=True) as tmp:
            torch.save(
                {
                    "model": self.model.state_dict(),
                    "optimizer": self.optimizer.state_dict(),
                    "hidden": tuple(s.cpu() for s in self.state),
                    "rng": torch.get_rng_state(),
                    "cuda_rng": (
                        torch.cuda.get_rng_state() if self.device.type == "cuda" else None
                    ),
                    "progress": dict(self.t),
                    "settings": self.settings,
                },
                tmp / "state.pt",
            )

    # ---- the loop ----
    def fit(
        self,
        *,
        plan: Callable[[int], object],
        step: Callable[[object, int, tuple], tuple[torch.Tensor, int, tuple]],
        epochs: int,
        max_steps: int | None,
        max_minutes: float | None,
        eval_every: int,
        checkpoint_every: int,
        unit: str,
    ) -> float:
        """Train until ``epochs``, ``max_steps`` or ``max_minutes``; returns the final score."""
        # Denormal floats (|x| < 1.2e-38) can appear as training goes on (Adam's moments,
        # saturated gates) and cost the CPU ~100x per operation. The music LSTM's steps went
        # from 0.03 s to over 4 s late in training; one such step took 2.0 s without and 0.09 s
        # with flushing, back to back (on a shared machine, so: likely, not proven). Flushing
        # changes no result that matters; the setting is process-wide in torch.
        if self.device.type == "cpu":
            torch.set_flush_denormal(True)
        t = self.t
        if t["step"] == 0:
            print(f"step 0: validation {self.validate():.4f} {unit}", file=sys.stderr)
        budget = max_minutes * 60 if max_minutes else math.inf
        rate_name, per_target = self.rate
        # A resumed run that already reached its limit trains no further step.
        stop = (max_steps is not None and t["step"] >= max_steps) or t["train_time_s"] >= budget
        while t["epoch"] < epochs and not stop:
            windows = plan(t["epoch"])
            for k in range(t["step_in_epoch"], len(windows)):
                started = time.perf_counter()
                self.model.train()
                total, targets, self.state = step(windows, k, self.state)
                loss = total / max(1, targets)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                # Clipping at infinity (--clip 0) only measures the norm.
                norm = torch.nn.utils.clip_grad_norm_(
                    self.model.parameters(), self.clip or math.inf
                )
                lr = self.optimizer.param_groups[0]["lr"]
                self.optimizer.step()
                elapsed = time.perf_counter() - started
                t["train_time_s"] += elapsed
                t["step"] += 1
                t["step_in_epoch"] = k + 1
                self.log({
                    "kind": "train", "step": t["step"], "epoch": t["epoch"] + (k + 1) / len(windows),
                    "loss": loss.item(), "lr": lr, "grad_norm": norm.item(), "targets": targets,
                    rate_name: targets * per_target / elapsed,
                })  # fmt: skip
                stop = (max_steps is not None and t["step"] >= max_steps) or t[
                    "train_time_s"
                ] >= budget
                if t["step"] % eval_every == 0 and not stop:
                    print(
                        f"step {t['step']}: validation {self.validate():.4f} {unit}",
                        file=sys.stderr,
                    )
                if t["step"] % checkpoint_every == 0 or stop:
                    self.save_checkpoint()
                if stop:
                    break
            else:
                t["epoch"], t["step_in_epoch"] = t["epoch"] + 1, 0
        final = self.validate()
        self.save_checkpoint()
        self.metrics.close()
        if self.tracker is not None:
            self.tracker.finish()
        return final

    def train_records(self) -> list[dict]:
        return [r for r in self.records if r["kind"] == "train"]

    def throughput(self) -> float:
        """Units per second of training-step time over the whole run (resumes included)."""
        per_target = self.rate[1]
        targets = sum(r["targets"] for r in self.train_records())
        return targets * per_target / max(self.t["train_time_s"], 1e-9)
