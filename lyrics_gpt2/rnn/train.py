"""Train an RNN lyric model on the same clean songs and split as GPT-2 training.

    python -m lyrics_gpt2.rnn.train --arch char-lstm --data-dir artifacts/data --output-dir artifacts/rnn/char-lstm
    python -m lyrics_gpt2.rnn.train --arch char-lstm --condition artist --artists 20 --max-minutes 10 ...
    python -m lyrics_gpt2.rnn.train --arch word-lstm --layers 3 --hidden-size 728 --embed-dim 728 --dropout 0.5 ...
    python -m lyrics_gpt2.rnn.train ... --resume          # continue where the last checkpoint stopped
    python -m lyrics_gpt2.rnn.train --help                # every setting

Reads ``DATA/chunks`` and the split of ``DATA/tokenized`` (see ``lyrics_gpt2/rnn/data.py``) and
writes into ``--output-dir``: the best model so far by validation bits per byte
(``config.json``, ``model.safetensors``, ``vocab.json``; ``load_rnn(DIR)`` loads it),
``metrics.jsonl`` (one line per step and per validation), ``loss.png``, ``summary.json`` and
``checkpoint/`` (the latest resumable state: weights, optimizer, the carried hidden state, RNG).

Training: truncated back-propagation through time over windows of ``--bptt`` steps, the state
carried (detached) between a song's windows and zeroed where a song starts; Adam, gradient norm
clipping. ``--gradient-checkpointing`` recomputes each ``--segment``-step piece of a window in
the backward pass instead of keeping its activations. Validation runs at step 0, every
``--eval-every`` steps and at the end. ``--max-minutes`` bounds the time spent in training steps
(validation and saving not counted). A resumed run continues the same windows with the same
state and reproduces the losses of an uninterrupted run. Runs on CUDA when present.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import read_json, write_json
from lyrics_gpt2.modeling import pick_device
from lyrics_gpt2.rnn.data import IGNORE, WindowPlan, encode_songs, load_splits
from lyrics_gpt2.rnn.loop import (
    TBPTTLoop,
    add_loop_flags,
    detach,
    loop_problems,
    prepare_output,
    reset_lanes,
    save_model_files,
)
from lyrics_gpt2.rnn.model import ARCHS, RNNLM, RNNBundle, RNNConfig, count_parameters, save_rnn
from lyrics_gpt2.rnn.scoring import LN2, bits_per_byte, score_encoded
from lyrics_gpt2.rnn.vocab import ByteVocab, Conditions, WordVocab
from lyrics_gpt2.training.plots import draw_curves, points

# What save_rnn writes, config.json last (lyrics_gpt2.rnn.loop.save_model_files).
MODEL_FILES = ("model.safetensors", "vocab.json", "config.json")

# Per-arch defaults for the flags left unset: small enough for a CPU, the word model as the
# original (3 x 728, tied, dropout 0.5, 32-word windows).
DEFAULTS = {
    "char-rnn": {"embed_dim": 64, "hidden_size": 256, "layers": 2, "dropout": 0.1, "bptt": 128},
    "char-gru": {"embed_dim": 64, "hidden_size": 256, "layers": 2, "dropout": 0.1, "bptt": 128},
    "char-lstm": {"embed_dim": 64, "hidden_size": 256, "layers": 2, "dropout": 0.1, "bptt": 128},
    "word-lstm": {"embed_dim": 728, "hidden_size": 728, "layers": 3, "dropout": 0.5, "bptt": 32},
}
# Settings a resumed run must share with its checkpoint, or the windows and weights mean nothing.
RESUME_KEYS = (
    "arch", "condition", "artists", "embed_dim", "hidden_size", "layers", "dropout", "bptt",
    "batch_size", "seed", "min_count", "max_vocab", "data_dir",
)  # fmt: skip


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m lyrics_gpt2.rnn.train", description=__doc__.split("\n")[0])
    a = p.add_argument
    a("--arch", required=True, choices=ARCHS, help="model architecture")
    a("--data-dir", type=Path, default=Path("artifacts/data"), help="(%(default)s)")
    a("--output-dir", type=Path, required=True, help="where the model and metrics go")
    a("--condition", choices=("none", "genre", "artist"), default="none", help="(%(default)s)")
    a("--artists", type=int, default=None, help="--condition artist: top-N training artists (20)")
    a("--embed-dim", type=int, help="embedding width (per-arch default)")
    a("--hidden-size", type=int, help="units per layer (per-arch default)")
    a("--layers", type=int, help="stacked layers (per-arch default)")
    a("--dropout", type=float, help="dropout; word-lstm: variational on emb/rec/out")
    a("--bptt", type=int, help="TBPTT window in steps (bytes or words; per-arch default)")
    a("--batch-size", type=int, default=32, help="parallel lanes of songs (%(default)s)")
    a("--lr", type=float, default=2e-3, help="Adam learning rate (%(default)s)")
    a("--eval-max-songs", type=int, default=None, help="validate on the first N songs only")
    a("--gradient-checkpointing", action="store_true", help="recompute activations in backward")
    a("--segment", type=int, default=None, help="steps per checkpointed piece (default bptt/4)")
    a("--min-count", type=int, default=5, help="word-lstm: keep pieces seen >= N times")
    a("--max-vocab", type=int, default=None, help="word-lstm: cap the vocabulary size")
    add_loop_flags(p)
    return p


def check_args(args) -> None:
    for key, value in DEFAULTS[args.arch].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    # Flags that only one setting reads: given with another, they would be silently ignored.
    problems = []
    if args.artists is not None and args.condition != "artist":
        problems.append(
            f"--artists applies to --condition artist only (got --condition {args.condition})"
        )
    if args.arch != "word-lstm":
        problems += [f"--{k.replace('_', '-')} applies to --arch word-lstm only"
                     for k, default in (("min_count", 5), ("max_vocab", None))
                     if getattr(args, k) != default]  # fmt: skip
    args.artists = 20 if args.artists is None else args.artists
    args.segment = max(1, args.bptt // 4) if args.segment is None else args.segment
    problems += [
        f"--{k.replace('_', '-')} must be >= 1 (got {getattr(args, k)})"
        for k in ("embed_dim", "hidden_size", "layers", "bptt", "batch_size",
                  "segment", "min_count", "artists")
        if getattr(args, k) < 1
    ]  # fmt: skip
    if not 0 <= args.dropout < 1:
        problems.append(f"--dropout must be in [0, 1) (got {args.dropout})")
    if args.lr <= 0:
        problems.append(f"--lr must be > 0 (got {args.lr})")
    if args.eval_max_songs is not None and args.eval_max_songs <= 0:
        problems.append(f"--eval-max-songs must be > 0 (got {args.eval_max_songs})")
    problems += loop_problems(args)
    if problems:
        raise UsageError("; ".join(problems))


def settings(args) -> dict:
    out = {k: getattr(args, k) for k in RESUME_KEYS}
    out["data_dir"] = str(Path(args.data_dir).resolve())
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    device = pick_device(args.device)
    check_args(args)
    out: Path = args.output_dir
    folder = prepare_output(
        out, args.resume, args.overwrite, command="rnn.train",
        inputs=[("--data-dir", args.data_dir)], model_files=MODEL_FILES,
    )  # fmt: skip
    torch.manual_seed(args.seed)

    # 1. data and vocabulary (built from the training songs only)
    splits = load_splits(args.data_dir)
    train_songs, val_songs = splits["train"], splits["validation"][: args.eval_max_songs]
    if not train_songs or not val_songs:
        raise UsageError(f"{args.data_dir} needs training and validation songs")
    if args.arch == "word-lstm":
        vocab = WordVocab.build((s.lyrics for s in train_songs), args.min_count, args.max_vocab)
        if vocab.size <= len(WordVocab.SPECIALS):
            raise UsageError(
                f"--min-count {args.min_count} keeps no word piece of the training songs (only "
                f"{', '.join(WordVocab.SPECIALS)}); lower it"
            )
    else:
        vocab = ByteVocab()
    conditions = Conditions.build(
        args.condition,
        (s.genre for s in train_songs),
        (s.artist for s in train_songs),
        args.artists,
    )
    train = encode_songs(train_songs, vocab, conditions)
    val = encode_songs(val_songs, vocab, conditions)
    bytes_per_target = train.nbytes.sum() / (train.lengths() + 1).sum()

    # 2. model, optimizer, and the run (fresh or resumed: see lyrics_gpt2/rnn/loop.py)
    config = RNNConfig(
        args.arch, vocab.size, args.embed_dim, args.hidden_size, args.layers, args.dropout,
        conditions.size,
    )  # fmt: skip
    model = RNNLM(config).to(device)
    bundle = RNNBundle(model, vocab, conditions, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    def score() -> dict:
        nll = score_encoded(model, val, vocab.bos, vocab.eos)
        targets = (val.lengths() + 1).sum()
        return {"val_bpb": bits_per_byte(nll, val.nbytes), "val_loss": nll.sum() / targets}

    loop = TBPTTLoop(
        out, model=model, optimizer=optimizer, state=model.init_state(args.batch_size, device),
        settings=settings(args), device=device, val_key="val_bpb", score=score,
        save_best=lambda: save_model_files(out, lambda d: save_rnn(bundle, d), MODEL_FILES),
        rate=("bytes_per_s", bytes_per_target), clip=args.clip,
        folder=folder, model_files=MODEL_FILES,
    )  # fmt: skip
    loop.start(args.resume)
    n_params = count_parameters(model)
    loop.track(args.report_to, {**vars(args), "parameters": n_params, "train_songs": len(train)})
    print(
        f"training {args.arch} ({n_params:,} parameters, condition {args.condition}) on "
        f"{len(train)} songs, validating on {len(val)}; {device}",
        file=sys.stderr,
    )

    # 3. train: windows of each epoch's lane plan, state carried between a song's windows
    def step(plan: WindowPlan, k: int, state):
        w = plan.window(k, vocab.bos, vocab.eos)
        x, y = torch.from_numpy(w.x).to(device), torch.from_numpy(w.y).to(device)
        cond = torch.from_numpy(w.cond).to(device)
        state = reset_lanes(detach(state), torch.from_numpy(w.reset).to(device))
        nll, state = model.window_nll(x, y, cond, state, args.segment, args.gradient_checkpointing)
        return nll, int((w.y != IGNORE).sum()), state

    final = loop.fit(
        plan=lambda epoch: WindowPlan(train, args.batch_size, args.bptt, args.seed, epoch),
        step=step, epochs=args.epochs, max_steps=args.max_steps, max_minutes=args.max_minutes,
        eval_every=args.eval_every, checkpoint_every=args.checkpoint_every, unit="bits per byte",
    )  # fmt: skip
    draw_curves(out / "loss.png", [
        (points(loop.records, "train", "loss", 1 / LN2), "training (bits per target)", "-"),
        (points(loop.records, "val", "val_bpb"), "validation (bits per byte)", "o-"),
    ], ylabel="bits")  # fmt: skip

    # 4. summary
    t, train_records = loop.t, loop.train_records()
    summary = {
        "kind": args.arch,
        "condition": conditions.to_json(),
        "parameters": n_params,
        "steps": t["step"],
        "epochs": train_records[-1]["epoch"] if train_records else 0.0,
        "train_time_s": round(t["train_time_s"], 3),
        "bytes_per_s": loop.throughput(),
        "final_val_bpb": final,
        "best_val_bpb": t["best"],
        "train_songs": len(train),
        "val_songs": len(val),
        "vocab_size": vocab.size,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "data_dir": str(Path(args.data_dir).resolve()),
        "config": asdict(config),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    write_json(out / "summary.json", summary)
    print(
        f"saved {out}: best validation {t['best']:.4f} bits per byte after {t['step']} steps "
        f"({t['train_time_s'] / 60:.1f} min of training)"
    )
    return 0


def read_summary(folder: str | Path) -> dict:
    return read_json(Path(folder) / "summary.json") or {}


if __name__ == "__main__":
    sys.exit(run(main))
