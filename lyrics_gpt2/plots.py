"""Loss-curve PNGs from a training run's metrics.jsonl (matplotlib, no display needed).

    python -m lyrics_gpt2.plots artifacts/model     # redraw the plots of a run

Writes ``train_loss.png`` (every optimizer step), ``val_loss.png`` (every validation) and
``val_loss_late.png`` (validation from step 1000 on, or after step 0 for shorter runs, where the
first, untrained point would flatten the rest of the curve).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, Problems, run
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


def _save(fig, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def plot_losses(records: list[dict], out_dir: str | Path) -> list[Path]:
    """Draw the loss curves of ``records`` into ``out_dir``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    train = [(r["step"], r["loss"]) for r in records if r.get("kind") == "train"]
    val = [(r["step"], r["val_loss"]) for r in records if r.get("kind") == "val"]
    written = []
    plots = [("train_loss.png", train, "training loss per batch (nats/token)", "tab:blue")]
    plots.append(("val_loss.png", val, "validation loss (nats/token)", "tab:orange"))
    late_from = LATE_FROM if any(s >= LATE_FROM for s, _ in val) else 1
    late = [(s, v) for s, v in val if s >= late_from]
    plots.append(("val_loss_late.png", late, f"validation loss from step {late_from}", "tab:red"))
    for name, points, title, color in plots:
        if not points:
            continue
        fig, ax = plt.subplots(figsize=(7, 4))
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, color=color, marker="o" if len(points) < 50 else None, lw=1)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        _save(fig, out_dir / name)
        plt.close(fig)
        written.append(out_dir / name)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="python -m lyrics_gpt2.plots", description=__doc__.split("\n")[0])
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
