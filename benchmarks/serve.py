"""Load benchmark of the lyrics service over loopback: continuous batching vs one at a time.

    python benchmarks/serve.py                       # trains the tiny test model if none given
    python benchmarks/serve.py --model artifacts/model --requests 64 --max-length 64

Starts ``python -m lyrics_gpt2.serve`` twice on 127.0.0.1 with the same model: batched
(``--max-batch 32``) and one request at a time (``--max-batch 1``, what a Flask/gunicorn
service does). At 1, 8 and 32 concurrent clients each sends songs with the same seeds to both
(so both sample the same tokens) and the table gives songs/s, tokens/s and p50/p95 latency.
Then 50 clients against ``--max-batch 8 --max-queue 16``, several rounds: every request must
get a 200 or a quick 429, none may hang or be lost, and the server's RSS is printed per round.
Bounded: --requests per level and --timeout per request.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from lyrics_gpt2.testing import subprocess_env, train_tiny_model, write_tiny_dataset


def start(model: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "lyrics_gpt2.serve", "--model", str(model), "--port", str(port)]
    proc = subprocess.Popen([*cmd, *flags], env=subprocess_env())
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


async def load(url: str, clients: int, requests: int, max_length: int, timeout: float):
    """``requests`` songs from ``clients`` concurrent clients; (wall s, [(status, s, tokens)])."""
    todo = list(range(requests))
    results: list[tuple[int, float, int]] = []

    async def client(http: httpx.AsyncClient):
        while todo:
            i = todo.pop()
            body = {"genre": ("rap", "pop")[i % 2], "seed": i, "max_length": max_length}
            t0 = time.perf_counter()
            try:
                r = await http.post(url + "/v1/songs", json=body, timeout=timeout)
                tokens = sum(s["tokens"] for s in r.json()["songs"]) if r.status_code == 200 else 0
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="default: train the tiny test model")
    # Enough songs that 32 clients run several waves: with 64, ramp-up and tail dominate.
    ap.add_argument("--requests", type=int, default=256, help="songs per concurrency level")
    ap.add_argument("--max-length", type=int, default=60, help="within the model's context")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--rounds", type=int, default=3, help="overload rounds (RSS per round)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    model = args.model
    if model is None:
        data = write_tiny_dataset(Path(tmp.name) / "data")
        model = train_tiny_model(data, Path(tmp.name) / "model")
    print(f"model {model}; {psutil.cpu_count()} CPUs, load average {psutil.getloadavg()[0]:.1f}")
    print(
        f"{'server':<14}{'clients':>8}{'songs/s':>9}{'tokens/s':>10}{'p50 s':>8}{'p95 s':>8}  statuses"
    )
    tokens_per_s: dict[tuple[str, int], float] = {}
    for name, flags in (
        ("batched", ["--max-batch", "32"]),
        ("one-at-a-time", ["--max-batch", "1"]),
    ):
        proc, url = start(model, *flags, "--max-queue", "256", "--queue-timeout", "600")
        try:
            asyncio.run(load(url, 4, 4, 8, args.timeout))  # warm-up
            for clients in (1, 8, 32):
                wall, res = asyncio.run(
                    load(url, clients, args.requests, args.max_length, args.timeout)
                )
                lat = [s for st, s, _ in res if st == 200]
                tokens = sum(t for *_, t in res)
                tokens_per_s[name, clients] = tokens / wall
                codes = sorted({st for st, *_ in res})
                print(f"{name:<14}{clients:>8}{len(lat) / wall:>9.1f}{tokens / wall:>10.0f}"
                      f"{pct(lat, 0.5):>8.2f}{pct(lat, 0.95):>8.2f}  {codes}")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait()
    if not all(tokens_per_s.values()):
        sys.exit("some level got no song (statuses above): is --max-length within the context?")
    ratio = tokens_per_s["batched", 32] / tokens_per_s["one-at-a-time", 1]
    same = tokens_per_s["batched", 32] / tokens_per_s["one-at-a-time", 32]
    print(f"batched at 32 clients / one-at-a-time: {ratio:.1f}x tokens/s "
          f"({same:.1f}x against one-at-a-time at 32 clients)")  # fmt: skip

    proc, url = start(model, "--max-batch", "8", "--max-queue", "16", "--queue-timeout", "60")
    try:
        server = psutil.Process(proc.pid)
        print("\n50 clients, --max-batch 8 --max-queue 16 (each client sends 2 songs per round):")
        for r in range(args.rounds):
            wall, res = asyncio.run(load(url, 50, 100, args.max_length, args.timeout))
            ok = [s for st, s, _ in res if st == 200]
            busy = [s for st, s, _ in res if st == 429]
            other = [st for st, *_ in res if st not in (200, 429)]
            print(f"  round {r + 1}: {len(res)}/100 answered in {wall:.1f} s: {len(ok)} x 200 "
                  f"(p95 {pct(ok, 0.95):.2f} s), {len(busy)} x 429 (slowest {max(busy, default=0):.3f} s), "
                  f"{len(other)} other {other[:5]}; server RSS {server.memory_info().rss / 2**20:.0f} MiB")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
