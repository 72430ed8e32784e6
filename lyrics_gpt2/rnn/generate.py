"""Sample songs from a trained RNN lyric model.

    python -m lyrics_gpt2.rnn.generate --model artifacts/rnn/char-lstm --num-songs 3
    python -m lyrics_gpt2.rnn.generate --model artifacts/rnn/char-lstm-artist --artist "Some Artist" --prime "Why"
    python -m lyrics_gpt2.rnn.generate --model artifacts/rnn/char-lstm-genre --genre rap --temperature 0.8 --seed 7
    python -m lyrics_gpt2.rnn.generate --model DIR --output songs.txt

Songs are sampled in batches (``--batch-size``) from ``<bos>`` plus the ``--prime`` text (kept at
the start of each song) at ``--temperature``; a song stops at end-of-song or after
``--max-length`` steps (bytes, or word pieces for word-lstm). ``<bos>`` and the word model's
``<unk>`` are never drawn. The same ``--seed`` with the same flags gives the same songs. A model
trained with ``--condition genre`` needs ``--genre``, one with ``--condition artist`` needs
``--artist`` (one of its artists, or ``other``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import atomic_path, check_inputs, check_output
from lyrics_gpt2.inference.params import MIN_TEMPERATURE
from lyrics_gpt2.modeling import add_device_flag, pick_device
from lyrics_gpt2.rnn.model import RNNBundle, is_rnn_folder, load_rnn
from lyrics_gpt2.rnn.vocab import WordVocab


def condition_index(bundle: RNNBundle, genre: str | None, artist: str | None) -> int:
    """The condition id for the flags given; a UsageError when they do not fit the model."""
    cond = bundle.conditions
    asked = ("genre", genre) if genre is not None else ("artist", artist) if artist else None
    if cond.kind == "none":
        if asked:
            raise UsageError(f"this model is not conditioned; drop --{asked[0]}")
        return 0
    if asked is None or asked[0] != cond.kind:
        raise UsageError(
            f"this model is conditioned on {cond.kind}; pass --{cond.kind} "
            f"(one of: {', '.join(cond.labels[:10])}{', ...' if cond.size > 10 else ''})"
        )
    if asked[1] not in cond.labels:
        raise UsageError(
            f"unknown {cond.kind} {asked[1]!r}; the model knows: {', '.join(cond.labels[:10])}"
            f"{', ...' if cond.size > 10 else ''}"
        )
    return cond.labels.index(asked[1])


@torch.no_grad()
def sample_songs(
    bundle: RNNBundle,
    cond: int = 0,
    prime: str = "",
    temperature: float = 1.0,
    num_songs: int = 1,
    seed: int = 0,
    max_length: int = 2000,
    batch_size: int = 16,
) -> list[str]:
    """``num_songs`` sampled songs, each starting with ``prime``."""
    model, vocab = bundle.model, bundle.vocab
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    banned = [vocab.bos] + ([vocab.unk] if isinstance(vocab, WordVocab) else [])
    songs = []
    for start in range(0, num_songs, batch_size):
        n = min(batch_size, num_songs - start)
        x = torch.tensor([[vocab.bos, *vocab.encode(prime)]] * n, device=device)
        c = torch.full((n,), cond, dtype=torch.long, device=device)
        logits, state = model(x, c, model.init_state(n, device))
        logits = logits[:, -1]
        out = torch.zeros((n, 0), dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        for _ in range(max_length):
            logits[:, banned] = -torch.inf
            probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]
            nxt[done] = vocab.eos  # finished songs only repeat their end
            out = torch.cat([out, nxt[:, None]], dim=1)
            done |= nxt == vocab.eos
            if done.all():
                break
            logits, state = model(nxt[:, None].to(device), c, state)
            logits = logits[:, -1]
        for row in out.tolist():
            ids = row[: row.index(vocab.eos)] if vocab.eos in row else row
            songs.append(prime + vocab.decode(ids))
    return songs


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m lyrics_gpt2.rnn.generate", description="Sample RNN songs.")
    p.add_argument("--model", type=Path, required=True, help="an RNN model folder")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--genre", default=None, help="genre of a --condition genre model")
    who.add_argument("--artist", default=None, help="artist of a --condition artist model")
    p.add_argument("--prime", default="", help="text every song starts with")
    p.add_argument("--temperature", type=float, default=0.8, help="(%(default)s)")
    p.add_argument("--num-songs", type=int, default=1, help="(%(default)s)")
    p.add_argument("--seed", type=int, default=0, help="(%(default)s)")
    p.add_argument("--max-length", type=int, default=2000, help="steps per song (%(default)s)")
    p.add_argument("--batch-size", type=int, default=16, help="songs sampled together")
    p.add_argument("--output", type=Path, default=None, help="write here instead of stdout")
    add_device_flag(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    device = pick_device(args.device)
    if not args.temperature >= MIN_TEMPERATURE:  # also nan
        raise UsageError(
            f"--temperature must be >= {MIN_TEMPERATURE} (got {args.temperature}); smaller "
            "values divide the logits past float range"
        )
    for name in ("num_songs", "max_length", "batch_size"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1 (got {getattr(args, name)})")
    if args.output:
        check_output(args.output)
        check_inputs([("--output", args.output)], [("--model", args.model)])
    if not is_rnn_folder(args.model):
        raise UsageError(f"no RNN model in {args.model}; train one with lyrics_gpt2.rnn.train")
    bundle = load_rnn(args.model, device)
    cond = condition_index(bundle, args.genre, args.artist)
    songs = sample_songs(
        bundle, cond, args.prime, args.temperature, args.num_songs, args.seed, args.max_length,
        args.batch_size,
    )  # fmt: skip
    label = bundle.conditions.labels[cond] if bundle.conditions.size else bundle.config.arch
    text = "".join(f"=== song {i + 1} ({label}) ===\n{s}\n\n" for i, s in enumerate(songs))
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(text)
        print(f"{len(songs)} songs written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
