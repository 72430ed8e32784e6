"""How lyrics_gpt2/train.py runs: its accelerate ``Accelerator`` and its tie to the launcher.

    accelerate launch -q lyrics_gpt2/train.py --preset gpt2      # what calls make_accelerator

``make_accelerator`` turns the training flags into an Accelerator (mixed precision, torch.compile,
trackers, DDP over gloo on CPU, non-blocking host-to-device copies on GPU);
``die_with_launcher`` ends training when ``accelerate launch`` is killed.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch

from lyrics_gpt2.cli import die_with_parent
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.training.config import TrainArgs
from lyrics_gpt2.training.tracking import require_tracker


def make_accelerator(args: TrainArgs):
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration, TorchDynamoPlugin

    precision = args.mixed_precision
    if precision == "auto":
        if torch.cuda.is_available():
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "no"
    elif precision != "no" and not torch.cuda.is_available():
        raise UsageError(
            f"--mixed-precision {precision} needs a GPU here; use --mixed-precision no"
        )
    kwargs = {}
    if torch.cuda.is_available():
        from accelerate.utils import DataLoaderConfiguration

        # Pinned batches copied without blocking: a blocking copy would wait for the GPU to
        # finish the previous step, a host sync every step.
        kwargs["dataloader_config"] = DataLoaderConfiguration(non_blocking=True)
    if args.compile:
        # dynamic left unset: torch compiles the first width static (the fastest kernels, and at
        # a fixed width, as in the GPU benchmark, the only graph) and recompiles once with a
        # dynamic width when trimmed batches change it. dynamic=True from the start cost 3% speed
        # and 7.4 GB more peak memory at a fixed width (docs/training.md, H200).
        kwargs["dynamo_plugin"] = TorchDynamoPlugin(backend="inductor")
    # `accelerate launch --multi_gpu` (torchrun) on a machine without CUDA: accelerate only picks
    # DDP over gloo when told it runs on CPU, otherwise each process would train alone.
    if not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        kwargs["cpu"] = True
    require_tracker(args.report_to)  # a missing package: one line, before any work
    trackers = None if args.report_to == "none" else args.report_to
    return Accelerator(
        gradient_accumulation_steps=args.grad_accum,
        mixed_precision=precision,
        log_with=trackers,
        project_config=ProjectConfiguration(
            project_dir=args.output_dir, logging_dir=str(Path(args.output_dir) / "runs")
        ),
        **kwargs,
    )


def die_with_launcher() -> None:
    """Under ``accelerate launch`` (or torchrun), end this process when the launcher dies.

    ``kill -9`` of the launcher cannot forward a signal, and the training process would go on
    writing checkpoints and metrics into a folder the user believes idle. Run by hand (``python
    train.py``) nothing changes, so closing a shell's parent does not end a run started with nohup.
    """
    # What the launchers put in the environment of the process they start (accelerate's
    # launch prepares ACCELERATE_MIXED_PRECISION; torchrun sets TORCHELASTIC_RUN_ID).
    if any(k in os.environ for k in ("ACCELERATE_MIXED_PRECISION", "TORCHELASTIC_RUN_ID")):
        die_with_parent(os.getppid(), signal.SIGTERM)
