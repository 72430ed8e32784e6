"""Where the server loses to its own sampler: the same songs sampled in-process (the generate
command's Batch loop) and through the server, at torch thread counts side by side.

    python benchmarks/serve_threads.py --model DIR [--threads 1 2] [--batch 1 8] [--rounds 3]

For each thread count and batch size: tokens/s of the Batch loop in this process, then of
``python -m lyrics_gpt2.serve --threads N`` driven by as many concurrent clients as the batch
(each asking for the same number of tokens, ``min_tokens`` = ``max_tokens``), rounds
interleaved so machine load drifts over both alike; the load average is printed beside each
figure. Also times the server's per-token work off the sampling thread (decoding pieces).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import load, start

from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.sampler import Batch, row_generator
from lyrics_gpt2.tokenizer import load_tokenizer


def in_process(model, tok, batch: int, tokens: int) -> float:
    genre = tok.convert_tokens_to_ids("[Genre: Rap]")
    cfg = Sampling(max_new_tokens=tokens, min_new_tokens=tokens, repetition_penalty=1.0)
    b = Batch(model, tok.eos_token_id, tok.eos_token_id)
    rows = [Row([genre], cfg, row_generator(7, i)) for i in range(batch)]
    t0 = time.perf_counter()
    b.add(rows)
    while b.rows:
        b.step()
    return batch * tokens / (time.perf_counter() - t0)


def through_server(url: str, batch: int, tokens: int, requests: int) -> float:
    def body(i):
        return {"model": "lyrics-gpt2", "prompt": "[Genre: Rap]", "max_tokens": tokens,
                "min_tokens": tokens, "seed": i, "repetition_penalty": 1.0}  # fmt: skip

    wall, res = asyncio.run(load(url, batch, requests, body, 600, "/v1/completions",
                                 lambda b: b["usage"]["completion_tokens"]))  # fmt: skip
    return sum(t for *_, t in res) / wall


def decode_cost(tok, tokens: int) -> float:
    """Seconds per token of the server's streaming decode (TextStream), off the sampler."""
    from lyrics_gpt2.serve.responses import TextStream

    ids = tok("la la love the night " * 40)["input_ids"][:tokens]
    s = TextStream(tok, [], set())
    t0 = time.perf_counter()
    for t in ids:
        s.push(t)
    return (time.perf_counter() - t0) / len(ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    model, tok = load_for_inference(args.model, torch.device("cpu")), load_tokenizer(args.model)
    print(f"decode per token (event loop side): {decode_cost(tok, 200) * 1e3:.2f} ms")
    servers = {n: start(args.model, "--threads", str(n), "--max-batch", "32") for n in args.threads}
    got: dict[tuple, list[float]] = {}
    try:
        for _ in range(args.rounds):
            for n in args.threads:
                torch.set_num_threads(n)
                for batch in args.batch:
                    for where in ("in-process", "server"):
                        load_avg = os.getloadavg()[0]
                        if where == "in-process":
                            speed = in_process(model, tok, batch, args.tokens)
                        else:
                            speed = through_server(servers[n][1], batch, args.tokens, batch * 2)
                        got.setdefault((where, n, batch), []).append((speed, load_avg))
                        print(f"  {where} threads {n} batch {batch}: {speed:.1f} tok/s "
                              f"(load {load_avg:.1f})", flush=True)  # fmt: skip
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()
    print(
        f"{'where':<12}{'threads':>8}{'batch':>6}{'tok/s median':>14}{'all rounds':>30}{'load':>12}"
    )
    for (where, n, batch), values in sorted(
        got.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])
    ):
        speeds = [v for v, _ in values]
        loads = [f"{la:.1f}" for _, la in values]
        print(f"{where:<12}{n:>8}{batch:>6}{statistics.median(speeds):>14.1f}"
              f"{' '.join(f'{v:.0f}' for v in speeds):>30}{' '.join(loads):>12}")  # fmt: skip


if __name__ == "__main__":
    main()
