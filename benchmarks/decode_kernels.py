"""One decode step of the GPT-2 124M shape on this CPU: PyTorch's default kernels against oneDNN's
packed linear (lyrics_gpt2.inference.onednn), per batch size and torch thread count, in one run.

    python benchmarks/decode_kernels.py                    # batches 1 8 32, threads 1 2
    python benchmarks/decode_kernels.py --batch 1 --threads 1 --steps 64

Both models are the same config-built GPT-2 124M (random weights, the real GPT-2 vocabulary
plus genre tokens, as ``benchmarks/serve.py --shape gpt2`` serves), loaded twice by
``load_for_inference``, once with ``LYRICS_GPT2_ONEDNN=0``. Each figure is the best of ``--rounds``
timed runs of ``--steps`` decode steps through the KV cache (the generate command's ``Batch``
loop: draw, then one forward pass over the new tokens), the two kernels interleaved round by
round so machine load drifts over both alike; the load average is printed beside each line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import build_gpt2_shape

from lyrics_gpt2.inference import onednn
from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.sampler import Batch, row_generator
from lyrics_gpt2.modeling import quiet_transformers
from lyrics_gpt2.tokenizer import load_tokenizer


def load(folder: Path, packed: bool):
    previous = os.environ.get(onednn.ENV)
    os.environ[onednn.ENV] = "1" if packed else "0"
    try:
        return onednn.load_for_inference(folder, "cpu")
    finally:
        if previous is None:
            del os.environ[onednn.ENV]
        else:
            os.environ[onednn.ENV] = previous


def step_ms(model, genre: int, eos: int, batch: int, steps: int) -> float:
    """Milliseconds per decode step of ``batch`` rows (prefill not counted)."""
    cfg = Sampling(max_new_tokens=steps + 1, min_new_tokens=steps + 1, repetition_penalty=1.0)
    b = Batch(model, eos, eos)
    b.add([Row([genre], cfg, row_generator(7, i)) for i in range(batch)])
    b.step()  # the first draw comes from the prefill's logits
    t0 = time.perf_counter()
    for _ in range(steps):
        b.step()
    return (time.perf_counter() - t0) / steps * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=32, help="decode steps per timed run")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    quiet_transformers()
    torch.set_grad_enabled(False)
    tmp = tempfile.TemporaryDirectory()
    folder = build_gpt2_shape(
        Path(os.environ.get("LYRICS_GPT2_SHAPE_DIR", Path(tmp.name) / "gpt2"))
    )
    tok = load_tokenizer(folder)
    genre, eos = tok.convert_tokens_to_ids("[Genre: Rap]"), tok.eos_token_id
    models = {"default": load(folder, False), "oneDNN": load(folder, True)}
    print(f"GPT-2 124M shape, float32; {os.cpu_count()} CPUs; oneDNN packed: "
          f"{onednn.available()}; {args.steps} steps per run, best of {args.rounds}")  # fmt: skip
    print(f"{'threads':>7}{'batch':>6}  {'default ms':>10}{'tok/s':>8}  {'oneDNN ms':>10}"
          f"{'tok/s':>8}  {'speed-up':>8}{'load':>6}")  # fmt: skip
    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batch:
            best = {name: float("inf") for name in models}
            for model in models.values():  # warm-up
                step_ms(model, genre, eos, batch, 4)
            for _ in range(args.rounds):
                for name, model in models.items():
                    best[name] = min(best[name], step_ms(model, genre, eos, batch, args.steps))
            d, o = best["default"], best["oneDNN"]
            print(f"{threads:>7}{batch:>6}  {d:>10.2f}{batch * 1000 / d:>8.1f}  {o:>10.2f}"
                  f"{batch * 1000 / o:>8.1f}  {d / o:>7.2f}x{os.getloadavg()[0]:>6.1f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
