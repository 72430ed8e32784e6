"""The optimizer and learning-rate schedule training uses (lyrics_gpt2.training.optim)."""

from __future__ import annotations

import itertools

import pytest
import torch

from lyrics_gpt2.training.config import TrainArgs
from lyrics_gpt2.training.optim import build_optimizer, get_lr_scheduler


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    from lyrics_gpt2.training.optim import lr_factor

    kw = {"warmup": 10, "total": 110, "min_ratio": 0.1}
    cos = [lr_factor(s, schedule="cosine", **kw) for s in range(110)]
    assert cos[0] == pytest.approx(0.1) and cos[9] == pytest.approx(1.0)
    assert all(x >= y for x, y in itertools.pairwise(cos[9:]))
    assert lr_factor(110, schedule="cosine", **kw) == pytest.approx(0.1)
    assert lr_factor(60, schedule="linear", **kw) == pytest.approx(0.55)
    assert lr_factor(60, schedule="constant", **kw) == 1.0


def test_weight_decay_applies_to_matrices_only():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    opt = build_optimizer(model, TrainArgs(lr=0.1, weight_decay=0.2))
    decayed, exempt = opt.param_groups
    assert decayed["weight_decay"] == 0.2 and exempt["weight_decay"] == 0.0
    assert [p.dim() for p in decayed["params"]] == [2]
    assert sorted(p.dim() for p in exempt["params"]) == [1, 1, 1]


def test_scheduler_survives_a_state_dict_round_trip():
    """Checkpoints save the scheduler; a resumed run must continue at the same rate."""
    model = torch.nn.Linear(2, 2)
    args = TrainArgs(lr=1.0, warmup_steps=2, lr_schedule="linear", min_lr_ratio=0.0)
    opt = build_optimizer(model, args)
    sched = get_lr_scheduler(opt, args, total_steps=10)
    for _ in range(5):
        opt.step()
        sched.step()
    again = get_lr_scheduler(build_optimizer(model, args), args, total_steps=10)
    again.load_state_dict(sched.state_dict())
    assert again.get_last_lr() == pytest.approx(sched.get_last_lr())
    assert sched.get_last_lr()[0] == pytest.approx(1 - 3 / 8)
