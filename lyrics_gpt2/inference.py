"""Loading a trained model folder for generation and scoring, and reading what it records.

A model folder (``artifacts/model`` by default) is a Hugging Face folder: ``config.json``,
``model.safetensors``, ``generation_config.json``, the tokenizer with its ``[Genre: X]`` tokens,
and ``summary.json`` written by training, which names the untuned model it started from.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from lyrics_gpt2.cli import UsageError, first_line
from lyrics_gpt2.fileio import read_json
from lyrics_gpt2.genres import GENRE_TOKENS, TAGS, normalize_genre

DEFAULT_MODEL = Path("artifacts/model")
# Keys under which training's summary.json may name the untuned starting point, most specific
# first. Training (issue 4) settles on one; reading several keeps this side from breaking.
BASE_KEYS = ("untuned_model", "base_model", "untuned", "base", "init_from", "model_name_or_path")
_GENRE_PATTERN = re.compile(r"^\[Genre: (.+)\]$")


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def quiet_transformers() -> None:
    """No weight-loading progress bars or once-per-run notes on a command's stderr."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_model(path: str | Path, device: torch.device | None = None):
    """The causal LM in ``path`` (a folder or, with the hub reachable, a hub id), in eval mode."""
    from transformers import AutoModelForCausalLM

    local = Path(path)
    if not local.exists() and (local.is_absolute() or str(path).startswith(".")):
        raise UsageError(f"no model at {path}; train one first or pass --model DIR")
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        hint = (
            "train one with 'accelerate launch lyrics_gpt2/train.py' or pass --model DIR"
            if local.exists() or "/" in str(path)
            else "a hub id needs the network (or a local copy: pass its folder)"
        )
        raise UsageError(f"cannot load a model from {path} ({first_line(exc)}); {hint}") from None
    return model.to(device or pick_device()).eval()


def model_genres(tokenizer) -> dict[str, int]:
    """{genre tag: token id} for every ``[Genre: X]`` token the tokenizer holds.

    Known tokens map to their Genius tag (``[Genre: R&B]`` -> ``rb``); any other ``[Genre: X]``
    maps to ``x`` lowercased, so a model trained on new genres can still be asked for them.
    Ordered as genres.TAGS, then the rest alphabetically.
    """
    by_token = {tok: tag for tag, tok in GENRE_TOKENS.items()}
    found: dict[str, int] = {}
    for token, token_id in tokenizer.get_added_vocab().items():
        if token in by_token:
            found[by_token[token]] = token_id
        elif m := _GENRE_PATTERN.match(token):
            found[m.group(1).strip().lower()] = token_id
    order = {tag: i for i, tag in enumerate(TAGS)}
    return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def resolve_genres(requested: str, known: dict[str, int]) -> list[str]:
    """Turn ``--genre`` (a tag, an alias, ``both``, ``all`` or a comma list) into known tags."""
    if not known:
        raise UsageError("the model's tokenizer has no [Genre: X] tokens; it cannot be conditioned")
    valid = ", ".join([*known, "both", "all"])
    tags: list[str] = []
    for part in (p.strip().lower() for p in requested.split(",")):
        if part == "all":
            wanted = list(known)
        elif part == "both":
            wanted = ["rap", "pop"]
        else:
            wanted = [part if part in known else (normalize_genre(part) or part)]
        for tag in wanted:
            if tag not in known:
                name = part if tag == part else f"{part} (= {tag})"
                raise UsageError(f"the model has no genre {name}; valid --genre values: {valid}")
            if tag not in tags:
                tags.append(tag)
    if not tags:
        raise UsageError(f"no genre given; valid --genre values: {valid}")
    return tags


def read_summary(model_dir: str | Path) -> dict[str, Any]:
    return read_json(Path(model_dir) / "summary.json") or {}


def base_from_summary(model_dir: str | Path) -> str | None:
    """The untuned starting point recorded by training, as a loadable path or hub id.

    The value may be a hub id (``gpt2``), an absolute folder, or a folder relative to the model
    folder or the current directory (``untuned``, ``artifacts/model/untuned``); it may also sit in
    a small dict (``{"path": ...}``). Returns None when the summary names none.
    """
    summary = read_summary(model_dir)
    value: Any = None
    for key in BASE_KEYS:
        if summary.get(key):
            value = summary[key]
            break
    if isinstance(value, dict):
        value = next(
            (value[k] for k in ("path", "name_or_path", "id", "name") if value.get(k)), None
        )
    if not isinstance(value, str) or not value:
        return None
    for candidate in (Path(model_dir) / value, Path(value)):
        if candidate.exists():
            return str(candidate)
    return value
