"""The tokenized-data contract between preprocessing and training, and the batch collator.

``DIR/tokenized`` (written by ``pipeline/encode.py``) is a ``datasets.DatasetDict`` with splits
``train`` and ``validation``. Each row is one song:

- ``input_ids``: ``seq_len`` token ids (uint16 when the vocabulary fits), ``[Genre: X]`` first,
  then the lyrics, then end-of-text, then padding.
- ``length``: how many leading ids are real (genre token + lyrics + eos, at most ``seq_len``).
  The attention mask is derived from it, never from token ids, because pad and eos may share an id.
- ``genre`` (Genius tag), ``id``, ``artist``.

``DIR/tokenized/manifest.json`` records ``seq_len``, ``eos_token_id``, ``pad_token_id``,
``genre_token_ids`` ({tag: id}) and the filter counts. ``DIR/tokenizer`` holds the tokenizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from lyrics_gpt2.cli import UsageError
from lyrics_gpt2.fileio import read_json

COLUMNS = ("input_ids", "length", "genre", "id", "artist")
IGNORE_INDEX = -100


def load_tokenized(data_dir: str | Path):
    """Open ``data_dir/tokenized`` and its manifest; a clear UsageError when they are missing."""
    from datasets import load_from_disk

    path = Path(data_dir) / "tokenized"
    manifest = read_json(path / "manifest.json")
    if manifest is None or not (path / "dataset_dict.json").is_file():
        raise UsageError(
            f"no tokenized data in {path}; run 'python -m pipeline.preprocess "
            f"--output-dir {data_dir}' first"
        )
    return load_from_disk(str(path)), manifest


def collate(rows: list[dict[str, Any]], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Stack songs into a batch trimmed to its longest real song.

    Labels are the input ids on real positions (end-of-text included, so the model learns to stop)
    and IGNORE_INDEX on padding. The genre token sits at position 0, which a causal LM never
    predicts (labels are shifted inside the model), so it is given, not learned.
    """
    lengths = torch.tensor([int(r["length"]) for r in rows])
    width = int(lengths.max())
    ids = np.stack([np.asarray(r["input_ids"][:width], dtype=np.int64) for r in rows])
    input_ids = torch.from_numpy(ids)
    mask = torch.arange(width)[None, :] < lengths[:, None]
    input_ids = input_ids.masked_fill(~mask, pad_token_id)
    labels = input_ids.masked_fill(~mask, IGNORE_INDEX)
    return {"input_ids": input_ids, "attention_mask": mask.long(), "labels": labels}
