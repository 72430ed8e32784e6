"""The tokenized-data contract between preprocessing and training, in code: the columns, the
manifest, loading, the batch collator and the training sampler.

``DIR/tokenized`` (written by stage ``tokenize``, ``python -m pipeline.preprocess``) is a
``datasets.DatasetDict`` with splits ``train`` and ``validation`` whose columns are ``features``:
one row per song, or per piece of a song longer than ``seq_len``,

- ``input_ids``: ``seq_len`` token ids (uint16 when the vocabulary fits), ``[Genre: X]`` first,
  then, for a song of an artist with a token (``--artist-tokens N``), ``[Artist: Y]``, then the
  lyrics (or the piece's part of them), then end-of-text on the song's last row only, then
  padding.
- ``length``: how many leading ids are real (genre token + artist token if any + lyrics + eos, at
  most ``seq_len``).
  The attention mask is derived from it, never from token ids, because pad and eos may share an id.
- ``genre`` (Genius tag), ``id`` (the song's), ``piece`` (0, 1, ... in song order; the rows of one
  song share ``id`` and ``artist``, so they always fall in the same split), ``artist``.

``DIR/tokenized/manifest.json`` records (``Manifest``) ``seq_len``, ``eos_token_id``,
``pad_token_id``, ``vocab_size``, ``genre_token_ids`` ({tag: id}), ``genre_tokens`` and the filter
counts; with artist tokens also ``artist_token_ids`` ({name: id}) and ``artist_tokens``, and a
third split ``artist_val``: held-out songs of those artists, never trained on (the validation
split is artist-disjoint, so it has none of them). ``DIR/tokenizer`` holds the tokenizer. Training (lyrics_gpt2/train.py), perplexity and
lyrics_gpt2.testing read and write through this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import read_json

# The columns of every split, in order (features() gives their types).
if TYPE_CHECKING:
    import torch

COLUMNS = ("input_ids", "length", "genre", "id", "piece", "artist")
IGNORE_INDEX = -100
# torch is imported where batches are made, not here: stage tokenize and its worker processes
# read the schema from this module, and importing torch would cost each of them seconds and
# hundreds of MB.


def features(dtype: str = "uint16"):
    """The ``datasets.Features`` of a tokenized split whose ids are stored as ``dtype``.

    ``input_ids`` is a variable-length list (Arrow ``list<uint16>``) even though every row holds
    ``seq_len`` ids: that is the type stage ``tokenize`` has always written.
    """
    from datasets import Features, Sequence, Value

    types = {
        "input_ids": Sequence(Value(dtype)),
        "length": Value("int32"),
        "genre": Value("string"),
        "id": Value("string"),
        # 0, 1, ... : the row's place in its song (a song longer than seq_len is several rows).
        "piece": Value("int32"),
        "artist": Value("string"),
    }
    return Features({name: types[name] for name in COLUMNS})


@dataclass(frozen=True)
class Manifest:
    """What readers of ``DIR/tokenized/manifest.json`` rely on; the file holds more (counts,
    statistics, timings), kept whole in ``raw``."""

    seq_len: int
    pad_token_id: int
    eos_token_id: int
    vocab_size: int | None = None
    genre_token_ids: dict[str, int] = field(default_factory=dict)
    genre_tokens: dict[str, str] = field(default_factory=dict)
    artist_token_ids: dict[str, int] = field(default_factory=dict)  # {} without artist tokens
    artist_tokens: dict[str, str] = field(default_factory=dict)
    # {kind: id} of the [Verse], [Chorus], ... tokens (--sections): targets, never masked
    section_token_ids: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    REQUIRED = ("seq_len", "pad_token_id", "eos_token_id")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str | Path = "manifest.json") -> Manifest:
        missing = [k for k in cls.REQUIRED if k not in data]
        if missing:
            raise UsageError(f"{where} lacks {', '.join(missing)}")
        vocab = data.get("vocab_size")
        return cls(
            seq_len=int(data["seq_len"]),
            pad_token_id=int(data["pad_token_id"]),
            eos_token_id=int(data["eos_token_id"]),
            vocab_size=None if vocab is None else int(vocab),
            genre_token_ids={g: int(i) for g, i in (data.get("genre_token_ids") or {}).items()},
            genre_tokens=dict(data.get("genre_tokens") or {}),
            artist_token_ids={a: int(i) for a, i in (data.get("artist_token_ids") or {}).items()},
            artist_tokens=dict(data.get("artist_tokens") or {}),
            section_token_ids={k: int(i) for k, i in (data.get("section_token_ids") or {}).items()},
            raw=data,
        )

    @property
    def conditioning_ids(self) -> tuple[int, ...]:
        """Ids that are given, never learned: the collator masks them out of the labels. The
        genre token needs no mask (position 0 is never predicted); artist tokens at position 1
        do."""
        return tuple(sorted(self.artist_token_ids.values()))

    @classmethod
    def read(cls, path: str | Path) -> Manifest | None:
        """The manifest at ``path``; None when there is no such file."""
        data = read_json(Path(path))
        return None if data is None else cls.from_dict(data, path)


def load_tokenized(data_dir: str | Path):
    """Open ``data_dir/tokenized`` and its ``Manifest``; a clear UsageError when missing."""
    from datasets import load_from_disk

    manifest = tokenized_manifest(data_dir)
    return load_from_disk(str(Path(data_dir) / "tokenized")), manifest


def tokenized_manifest(data_dir: str | Path) -> Manifest:
    """The ``Manifest`` of ``data_dir/tokenized``, without opening the splits (training reads
    them itself: lyrics_gpt2.training.rows); a clear UsageError when there is no tokenized data."""
    path = Path(data_dir) / "tokenized"
    manifest = Manifest.read(path / "manifest.json")
    if manifest is None or not (path / "dataset_dict.json").is_file():
        raise UsageError(
            f"no tokenized data in {path}; run 'python -m pipeline.preprocess "
            f"--output-dir {data_dir}' first"
        )
    return manifest


def split_is_empty(data_dir: str | Path, split: str) -> bool:
    """True for a split saved with no rows: datasets cannot even open one (it has no shards), so
    commands look here first and say so in one line instead of an IndexError later."""
    state = read_json(Path(data_dir) / "tokenized" / split / "state.json")
    return isinstance(state, dict) and not state.get("_data_files")


def collate(
    rows: list[dict[str, Any]], pad_token_id: int, conditioning_ids: Iterable[int] = ()
) -> dict[str, torch.Tensor]:
    """Stack songs into a batch trimmed to its longest real song.

    Labels are the input ids on real positions (end-of-text included, so the model learns to stop)
    and IGNORE_INDEX on padding. The genre token sits at position 0, which a causal LM never
    predicts (labels are shifted inside the model), so it is given, not learned. An artist token
    (``conditioning_ids``: ``Manifest.conditioning_ids``) sits at position 1, so its label is set
    to IGNORE_INDEX: it too is given, and the loss and every score leave it out.
    """
    import torch

    lengths = torch.tensor([int(r["length"]) for r in rows])
    width = int(lengths.max())
    ids = np.stack([np.asarray(r["input_ids"][:width], dtype=np.int64) for r in rows])
    input_ids = torch.from_numpy(ids)
    mask = torch.arange(width)[None, :] < lengths[:, None]
    input_ids = input_ids.masked_fill(~mask, pad_token_id)
    labels = input_ids.masked_fill(~mask, IGNORE_INDEX)
    conditioning = torch.tensor(sorted(set(conditioning_ids)), dtype=torch.int64)
    if len(conditioning):
        labels = labels.masked_fill(torch.isin(input_ids, conditioning), IGNORE_INDEX)
    return {"input_ids": input_ids, "attention_mask": mask.long(), "labels": labels}


class Collator:
    """``collate`` (trim to the longest song, labels -100 on padding and on the artist tokens
    ``conditioning_ids``), then optionally widen to a multiple of ``multiple`` (stable shapes
    for GPU kernels and torch.compile)."""

    def __init__(self, pad_token_id: int, seq_len: int, multiple: int = 1, conditioning_ids=()):
        self.pad_token_id, self.seq_len, self.multiple = pad_token_id, seq_len, multiple
        self.conditioning_ids = tuple(conditioning_ids)

    def __call__(self, rows):
        import torch

        batch = collate(rows, self.pad_token_id, self.conditioning_ids)
        width = batch["input_ids"].shape[1]
        target = min(self.seq_len, -(-width // self.multiple) * self.multiple)
        extra = target - width
        if extra > 0:
            pad = torch.nn.functional.pad
            batch["input_ids"] = pad(batch["input_ids"], (0, extra), value=self.pad_token_id)
            batch["attention_mask"] = pad(batch["attention_mask"], (0, extra), value=0)
            batch["labels"] = pad(batch["labels"], (0, extra), value=IGNORE_INDEX)
        return batch


class EpochShuffle:
    """A permutation that depends only on (seed, epoch): a resumed run replays the same order,
    and every process draws the same one (accelerate then gives each process its share).

    A torch sampler by protocol (``__iter__``, ``__len__``, ``set_epoch``), which is all
    DataLoader and accelerate ask of one; not a subclass, so that this module needs no torch.
    """

    def __init__(self, n: int, seed: int):
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        import torch

        g = torch.Generator()
        g.manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=g).numpy()
        if self.n <= np.iinfo(np.int32).max:
            order = order.astype(np.int32)
        return _ints(order)

    def __len__(self) -> int:
        return self.n


def _ints(order: np.ndarray, step: int = 1 << 16):
    """The entries of ``order`` as Python ints, a slice at a time: the whole epoch as one list
    of ints held ~40 bytes a row for the whole epoch (a list slot and an int object), the array
    holds 4."""
    for start in range(0, len(order), step):
        yield from order[start : start + step].tolist()
