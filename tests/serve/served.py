"""A real ``python -m lyrics_gpt2.serve`` on 127.0.0.1 for tests: started on a free port, waited
for (/health 200), ended with SIGTERM. Used by tests/serve/ and tests/hostile/."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from lyrics_gpt2.testing import subprocess_env

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(model: Path, *flags: str, port: int | None = None, health: str = "/health"):
    """Yields (base url, Popen); the server's stdout and stderr go to the files proc.out and
    proc.err (a file never fills as a pipe does, which would block a chatty server)."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "lyrics_gpt2.serve", "--model", str(model), "--port", str(port)]
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [*cmd, *flags], cwd=REPO, env=subprocess_env(), stdout=out, stderr=err, text=True
    )
    proc.out, proc.err = out, err
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    try:
        while True:
            try:
                with urllib.request.urlopen(url + health, timeout=2) as r:
                    if r.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                err.seek(0)
                raise RuntimeError(f"server did not start: {err.read()[-2000:]}")
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
