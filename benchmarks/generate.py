"""Generation and perplexity-evaluation throughput on CPU with the tiny preset's shape.

    python -m lyrics_gpt2.gpt2_vocab          # once: the real GPT-2 BPE in artifacts/gpt2-tokenizer
    python benchmarks/generate.py             # batch 1, 16, 64; ~1-2 minutes on 2 cores
    python benchmarks/generate.py --new-tokens 64 --batches 1 64 --threads 1

The model is a randomly initialised GPT-2 of the tiny preset's shape (2 layers, 128 wide) with the
real vocabulary (50,257 GPT-2 tokens + the genre tokens), so the output layer (128 x 50,263) and
the sampling over it cost what they cost in the demo. Speed does not depend on the weights.

Generation goes through lyrics_gpt2.inference.sampler.sample (the code the command uses: KV cache,
top-p/temperature/repetition-penalty sampling) with ``min_new_tokens = max_new_tokens``, so every
batch size produces exactly the same number of tokens per song and tokens/s compare fairly.
Target: batch 64 >= 20x batch 1 in tokens/s. Perplexity evaluation scores seq-len songs through
lyrics_gpt2.evaluation.songs.score (the command's loop) and reports scored tokens/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lyrics_gpt2 import gpt2_vocab
from lyrics_gpt2.evaluation.songs import Songs, score
from lyrics_gpt2.genres import GENRE_TOKENS
from lyrics_gpt2.inference.params import Sampling
from lyrics_gpt2.inference.sampler import left_pad, sample


def tiny_preset_model(vocab_size: int, n_positions: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=vocab_size, n_positions=n_positions, n_embd=128, n_layer=2, n_head=4
    )
    return GPT2LMHeadModel(cfg).eval()


def bench_generation(model, genre_id: int, eos: int, batch: int, new_tokens: int, reps: int):
    cfg = Sampling(max_new_tokens=new_tokens, min_new_tokens=new_tokens)
    ids, mask = left_pad([[genre_id]] * batch, eos)
    sample(model, ids, mask, Sampling(max_new_tokens=4, min_new_tokens=4), eos, eos)  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        out = sample(model, ids, mask, cfg, eos, eos)
        best = min(best, time.perf_counter() - t0)
    assert out.shape == (batch, new_tokens), out.shape
    return batch * new_tokens / best, best


def bench_perplexity(model, vocab: int, eos: int, songs: int, seq_len: int, batch: int):
    rng = np.random.default_rng(0)
    lengths = rng.integers(seq_len // 3, seq_len + 1, size=songs)
    ids = rng.integers(0, vocab, size=(songs, seq_len))
    ids[np.arange(seq_len)[None, :] >= lengths[:, None]] = eos
    data = Songs(ids, lengths, np.array(["rap"] * songs), eos, eos)
    score(model, data.subset(np.arange(songs) < batch), batch)  # warm-up
    t0 = time.perf_counter()
    scores = score(model, data, batch)
    elapsed = time.perf_counter() - t0
    return int(scores.tokens.sum()) / elapsed, elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokenizer", type=Path, default=Path("artifacts/gpt2-tokenizer"))
    p.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--new-tokens", type=int, default=128, help="tokens generated per song")
    p.add_argument("--reps", type=int, default=2, help="timed runs per batch size (best kept)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--eval-songs", type=int, default=256)
    p.add_argument("--seq-len", type=int, default=300)
    p.add_argument("--eval-batch", type=int, default=16)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from transformers import AutoTokenizer

    # Any saved tokenizer folder is used as it is; only a missing one is built as GPT-2's BPE.
    path = args.tokenizer
    if not (path / "tokenizer.json").is_file():
        path = gpt2_vocab.build(path)
    tok = AutoTokenizer.from_pretrained(str(path))
    tok.add_special_tokens({"additional_special_tokens": list(GENRE_TOKENS.values())})
    vocab, eos = len(tok), tok.eos_token_id
    genre_id = tok.convert_tokens_to_ids(GENRE_TOKENS["rap"])
    model = tiny_preset_model(vocab, n_positions=max(args.seq_len, args.new_tokens + 1))
    params = sum(p.numel() for p in model.parameters())
    print(
        f"tiny preset shape: 2 layers x 128 wide, vocab {vocab:,}, {params / 1e6:.1f}M params; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"\ngeneration, {args.new_tokens} new tokens per song (min_new_tokens = max_new_tokens)")
    print(f"{'batch':>6}{'seconds':>10}{'tokens/s':>12}{'x batch 1':>11}")
    base = None
    for b in args.batches:
        tps, secs = bench_generation(model, genre_id, eos, b, args.new_tokens, args.reps)
        base = base or (tps if b == 1 else None)
        ratio = f"{tps / base:.1f}x" if base else "-"
        print(f"{b:>6}{secs:>10.2f}{tps:>12,.0f}{ratio:>11}", flush=True)
    tps, secs = bench_perplexity(model, vocab, eos, args.eval_songs, args.seq_len, args.eval_batch)
    print(
        f"\nperplexity evaluation: {args.eval_songs} songs of <= {args.seq_len} tokens, "
        f"batch {args.eval_batch}: {tps:,.0f} scored tokens/s ({secs:.1f} s)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
