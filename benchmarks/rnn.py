"""Training speed and peak memory of each RNN architecture, with and without gradient checkpointing.

    python benchmarks/rnn.py                          # CPU, all archs, ~2 minutes on 2 cores
    python benchmarks/rnn.py --archs char-lstm --batch-size 128 --bptt 128 --steps 5
    python benchmarks/rnn.py --device cuda            # peak memory from the CUDA allocator

Each (arch, checkpointing) pair runs in its own process: random windows of ``--batch-size`` x
``--bptt`` steps through ``RNNLM.window_nll`` + backward + Adam, as training runs them. Reported:
training bytes/s (the median step after one warm-up step; for word-lstm, word pieces/s times
``--bytes-per-piece``, the mean measured on the bundled sample's training songs), and peak memory
during the steps: on CPU the growth of the process's peak resident set over its size before the
first step, on CUDA ``torch.cuda.max_memory_allocated``. Checkpointing keeps only the state
between ``--segment``-step pieces and recomputes the rest in the backward pass, so it should
trade speed for memory. The load average is printed: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARCHS = ("char-rnn", "char-gru", "char-lstm", "word-lstm")
# Mean UTF-8 bytes per word piece (end-of-song included) of the bundled sample's training songs.
BYTES_PER_PIECE = 4.09
WORD_VOCAB = 5000  # a realistic vocabulary for words seen >= 5 times in a large corpus


def child(args) -> dict:
    import torch

    sys.path.insert(0, str(REPO))
    from lyrics_gpt2.rnn.model import RNNLM, RNNConfig

    device = torch.device(args.device)
    word = args.arch == "word-lstm"
    vocab = WORD_VOCAB if word else 258
    embed = args.hidden_size if word else 64
    config = RNNConfig(args.arch, vocab, embed, args.hidden_size, args.layers, 0.1, 0)
    model = RNNLM(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    B, T = args.batch_size, args.bptt
    x = torch.randint(0, vocab, (B, T), generator=g).to(device)
    y = torch.randint(0, vocab, (B, T), generator=g).to(device)
    cond = torch.zeros(B, dtype=torch.long, device=device)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base_cuda = torch.cuda.memory_allocated()
    times = []
    state = model.init_state(B, device)
    for _ in range(args.steps + 1):
        start = time.perf_counter()
        state = model.detach_state(state)
        nll, state = model.window_nll(x, y, cond, state, args.segment, args.ckpt)
        opt.zero_grad()
        (nll / (B * T)).backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    step = statistics.median(times[1:])
    per_byte = BYTES_PER_PIECE if word else 1.0
    if device.type == "cuda":
        peak = (torch.cuda.max_memory_allocated() - base_cuda) / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base_rss
    return {"bytes_per_s": B * T * per_byte / step, "step_s": step, "peak_mb": peak}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", default=list(ARCHS), choices=ARCHS)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bptt", type=int, default=128)
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--segment", type=int, default=32)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--ckpt", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.arch = args.child
        print(json.dumps(child(args)))
        return
    print(
        f"batch {args.batch_size} x bptt {args.bptt}, {args.layers} layers x {args.hidden_size}, "
        f"checkpoint pieces of {args.segment} steps, {args.device}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'arch':<11}{'bytes/s':>10}{'peak MB':>9}{'  | ckpt':<8}{'bytes/s':>10}{'peak MB':>9}")
    for arch in args.archs:
        cells = []
        for ckpt in (False, True):
            cmd = [sys.executable, __file__, "--child", arch, *(["--ckpt"] if ckpt else [])]
            for k in ("batch_size", "bptt", "hidden_size", "layers", "segment", "steps", "device"):
                cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            cells.append(f"{r['bytes_per_s']:>10,.0f}{r['peak_mb']:>9,.0f}")
        print(f"{arch:<11}{cells[0]}{'  |':<8}{cells[1]}")


if __name__ == "__main__":
    main()
