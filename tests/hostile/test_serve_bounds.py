"""Hostile clients of the real server (issue 22): what a client can make it hold, and the
server's own command line. Bounded: loopback only, fixed counts, each phase under a minute.

- 300 MB bodies (with Content-Length, and chunked without end), 800 connections that never
  finish their headers, 1,000 junk paths: RSS stays within 100 MB of idle, /metrics under 50 KB,
  /health answers throughout;
- 20,000 unknown fields: a short answer; a prompt holding an artist token's text: 4xx, not 500;
- a port in use, a bad host, --max-queue 0: one line, exit 2; SIGTERM ends within the drain."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil
import pytest
import torch

from tests.hostile.conftest import one_line
from tests.serve.served import REPO, free_port, server

pytestmark = pytest.mark.slow
MB = 1 << 20


class HealthWatch(threading.Thread):
    """Polls /health every 0.2 s until stopped; keeps every failure and the slowest answer."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.failures, self.slowest, self.polls = url, [], 0.0, 0
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.halt.is_set():
                t0 = time.perf_counter()
                try:
                    status = http.get(self.url + "/health").status_code
                    if status != 200:
                        self.failures.append(status)
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.slowest = max(self.slowest, time.perf_counter() - t0)
                self.polls += 1
                self.halt.wait(0.2)


def send_body(port: int, head: bytes, chunk: bytes, total: int) -> bytes:
    """Send ``head`` then ``chunk`` repeatedly up to ``total`` bytes or until the server answers
    or closes; returns all the server sent (its status line first) until it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        s.setblocking(False)
        sent, answer = 0, b""
        deadline = time.time() + 60
        while sent < total and time.time() < deadline:
            try:
                got = s.recv(65536)
                if not got:
                    break
                answer += got
                if b"\r\n\r\n" in answer:
                    break
            except BlockingIOError:
                pass
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:  # reset or broken pipe: the server stopped reading, as it should
                break
        s.setblocking(True)
        s.settimeout(10)
        try:
            while got := s.recv(65536):  # the whole answer: the server closes after it
                answer += got
        except OSError:
            pass
        return answer


def test_bodies_half_open_connections_and_junk_paths_leave_the_server_bounded(tiny_trained):
    flags = ["--header-timeout", "2", "--read-timeout", "5", "--max-body-bytes", str(MB)]
    with server(tiny_trained[1], *flags) as (url, proc):
        port = int(url.rsplit(":", 1)[1])
        rss = psutil.Process(proc.pid).memory_info
        assert (
            httpx.post(url + "/v1/songs", json={"genre": "rap", "max_length": 8}).status_code == 200
        )
        idle = rss().rss
        watch = HealthWatch(url)
        watch.start()
        try:
            # 300 MB announced: refused before a byte of it is read.
            head = (b"POST /v1/songs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % (300 * MB))  # fmt: skip
            answer = send_body(port, head, b"x" * 65536, 300 * MB)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            # 300 MB chunked, no length: 413 once the running total passes the cap.
            head = (b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
            chunk = b"10000\r\n" + b"y" * 65536 + b"\r\n"
            answer = send_body(port, head, chunk, 300 * MB)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
            assert b"--max-body-bytes" in answer
            # 800 connections sending half a header: all closed by the server.
            half = []
            for _ in range(800):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.sendall(b"POST /v1/songs HTTP/1.1\r\nHost: x\r\nContent-Le")
                half.append(s)
            time.sleep(2)
            deadline, open_ = time.time() + 30, list(half)
            while open_ and time.time() < deadline:
                still = []
                for s in open_:
                    s.settimeout(0.01)
                    try:
                        if s.recv(1) == b"":
                            continue  # closed by the server
                    except (TimeoutError, BlockingIOError):
                        still.append(s)
                        continue
                    except OSError:
                        continue
                open_ = still
                time.sleep(0.2)
            for s in half:
                s.close()
            assert not open_, f"{len(open_)} of 800 half-open connections still open"
            # 1,000 junk paths: one metrics label for all of them.

            async def junk():
                async with httpx.AsyncClient(
                    base_url=url, limits=httpx.Limits(max_connections=20)
                ) as http:
                    for start in range(0, 1000, 50):
                        got = await asyncio.gather(
                            *(http.get(f"/v1/junk-{i}/x{i}") for i in range(start, start + 50))
                        )
                        assert {r.status_code for r in got} == {404}

            asyncio.run(junk())
            metrics = httpx.get(url + "/metrics").text
            assert len(metrics.encode()) < 50_000, len(metrics)
            assert 'route="unmatched",status="404"} 1000.0' in metrics
            assert "junk" not in metrics
            grown = (rss().rss - idle) / MB
        finally:
            watch.halt.set()
            watch.join()
        assert grown < 100, f"RSS grew {grown:.0f} MB over idle"
        assert watch.failures == [] and watch.polls > 10, (watch.failures, watch.polls)
        assert watch.slowest < 5, watch.slowest


def test_twenty_thousand_unknown_fields_get_a_short_answer_naming_them(tiny_trained):
    with server(tiny_trained[1]) as (url, _):
        body = {"genre": "rap", **{f"f{i}": i for i in range(20000)}}
        resp = httpx.post(url + "/v1/songs", json=body, timeout=60)
        assert resp.status_code == 422 and len(resp.content) < 2000, len(resp.content)
        assert (
            resp.json()["error"]["param"] == "f0"
            and "19995 more" in resp.json()["error"]["message"]
        )
        text = httpx.post(url + "/v1/songs", content=json.dumps({"genre": "rap", "max_length": 4}),
                          headers={"Content-Type": "text/plain"})  # fmt: skip
        assert text.status_code == 200  # JSON sent as text/plain is taken when it parses


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/songs", {"genre": "pop", "prompt": "la [Artist: Pop Singer 0] la"}),
        ("/v1/songs/stream", {"genre": "pop", "prompt": "[Artist: Pop Singer 0]"}),
        ("/v1/completions", {"model": "pop", "prompt": "hi [Artist: Pop Singer 0]"}),
        ("/v1/chat/completions", {"model": "pop", "messages": [{"role": "user", "content": "[Artist: Pop Singer 0]"}]}),
    ],
)  # fmt: skip
def test_a_prompt_holding_an_artist_tokens_text_is_a_4xx_naming_prompt(tiny_trained, path, body):
    from lyrics_gpt2.inference.onednn import load_for_inference
    from lyrics_gpt2.serve.app import create_app
    from lyrics_gpt2.serve.engine import Engine
    from lyrics_gpt2.tokenizer import add_artist_tokens, load_tokenizer

    tok = load_tokenizer(tiny_trained[1])
    add_artist_tokens(tok, ["Pop Singer 0"])
    engine = Engine(load_for_inference(tiny_trained[1], torch.device("cpu")), tok)
    app = create_app(engine)

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            return await http.post(path, json=body)

    resp = asyncio.run(go())
    assert resp.status_code in (400, 422) and resp.json()["error"]["param"] == "prompt"
    assert "[Artist: Pop Singer 0]" in resp.json()["error"]["message"]


def serve_command(model, *flags: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "lyrics_gpt2.serve", "--model", str(model), *flags]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_port_in_use_a_bad_host_and_max_queue_0_are_one_line_and_exit_2(tiny_trained):
    model = tiny_trained[1]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = serve_command(model, "--port", port)
    assert busy.returncode == 2
    one_line(busy.stderr, f"127.0.0.1:{port}", "another --port")
    bad = serve_command(model, "--host", "no-such-host.invalid", "--port", str(free_port()))
    assert bad.returncode == 2
    one_line(bad.stderr, "--host 'no-such-host.invalid'", "127.0.0.1")
    zero = serve_command(model, "--max-queue", "0")
    assert zero.returncode == 2
    one_line(zero.stderr, "--max-queue must be >= 1")


def test_sigterm_drains_for_at_most_drain_seconds_then_ends_cleanly(tiny_trained):
    flags = ["--max-batch", "1", "--drain-seconds", "1"]
    with server(tiny_trained[1], *flags) as (url, proc):

        async def flood():
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                body = {"genre": "rap", "max_length": 63, "n": 1}
                tasks = [asyncio.create_task(http.post("/v1/songs/stream", json={**body, "seed": i}))
                         for i in range(30)]  # fmt: skip
                await asyncio.sleep(1.0)
                t0 = time.perf_counter()
                proc.send_signal(signal.SIGTERM)
                results = await asyncio.gather(*tasks, return_exceptions=True)
                return time.perf_counter() - t0, results

        answered, results = asyncio.run(flood())
        proc.wait(timeout=60)  # the process itself: torch's exit is slow on a loaded machine
    assert proc.returncode == 0
    assert answered < 1 + 5, answered  # every client has its answer soon after the drain
    proc.err.seek(0)
    log = proc.err.read()
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]
    statuses = [r.status_code for r in results]  # every request answered, none dropped
    assert set(statuses) <= {200, 503} and 200 in statuses and 503 in statuses, statuses
    for r in results:
        if r.status_code == 503:
            assert (
                r.headers["Retry-After"] == "1" and "shutting down" in r.json()["error"]["message"]
            )
