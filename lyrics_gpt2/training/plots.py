"""Loss-curve PNGs from a training run's metrics.jsonl (matplotlib, no display needed).

    python -m lyrics_gpt2.training.plots artifacts/model     # redraw the plots of a run

Writes ``train_loss.png`` (every optimizer step), ``val_loss.png`` (every validation) and
``val_loss_late.png`` (validation from step 1000 on, or after step 0 for shorter runs, where the
first, untrained point would flatten the rest of the curve).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems
from lyrics_gpt2.fileio import atomic_path

LATE_FROM = 1000


def read_metrics(path: str | Path) -> list[dict]:
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


def draw_curves(dest: Path, curves: Sequence[tuple[list, str, str]], *, ylabel: str, title=None):
    """One PNG of (points, label, matplotlib style) curves against the step, written atomically.
    Every loss plot of the project (GPT-2, the RNNs, music) is drawn here."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for points, label, style in curves:
        if points:
            few = len(points) < 50 and not any(c in style for c in "o.sx^")
            ax.plot(
                *zip(*points, strict=True), style, label=label, marker="o" if few else None, lw=1
            )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return dest


def points(records: list[dict], kind: str, key: str, scale: float = 1.0) -> list[tuple]:
    """(step, value) of ``records`` (metrics.jsonl lines) of one kind ("train" or "val")."""
    return [(r["step"], r[key] * scale) for r in records if r.get("kind") == kind and key in r]


def plot_losses(records: list[dict], out_dir: str | Path) -> list[Path]:
    """GPT-2's three loss PNGs of ``records`` in ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    train, val = points(records, "train", "loss"), points(records, "val", "val_loss")
    late_from = LATE_FROM if any(s >= LATE_FROM for s, _ in val) else 1
    late = [(s, v) for s, v in val if s >= late_from]
    plots = [
        ("train_loss.png", train, "training loss per batch (nats/token)", "tab:blue"),
        ("val_loss.png", val, "validation loss (nats/token)", "tab:orange"),
        ("val_loss_late.png", late, f"validation loss from step {late_from}", "tab:red"),
    ]
    return [
        draw_curves(out_dir / name, [(pts, title, color)], ylabel="loss", title=title)
        for name, pts, title, color in plots
        if pts
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m lyrics_gpt2.training.plots", description=__doc__.split("\n")[0]
    )
    parser.add_argument("run_dir", type=Path, help="a training output folder with metrics.jsonl")
    args = parser.parse_args(argv)
    metrics = args.run_dir / "metrics.jsonl"
    with Problems() as problems:
        problems.require(
            metrics.is_file(), f"no metrics.jsonl in {args.run_dir}; pass a training output folder"
        )
    for path in plot_losses(read_metrics(metrics), args.run_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
