"""What the training loop reads: the tokenized splits checked against their tokenizer, and loaders.

    data = load_data("artifacts/data", eval_max_songs=500)
    train_loader, val_loader, sampler = get_dataloaders(data, args)   # args: config.TrainArgs

The format itself (features, manifest, collate, sampler) is lyrics_gpt2.data's; this module is
lyrics_gpt2/train.py's use of it, its rows read by lyrics_gpt2.training.rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from lyrics_gpt2.data import Collator, EpochShuffle, Manifest, split_is_empty, tokenized_manifest
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import read_json
from lyrics_gpt2.tokenizer import check_data_vocab, load_tokenizer
from lyrics_gpt2.training.config import TrainArgs
from lyrics_gpt2.training.rows import SplitRows


@dataclass
class TrainData:
    train: SplitRows  # rows of input_ids, length
    validation: SplitRows
    manifest: Manifest
    tokenizer: object
    # Songs per split: rows of piece 0 (a long song's later pieces are rows too), from stage
    # tokenize's manifest for a whole split, else counted.
    songs: dict[str, int]

    @property
    def seq_len(self) -> int:
        return self.manifest.seq_len

    @property
    def pad_token_id(self) -> int:
        return self.manifest.pad_token_id


def load_data(data_dir: str | Path, eval_max_songs: int | None = None) -> TrainData:
    """The tokenized splits, manifest and tokenizer, checked against each other.

    The splits are read with plain reads (training.rows.SplitRows), not through datasets'
    memory maps, whose file pages stayed in the process's RSS and grew with the data."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UsageError(f"data folder {data_dir} does not exist; run preprocessing first")
    for name in ("train", "validation"):
        if split_is_empty(data_dir, name):
            raise UsageError(
                f"the {name} split in {data_dir}/tokenized is empty; re-run preprocessing"
            )
    manifest = tokenized_manifest(data_dir)
    listed = (read_json(data_dir / "tokenized" / "dataset_dict.json") or {}).get("splits") or []
    opened = {}
    for name in ("train", "validation"):
        if name not in listed:
            raise UsageError(f"the {name} split in {data_dir}/tokenized is empty or missing")
        try:
            opened[name] = SplitRows.open(data_dir / "tokenized" / name)
        except Exception as exc:  # a damaged folder: say which, not a traceback
            raise UsageError(
                f"cannot read {data_dir}/tokenized ({type(exc).__name__}: {exc}); "
                "re-run preprocessing"
            ) from None
    tok_dir = data_dir / "tokenizer"
    if not tok_dir.is_dir():
        raise UsageError(f"no tokenizer in {tok_dir}; re-run preprocessing (stage tokenize)")
    tokenizer = load_tokenizer(tok_dir)
    check_data_vocab(
        tokenizer, manifest.vocab_size, manifest.genre_token_ids, manifest.genre_tokens, tok_dir
    )
    splits, songs = {}, {}
    for name, split in opened.items():
        if len(split) == 0:
            raise UsageError(f"the {name} split in {data_dir}/tokenized is empty or missing")
        if name == "validation" and eval_max_songs is not None and eval_max_songs < len(split):
            split = split.head(eval_max_songs)
        songs[name] = _known_songs(manifest, name, len(split))
        if songs[name] is None:
            songs[name] = count_songs(split)
        splits[name] = split
    return TrainData(splits["train"], splits["validation"], manifest, tokenizer, songs)


def _known_songs(manifest: Manifest, name: str, rows: int) -> int | None:
    """The songs of split ``name`` as stage tokenize counted them, when the split is whole
    (``rows`` as published): reading the piece column of the full dump's training split through
    datasets cost ~260 MB of the training process's memory for one number."""
    raw = manifest.raw
    if (raw.get("splits") or {}).get(name) != rows:
        return None
    known = ((raw.get("split") or {}).get("songs") or {}).get(name)
    return int(known) if isinstance(known, int) else None


def count_songs(split) -> int:
    """Songs in a tokenized split (SplitRows or datasets.Dataset): rows of piece 0 (a long song's
    later pieces are rows too)."""
    import pyarrow.compute as pc

    if isinstance(split, SplitRows):
        return split.count_songs()

    if "piece" not in split.column_names:
        return len(split)
    # Arrow's table may hold rows a select() left out: count through the dataset's indices.
    pieces = split.with_format("arrow")["piece"]
    return int(pc.sum(pc.equal(pieces, 0)).as_py() or 0)


def get_dataloaders(
    data: TrainData, args: TrainArgs
) -> tuple[DataLoader, DataLoader, EpochShuffle]:
    """Shuffled training batches and in-order validation batches (before accelerator.prepare)."""
    collator = Collator(
        data.pad_token_id, data.seq_len, args.pad_to_multiple_of, data.manifest.conditioning_ids
    )
    sampler = EpochShuffle(len(data.train), args.seed)
    # Pinned host memory lets the GPU copy run without blocking (no host sync per batch).
    common = {
        "collate_fn": collator,
        "num_workers": args.num_workers,
        "pin_memory": torch.cuda.is_available(),
    }
    if args.num_workers:
        common["persistent_workers"] = True
    # Own generators keep the loaders from drawing on the global RNG (which dropout uses), so
    # starting an iterator mid-run (resume) cannot shift the dropout masks.
    train = DataLoader(
        data.train,
        batch_size=args.batch_size,
        sampler=sampler,
        generator=torch.Generator().manual_seed(args.seed),
        **common,
    )
    val = DataLoader(
        data.validation,
        batch_size=args.eval_batch_size or args.batch_size,
        shuffle=False,
        generator=torch.Generator().manual_seed(args.seed),
        **common,
    )
    return train, val, sampler
