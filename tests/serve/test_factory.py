"""``uvicorn --factory lyrics_gpt2.serve.app:factory --workers 2``: the app built from the
environment in each worker process, answering the OpenAI client, with the API key it was given."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from lyrics_gpt2.testing import subprocess_env
from tests.serve.served import REPO, free_port

pytestmark = pytest.mark.slow


def test_two_uvicorn_workers_built_by_the_factory_serve_the_model(tiny_trained):
    port = free_port()
    env = subprocess_env(LYRICS_GPT2_MODEL=str(tiny_trained[1]), LYRICS_GPT2_API_KEY="k",
                         LYRICS_GPT2_THREADS="1")  # fmt: skip
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "lyrics_gpt2.serve.app:factory",
           "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.time() < deadline, "uvicorn did not start"
            time.sleep(0.5)
        auth = {"Authorization": "Bearer k"}
        body = {"model": "rap", "prompt": "cash", "max_tokens": 6, "seed": 1}
        answers = [httpx.post(url + "/v1/completions", json=body, headers=auth, timeout=120)
                   for _ in range(4)]  # fmt: skip
        assert {a.status_code for a in answers} == {200}
        assert (
            len({a.json()["choices"][0]["text"] for a in answers}) == 1
        )  # same seed, either worker
        assert httpx.post(url + "/v1/completions", json=body).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=60)
