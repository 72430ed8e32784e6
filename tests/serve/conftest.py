"""Fixtures of tests/serve/: a tiny model trained on songs with section tokens, so the page's
form, copied choruses and line filling run on a model that has them, and headless Chromium
(Debian's package, driven by Playwright) for the page's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lyrics_gpt2.testing import train_tiny_model, write_tiny_dataset


@pytest.fixture(scope="session")
def sectioned_trained(tmp_path_factory):
    """The model folder of a tiny model trained on verse-chorus-verse-chorus songs (rows of 128
    tokens, so a whole song fits the window; 200 steps, so it ends its stanzas)."""
    root = tmp_path_factory.mktemp("sectioned-serve")
    write_tiny_dataset(root / "data", sections=True, seq_len=128)
    return train_tiny_model(root / "data", root / "model", steps=200)


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium; skipped only where /usr/bin/chromium is absent and CI is unset (.ci/run
    installs it)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI is set but /usr/bin/chromium is missing: .ci/run installs it")
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium); CI installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()
