"""Helpers for tests and quick experiments: a tiny tokenized corpus in the training-data contract.

``write_tiny_dataset(DIR)`` writes ``DIR/tokenizer`` (a small byte-level BPE with the genre tokens)
and ``DIR/tokenized`` (DatasetDict train/validation + manifest.json) exactly as stage ``tokenize``
does, in about a second, so training, generation and perplexity can be tested without running
the preprocessing pipeline. Genres use disjoint word banks, so a model can learn the conditioning.
"""

from __future__ import annotations

import random
from pathlib import Path

from lyrics_gpt2 import data
from lyrics_gpt2.fileio import write_json
from lyrics_gpt2.genres import GENRE_TOKENS
from lyrics_gpt2.tokenizer import add_genre_tokens, train_bpe

_BANKS = {
    "rap": "money block hustle flow crew grind mic beat street chain cash spit rhyme boss "
    "hood stack drip whip ride real".split(),
    "pop": "love heart dance night baby shine dream forever kiss sky summer tonight "
    "star smile sweet darling feel together light".split(),
    "rock": "fire road thunder guitar wild storm rebel steel highway burn scream stone "
    "loud electric restless black".split(),
}


def tiny_songs(genre: str, n: int, rng: random.Random) -> list[str]:
    """n songs of 1-4 stanzas, each line 3-6 words from the genre's bank."""
    bank = _BANKS[genre]
    songs = []
    for _ in range(n):
        stanzas = []
        for _ in range(rng.randint(1, 4)):
            lines = [
                " ".join(rng.choices(bank, k=rng.randint(3, 6))) for _ in range(rng.randint(2, 4))
            ]
            stanzas.append("\n".join(lines))
        songs.append("\n\n".join(stanzas))
    return songs


def train_tiny_tokenizer(texts: list[str], genres: list[str], vocab_size: int = 400):
    """The pipeline's byte-level BPE (``bpe:N``) trained on ``texts``, plus genre tokens."""
    fast = train_bpe(texts, vocab_size)
    add_genre_tokens(fast, genres)
    return fast


def write_tiny_dataset(
    data_dir: str | Path,
    genres: tuple[str, ...] = ("pop", "rap"),
    train_per_genre: int = 48,
    val_per_genre: int = 8,
    seq_len: int = 64,
    seed: int = 0,
) -> Path:
    """Write DIR/tokenizer and DIR/tokenized for ``genres``; return DIR."""
    from datasets import Dataset, DatasetDict

    data_dir = Path(data_dir)
    rng = random.Random(seed)
    splits = {"train": train_per_genre, "validation": val_per_genre}
    songs = {(split, g): tiny_songs(g, n, rng) for split, n in splits.items() for g in genres}
    tokenizer = train_tiny_tokenizer([s for texts in songs.values() for s in texts], list(genres))
    genre_ids = {g: tokenizer.convert_tokens_to_ids(GENRE_TOKENS[g]) for g in genres}
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id

    features = data.features("uint16")
    dataset = {}
    for split in splits:
        rows = {name: [] for name in features}
        for g in genres:
            for i, text in enumerate(songs[(split, g)]):
                ids = [genre_ids[g], *tokenizer(text)["input_ids"], eos][:seq_len]
                rows["input_ids"].append(ids + [pad] * (seq_len - len(ids)))
                rows["length"].append(len(ids))
                rows["genre"].append(g)
                rows["id"].append(f"{split}-{g}-{i}")
                # Artists never cross splits, as in the real pipeline.
                rows["artist"].append(f"{split}-{g}-artist-{i % 5}")
        dataset[split] = Dataset.from_dict(rows, features=features)

    tokenizer.save_pretrained(data_dir / "tokenizer")
    out = data_dir / "tokenized"
    DatasetDict(dataset).save_to_disk(str(out))
    write_json(
        out / "manifest.json",
        {
            "tokenizer": "tiny-bpe (lyrics_gpt2.testing)",
            "vocab_size": len(tokenizer),
            "seq_len": seq_len,
            "eos_token_id": eos,
            "pad_token_id": pad,
            "genre_tokens": {g: GENRE_TOKENS[g] for g in genres},
            "genre_token_ids": genre_ids,
            "counts": {split: {g: len(songs[(split, g)]) for g in genres} for split in splits},
        },
    )
    return data_dir
