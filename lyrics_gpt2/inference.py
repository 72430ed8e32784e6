"""Loading a model folder's tokenizer (being moved to lyrics_gpt2/tokenizer.py, issue 8).

The rest of what this module held now lives where it belongs: loading a trained model, picking
the device and reading summary.json in lyrics_gpt2.modeling; the genres a tokenizer knows in
lyrics_gpt2.genres.
"""

from __future__ import annotations

from pathlib import Path

from lyrics_gpt2.cli import UsageError, first_line

TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer_config.json")


def has_tokenizer(path: str | Path) -> bool:
    """False for a local folder without tokenizer files (e.g. saved initial weights).

    AutoTokenizer would otherwise build an empty tokenizer from such a folder's config.json.
    """
    local = Path(path)
    return not local.is_dir() or any((local / f).is_file() for f in TOKENIZER_FILES)


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    if not has_tokenizer(path):
        raise UsageError(f"no tokenizer in {path}")
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load a tokenizer from {path} ({first_line(exc)})") from None
