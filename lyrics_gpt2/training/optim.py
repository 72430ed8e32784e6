"""The optimizer and learning-rate schedule that lyrics_gpt2/train.py trains with.

AdamW with weight decay on matrices only, and a linear warmup followed by cosine or linear decay
(or a constant rate), counted in optimizer steps. ``python lyrics_gpt2/train.py --help`` lists
the flags that set them (--lr, --weight-decay, --warmup-steps, --lr-schedule, --min-lr-ratio).
"""

from __future__ import annotations

import math

import torch

from lyrics_gpt2.training.config import TrainArgs


def build_optimizer(model, args: TrainArgs) -> torch.optim.Optimizer:
    """AdamW with weight decay on matrices only (biases, LayerNorm gains and 1-d params exempt).

    Under LoRA the genre rows (a [rows, width] matrix) decay like the embedding does in full
    fine-tuning. Fused kernels on CUDA (one launch for all parameters).
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": args.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = next(model.parameters()).is_cuda
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, fused=fused)


def lr_factor(step: int, *, warmup: int, total: int, schedule: str, min_ratio: float) -> float:
    """Multiplier of the peak learning rate before optimizer step ``step`` (0-based)."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    if schedule == "constant" or total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    decay = 1.0 - progress if schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))
    return min_ratio + (1.0 - min_ratio) * decay


class _Schedule:
    """A picklable LR lambda (LambdaLR stores callable objects, not plain lambdas, in its state)."""

    def __init__(self, **kw):
        self.kw = kw

    def __call__(self, step: int) -> float:
        return lr_factor(step, **self.kw)


def get_lr_scheduler(optimizer, args: TrainArgs, total_steps: int):
    """Linear warmup, then cosine/linear decay to ``min_lr_ratio * lr`` at ``total_steps``.

    Counted in optimizer steps and stepped by hand only when gradients sync, so neither gradient
    accumulation nor the number of processes changes the schedule.
    """
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        _Schedule(
            warmup=args.warmup_steps,
            total=total_steps,
            schedule=args.lr_schedule,
            min_ratio=args.min_lr_ratio,
        ),
    )
