"""Train the piano-roll LSTM on Bach chorales, folk tunes or a folder of MIDI/ABC files.

    python -m lyrics_gpt2.music.train --output-dir artifacts/music/bach                  # the chorales
    python -m lyrics_gpt2.music.train --corpus folk --grid 8th --output-dir artifacts/music/folk
    python -m lyrics_gpt2.music.train --data-dir my_midis/ --output-dir artifacts/music/mine
    python -m lyrics_gpt2.music.train ... --max-minutes 5      # bound the training time
    python -m lyrics_gpt2.music.train ... --resume             # continue an interrupted run exactly
    python -m lyrics_gpt2.music.train --help                   # every setting

Reads the tunes through ``lyrics_gpt2/music/corpus.py`` (rolls cached under ``--cache-dir``),
splits them by a stable hash of each tune's name (``--val-fraction``), and trains with the lyric
RNNs' machinery (``lyrics_gpt2/rnn/loop.py``): truncated back-propagation through time in
windows of ``--bptt`` frames, Adam, gradient clipping, validation at step 0, every
``--eval-every`` steps and at the end, the best model by validation NLL kept in the folder,
``--max-minutes``, exact ``--resume``. ``--condition meter`` feeds the model a one-hot of each
tune's bar length (its time signature; the meters of the training tunes, plus "other"). Writes into ``--output-dir``: ``config.json`` and
``model.safetensors`` (``load_music(DIR)``), ``metrics.jsonl``, ``loss.png``, ``checkpoint/``
and ``summary.json`` holding the evaluation table of ``lyrics_gpt2.music.evaluate`` (the best
model and both baselines on the validation tunes).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems, require_extra
from lyrics_gpt2.fileio import check_output, write_json
from lyrics_gpt2.modeling import pick_device
from lyrics_gpt2.music.corpus import CORPORA, GRIDS, read_split
from lyrics_gpt2.music.evaluate import evaluation_table, format_table, model_scores
from lyrics_gpt2.music.model import (
    MusicConfig,
    RollLSTM,
    RollPlan,
    count_parameters,
    load_music,
    save_music,
)
from lyrics_gpt2.rnn.loop import (
    TBPTTLoop,
    add_loop_flags,
    detach,
    loop_problems,
    prepare_output,
    reset_lanes,
    save_model_files,
)
from lyrics_gpt2.training.plots import draw_curves, points

# What save_music writes, config.json last (lyrics_gpt2.rnn.loop.save_model_files).
MODEL_FILES = ("model.safetensors", "config.json")
# Settings a resumed run must share with its checkpoint.
RESUME_KEYS = (
    "source", "grid", "val_fraction", "max_tunes", "condition", "hidden_size", "layers",
    "dropout", "bptt", "batch_size", "seed",
)  # fmt: skip


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m lyrics_gpt2.music.train", description=__doc__.split("\n")[0])
    a = p.add_argument
    a("--output-dir", type=Path, required=True, help="where the model and metrics go")
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--corpus",
        choices=CORPORA,
        default=None,
        help="music21's tunes: bach chorales (default), folk (Essen)",
    )
    src.add_argument("--data-dir", type=Path, default=None, help="a folder of .mid/.abc tunes")
    a("--grid", choices=tuple(GRIDS), default="16th", help="frame length (%(default)s)")
    a("--cache-dir", type=Path, default=Path("artifacts/cache/music"), help="(%(default)s)")
    a("--max-tunes", type=int, default=None, help="read only the first N tunes")
    a("--val-fraction", type=float, default=0.1, help="share of tunes held out (%(default)s)")
    a("--condition", choices=("none", "meter"), default="none", help="(%(default)s)")
    a("--hidden-size", type=int, default=256, help="LSTM units per layer (%(default)s)")
    a("--layers", type=int, default=2, help="stacked LSTM layers (%(default)s)")
    a("--dropout", type=float, default=0.2, help="(%(default)s)")
    a("--bptt", type=int, default=64, help="TBPTT window in frames (%(default)s)")
    a("--batch-size", type=int, default=16, help="parallel lanes of tunes (%(default)s)")
    a("--lr", type=float, default=2e-3, help="Adam learning rate (%(default)s)")
    add_loop_flags(p, eval_every=100, epochs=20)
    return p


def check_args(args) -> None:
    with Problems() as problems:
        for k in ("hidden_size", "layers", "bptt", "batch_size"):
            v = getattr(args, k)
            problems.require(v >= 1, f"--{k.replace('_', '-')} must be >= 1 (got {v})")
        problems.require(0 <= args.dropout < 1, f"--dropout must be in [0, 1) (got {args.dropout})")
        problems.require(args.lr > 0, f"--lr must be > 0 (got {args.lr})")
        problems.require(
            0 < args.val_fraction < 1, f"--val-fraction must be in (0, 1) (got {args.val_fraction})"
        )
        if args.max_tunes is not None:
            problems.require(
                args.max_tunes >= 2, f"--max-tunes must be >= 2 (got {args.max_tunes})"
            )
        if args.data_dir is not None:
            problems.require(args.data_dir.is_dir(), f"--data-dir {args.data_dir} is not a folder")
        for message in loop_problems(args):
            problems.add(message)
    args.source = (
        str(args.data_dir.resolve()) if args.data_dir is not None else args.corpus or "bach"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    device = pick_device(args.device)
    require_extra("music", "python -m lyrics_gpt2.music.train", "music21", "mido")
    check_args(args)
    out: Path = args.output_dir
    check_output(out, flag="--output-dir", is_dir=True)
    folder = prepare_output(
        out, args.resume, args.overwrite, command="music.train",
        inputs=[("--data-dir", args.data_dir), ("--cache-dir", args.cache_dir)],
        model_files=MODEL_FILES,
    )  # fmt: skip
    torch.manual_seed(args.seed)

    # 1. tunes, split by tune
    rolls, train, val = read_split(
        args.source, args.grid, args.cache_dir, args.max_tunes, args.val_fraction
    )
    val_tunes = [val.tune(i) for i in range(len(val))]

    # 2. model, optimizer, and the run (fresh or resumed: see lyrics_gpt2/rnn/loop.py)
    meters = sorted(set(train.bars.tolist())) if args.condition == "meter" else []
    config = MusicConfig(
        rolls.low, rolls.high, rolls.steps_per_quarter, args.hidden_size, args.layers,
        args.dropout, args.corpus or str(args.data_dir or "bach"), meters,
    )  # fmt: skip
    train_cond = np.asarray([config.meter_index(b) for b in train.bars.tolist()], dtype=np.int64)
    model = RollLSTM(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    def score() -> dict:
        s = model_scores(model, val_tunes, val.bars)
        return {"val_nll": s["nll"], "val_accuracy": s["accuracy"]}

    loop = TBPTTLoop(
        out, model=model, optimizer=optimizer, state=model.init_state(args.batch_size, device),
        settings={k: getattr(args, k) for k in RESUME_KEYS}, device=device, val_key="val_nll",
        score=score, rate=("frames_per_s", 1.0), clip=args.clip,
        save_best=lambda: save_model_files(out, lambda d: save_music(model, d), MODEL_FILES),
        folder=folder, model_files=MODEL_FILES,
    )  # fmt: skip
    loop.start(args.resume)
    n_params = count_parameters(model)
    loop.track(args.report_to, {**vars(args), "parameters": n_params, "train_tunes": len(train)})
    print(
        f"training music-lstm ({n_params:,} parameters, pitches {config.low}..{config.high}, "
        f"grid {args.grid}, meters {meters or 'not read'}) on {len(train)} tunes ({train.lengths().sum():,} frames), "
        f"validating on {len(val)}; {device}",
        file=sys.stderr,
    )

    # 3. train
    def step(plan: RollPlan, k: int, state):
        x, y, valid, reset, cond = (torch.from_numpy(a).to(device) for a in plan.roll_window(k))
        state = reset_lanes(detach(state), reset)
        nll, state = model.window_nll(x, y, valid, state, cond)
        return nll, int(valid.sum()), state

    final = loop.fit(
        plan=lambda epoch: RollPlan(train, args.batch_size, args.bptt, args.seed, epoch, train_cond),
        step=step, epochs=args.epochs, max_steps=args.max_steps, max_minutes=args.max_minutes,
        eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
        unit="nats per frame",
    )  # fmt: skip
    draw_curves(out / "loss.png", [
        (points(loop.records, "train", "loss"), "training (BCE, nats per frame)", "-"),
        (points(loop.records, "val", "val_nll"), "validation (nats per frame)", "o-"),
    ], ylabel="nats per frame")  # fmt: skip

    # 4. the best model against the baselines, and the summary
    best = load_music(out, device)
    rows = evaluation_table(best, train, val)
    t, train_records = loop.t, loop.train_records()
    summary = {
        "kind": "music-lstm",
        "parameters": n_params,
        "steps": t["step"],
        "epochs": train_records[-1]["epoch"] if train_records else 0.0,
        "train_time_s": round(t["train_time_s"], 3),
        "frames_per_s": loop.throughput(),
        "final_val_nll": final,
        "best_val_nll": t["best"],
        "train_tunes": len(train),
        "val_tunes": len(val),
        "val_names": val.names,
        "evaluation": rows,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "config": asdict(config),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    write_json(out / "summary.json", summary)
    print(format_table(rows))
    print(
        f"saved {out}: best validation {t['best']:.3f} nats per frame after {t['step']} steps "
        f"({t['train_time_s'] / 60:.1f} min of training)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
