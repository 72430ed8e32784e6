"""A tiny trained model on the tiny corpus, built once per test session and shared by modules."""

from __future__ import annotations

from pathlib import Path

from lyrics_gpt2.testing import write_tiny_dataset
from lyrics_gpt2.tiny_model import train_tiny_model


def tiny_trained(tmp_path_factory) -> tuple[Path, Path]:
    """(data_dir, model_dir) under the session's base temp folder; trained on first use (~5 s)."""
    root = tmp_path_factory.getbasetemp() / "tiny-trained"
    data, model = root / "data", root / "model"
    if not (model / "summary.json").is_file():
        write_tiny_dataset(data)
        train_tiny_model(data, model)
    return data, model
