"""Fixtures of tests/serve/: a tiny model trained on songs with section tokens, so the page's
form, copied choruses and line filling run on a model that has them."""

from __future__ import annotations

import pytest

from lyrics_gpt2.testing import train_tiny_model, write_tiny_dataset


@pytest.fixture(scope="session")
def sectioned_trained(tmp_path_factory):
    """The model folder of a tiny model trained on verse-chorus-verse-chorus songs (rows of 128
    tokens, so a whole song fits the window; 200 steps, so it ends its stanzas)."""
    root = tmp_path_factory.mktemp("sectioned-serve")
    write_tiny_dataset(root / "data", sections=True, seq_len=128)
    return train_tiny_model(root / "data", root / "model", steps=200)
