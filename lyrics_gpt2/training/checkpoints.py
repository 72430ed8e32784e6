"""Resumable training checkpoints: ``OUTDIR/checkpoints/step-00001000/``.

Each holds what ``accelerator.save_state`` writes (model, optimizer, scheduler, gradient scaler,
every process's RNG states; with ``--lora`` the model part is the adapters and the genre rows
only, see lyrics_gpt2.training.lora) plus ``train_state.json`` (step, epoch, batches done in the epoch,
tokens seen, the settings a resume must share). A checkpoint is written under a hidden temporary
name and renamed when complete, so a folder named ``step-*`` is always whole.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import read_json, write_json

STATE_FILE = "train_state.json"
_NAME = re.compile(r"^step-(\d+)$")
# Settings a resumed run must share with the checkpoint, or the data position means nothing.
RESUME_KEYS = ("batch_size", "grad_accum", "seed", "num_processes", "train_songs", "total_steps")
# Settings the optimizer and schedule bring back from the checkpoint (their state holds the
# rates), so a resumed run could not apply a new value: refused rather than recorded but ignored.
# Compared only when the checkpoint recorded them (checkpoints made before they were saved).
FIXED_ON_RESUME = (
    "lr",
    "warmup_steps",
    "lr_schedule",
    "min_lr_ratio",
    "weight_decay",
    "model",
    "model_config",
    "lora",
    "lora_alpha",
    "lora_dropout",
    "lora_targets",
    "pad_vocab",
)


@dataclass
class TrainState:
    """Where training stands; saved with every checkpoint as train_state.json."""

    step: int = 0  # optimizer steps done
    epoch: int = 0
    batch_in_epoch: int = 0  # batches this process has consumed in ``epoch``
    tokens_seen: int = 0  # real (non-padding) input tokens, all processes
    positions_seen: int = 0  # batch positions incl. padding after trimming, all processes
    train_time_s: float = 0.0
    data_wait_s: float = 0.0  # main process, time blocked on the loader
    last_val: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def checkpoint_root(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = checkpoint_root(output_dir)
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := _NAME.match(p.name)) and (p / STATE_FILE).is_file()
    ]
    return [p for _, p in sorted(found)]


def resolve_resume(resume: str, output_dir: str | Path) -> Path:
    """``latest`` -> the newest checkpoint of ``output_dir``; a path -> that checkpoint."""
    if resume == "latest":
        found = list_checkpoints(output_dir)
        if not found:
            raise UsageError(
                f"--resume latest: no checkpoint in {checkpoint_root(output_dir)}; "
                "drop --resume to start a fresh run"
            )
        return found[-1]
    path = Path(resume)
    if not (path / STATE_FILE).is_file():
        raise UsageError(f"--resume {resume}: not a checkpoint folder (no {STATE_FILE})")
    return path


def read_state(path: Path) -> dict[str, Any]:
    state = read_json(path / STATE_FILE)
    if not isinstance(state, dict):
        raise UsageError(f"checkpoint {path} has an unreadable {STATE_FILE}")
    return state


def read_resumable(path: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's saved state, refused (one line naming every difference) when it was
    made with other ``RESUME_KEYS`` settings than this run's."""
    saved = read_state(path)
    before = saved.get("settings", {})
    differ = [
        f"{k} {before.get(k)} -> {settings[k]}" for k in RESUME_KEYS if before.get(k) != settings[k]
    ]
    differ += [
        f"--{k.replace('_', '-')} {before[k]} -> {settings[k]}"
        for k in FIXED_ON_RESUME
        if k in before and k in settings and before[k] != settings[k]
    ]
    if differ:
        raise UsageError(
            f"cannot resume {path}: it was made with other settings ({'; '.join(differ)}); "
            "use the same flags and number of processes (the optimizer and learning-rate "
            "schedule come back from the checkpoint), or start afresh with --overwrite"
        )
    return saved


def check_checkpoint_files(path: Path) -> None:
    """UsageError naming the file when a checkpoint's weights or optimizer state are damaged
    (torch's ``.bin``/``.pt`` files are zip archives: a truncated one has no central directory;
    safetensors headers are checked against the file size)."""
    import zipfile

    from lyrics_gpt2.modeling import check_weights

    check_weights(path)
    for f in sorted(path.glob("*.bin")) + sorted(path.glob("*.pt")) + sorted(path.glob("*.pth")):
        if not zipfile.is_zipfile(f):
            raise UsageError(
                f"checkpoint file {f} is damaged or truncated; resume from an older checkpoint "
                f"(--resume {path.parent}/step-...) or start afresh with --overwrite"
            )


def save_checkpoint(
    accelerator, output_dir: str | Path, step: int, state: dict[str, Any], keep: int
):
    """Save on every process (each writes its RNG state); only the main process renames and prunes."""
    root = checkpoint_root(output_dir)
    final = root / f"step-{step:08d}"
    tmp = root / f".step-{step:08d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    try:
        accelerator.save_state(str(tmp))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            write_json(tmp / STATE_FILE, state)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            for old in list_checkpoints(output_dir)[:-keep]:
                shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        # A full disk mid-save: the half-written folder goes (it has a hidden name, so it would
        # never be resumed, but it holds the space), the earlier checkpoints stay.
        shutil.rmtree(tmp, ignore_errors=True)
        raise UsageError(
            f"cannot write checkpoint {final} ({exc.strerror or exc}); free space in {root} "
            "and continue with --resume latest"
        ) from None
    accelerator.wait_for_everyone()
    return final
