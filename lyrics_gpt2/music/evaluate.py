"""Frame-level NLL and accuracy of a music model on the validation tunes, next to two baselines.

    python -m lyrics_gpt2.music.evaluate --model artifacts/music/bach
    python -m lyrics_gpt2.music.evaluate --model artifacts/music/bach --json artifacts/music/eval.json

Reads the tunes the model was trained on (its ``summary.json``: corpus or folder, grid, split,
cache) and scores the validation tunes, each from its first frame with a zero state:

- **NLL**: negative log-likelihood per time step in nats, summed over the pitches of a frame and
  averaged over all validation frames (frame-weighted, so a long tune counts more). The published
  figures (Boulanger-Lewandowski et al. 2012) are log-likelihoods per time step of the same kind,
  on quarter-note (JSB) or eighth-note (Nottingham) grids with their own pitch ranges and splits:
  compare ``--grid quarter`` runs with JSB, and read the order of magnitude, not the decimals.
- **accuracy**: Bay et al. (2009) frame-level accuracy, TP / (TP + FP + FN), with the counts
  summed over all validation frames and pitches; a pitch is predicted on when its probability
  is above 0.5.

Baselines: **repeat previous frame** (each pitch on with probability 1 - eps if it sounded in
the previous frame, else eps; eps = 0.01, silence before the first frame) and **pitch frequency**
(an independent Bernoulli per pitch, the share of training frames where it sounds, add-one
smoothed).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import UsageError, require_extra
from lyrics_gpt2.fileio import check_inputs, check_output, read_json, write_json
from lyrics_gpt2.music.corpus import Rolls, tunes_of_run

REPEAT_EPS = 0.01


def scores(targets: list[np.ndarray], log_on: list[np.ndarray], log_off: list[np.ndarray]):
    """{"nll": nats per frame, "accuracy": Bay et al., "frames": n} of per-tune [T, P] arrays."""
    nll, frames, tp, fp, fn = 0.0, 0, 0, 0, 0
    for y, lon, loff in zip(targets, log_on, log_off, strict=True):
        on = y.astype(bool)
        nll -= float(np.where(on, lon, loff).sum())
        frames += len(y)
        pred = lon > loff  # probability above 0.5
        tp += int((pred & on).sum())
        fp += int((pred & ~on).sum())
        fn += int((~pred & on).sum())
    return {
        "nll": nll / max(frames, 1),
        "accuracy": tp / max(tp + fp + fn, 1),
        "frames": frames,
    }


@torch.no_grad()
def model_log_probs(model, tunes: list[np.ndarray], bars: Sequence[float] | None = None):
    """(log p(on), log p(off)) per tune, each [T, P], every tune from a zero state; ``bars``
    (bar length per tune, quarter notes) is read by a meter-conditioned model."""
    model.eval()
    device = next(model.parameters()).device
    bars = [4.0] * len(tunes) if bars is None else bars
    on, off = [], []
    for roll, bar in zip(tunes, bars, strict=True):
        x = np.zeros_like(roll, dtype=np.float32)
        x[1:] = roll[:-1]
        cond = torch.tensor([model.config.meter_index(float(bar))], device=device)
        logits, _ = model(torch.from_numpy(x)[None].to(device), model.init_state(1, device), cond)
        z = logits[0].float()
        on.append(F.logsigmoid(z).cpu().numpy())
        off.append(F.logsigmoid(-z).cpu().numpy())
    return on, off


def model_scores(model, tunes: list[np.ndarray], bars: Sequence[float] | None = None) -> dict:
    return scores(tunes, *model_log_probs(model, tunes, bars))


def repeat_scores(tunes: list[np.ndarray], eps: float = REPEAT_EPS) -> dict:
    on, off = [], []
    for roll in tunes:
        prev = np.zeros_like(roll, dtype=bool)
        prev[1:] = roll[:-1].astype(bool)
        p = np.where(prev, 1 - eps, eps)
        on.append(np.log(p))
        off.append(np.log1p(-p))
    return scores(tunes, on, off)


def frequency_scores(train: list[np.ndarray], tunes: list[np.ndarray]) -> dict:
    counts = sum(r.sum(axis=0, dtype=np.int64) for r in train)
    frames = sum(len(r) for r in train)
    p = (counts + 1) / (frames + 2)
    return scores(
        tunes,
        [np.broadcast_to(np.log(p), r.shape) for r in tunes],
        [np.broadcast_to(np.log1p(-p), r.shape) for r in tunes],
    )


def evaluation_table(model, train: Rolls, val: Rolls) -> list[dict]:
    """Rows for the model and both baselines on the validation tunes."""
    train_tunes = [train.tune(i) for i in range(len(train))]
    val_tunes = [val.tune(i) for i in range(len(val))]
    name = "music-lstm | meter" if model.config.meters else "music-lstm"
    return [
        {"name": name, **model_scores(model, val_tunes, val.bars)},
        {"name": f"repeat previous frame (eps {REPEAT_EPS})", **repeat_scores(val_tunes)},
        {"name": "pitch frequency (train)", **frequency_scores(train_tunes, val_tunes)},
    ]


def format_table(rows: list[dict]) -> str:
    lines = [f"{'model':<34} {'NLL nats/frame':>15} {'accuracy':>9} {'frames':>8}"]
    for r in rows:
        lines.append(f"{r['name']:<34} {r['nll']:>15.3f} {r['accuracy']:>9.3f} {r['frames']:>8,}")
    return "\n".join(lines)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.music.evaluate", description=__doc__.split("\n")[0]
    )
    p.add_argument("--model", type=Path, required=True, help="a folder written by music.train")
    p.add_argument("--json", type=Path, default=None, help="also write the rows here")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from lyrics_gpt2.music.model import load_music

    args = build_parser().parse_args(argv)
    require_extra("music", "python -m lyrics_gpt2.music.evaluate", "music21", "mido")
    if args.json is not None:
        check_output(args.json, flag="--json")
        check_inputs([("--json", args.json)], [("--model", args.model)])
    model = load_music(args.model)
    summary = read_json(args.model / "summary.json")
    if not summary:
        raise UsageError(f"{args.model} has no summary.json; train it with music.train first")
    train, val = tunes_of_run(summary, model.config.low, model.config.high)
    rows = evaluation_table(model, train, val)
    print(f"{len(val)} validation tunes, grid {summary['args']['grid']}", file=sys.stderr)
    print(format_table(rows))
    if args.json is not None:
        write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
