"""Helpers for tests, benchmarks and quick experiments: a tiny corpus and a tiny trained model.

``write_tiny_dataset(DIR)`` writes ``DIR/tokenizer`` (a small byte-level BPE with the genre tokens)
and ``DIR/tokenized`` (DatasetDict train/validation + manifest.json) exactly as stage ``tokenize``
does, in about a second, so training, generation and perplexity can be tested without running
the preprocessing pipeline. Genres use disjoint word banks, so a model can learn the conditioning.
With ``artists_per_genre=A`` each genre also has A artists with ``[Artist: Name]`` tokens, each
singing from its own part of the genre's bank, and a split ``artist_val`` of their held-out songs,
as stage tokenize's ``--artist-tokens`` writes: artists that really differ, so a model can learn
the artist tokens too.

``train_tiny_model(DIR, OUT)`` trains a small GPT-2 on it in a few seconds and writes the folder
training writes (see its docstring). ``subprocess_env()`` and ``exit_code()`` are what tests of
the commands share::

    from lyrics_gpt2.testing import train_tiny_model, write_tiny_dataset
    model_dir = train_tiny_model(write_tiny_dataset("/tmp/tiny"), "/tmp/tiny/model")
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from lyrics_gpt2 import data
from lyrics_gpt2.cli import run
from lyrics_gpt2.fileio import write_json
from lyrics_gpt2.genres import GENRE_TOKENS, artist_token
from lyrics_gpt2.tokenizer import add_artist_tokens, add_genre_tokens, load_tokenizer, train_bpe

EOS = "<|endoftext|>"
REPO = Path(__file__).resolve().parent.parent


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment with the repository on PYTHONPATH (so ``python -m lyrics_gpt2...``,
    ``python -m pipeline...`` and ``accelerate launch lyrics_gpt2/train.py`` import this checkout
    even where it is not installed), plus ``extra``."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def exit_code(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str]) -> int:
    """What ``python -m ...`` would exit with: ``cli.run``'s code, or SystemExit's (argparse)."""
    try:
        return run(main, list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)


_BANKS = {
    "rap": "money block hustle flow crew grind mic beat street chain cash spit rhyme boss "
    "hood stack drip whip ride real".split(),
    "pop": "love heart dance night baby shine dream forever kiss sky summer tonight "
    "star smile sweet darling feel together light".split(),
    "rock": "fire road thunder guitar wild storm rebel steel highway burn scream stone "
    "loud electric restless black".split(),
}


def tiny_songs(
    genre: str, n: int, rng: random.Random, bank: Sequence[str] | None = None
) -> list[str]:
    """n songs of 1-4 stanzas, each line 3-6 words from ``bank`` (default: the genre's)."""
    bank = list(bank or _BANKS[genre])
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
    piece_tokens: int | None = None,
    artists_per_genre: int = 0,
    artist_val_per_artist: int = 4,
) -> Path:
    """Write DIR/tokenizer and DIR/tokenized for ``genres``; return DIR.

    ``artists_per_genre``: the training songs of each genre are sung in turn by that many
    artists (``"Pop Singer 0"``, ...), artist k using every A-th word of the genre's bank from
    the k-th on, each with an artist token after the genre token; ``artist_val_per_artist`` more
    songs of each go to split ``artist_val``. Validation songs stay by other artists, without.

    ``piece_tokens``: cut every song into pieces of at most this many lyric tokens, as stage
    tokenize does with long songs (at token boundaries here): each piece is a row that starts
    with the genre token, only the last ends with end-of-text, and a ``piece`` column (0, 1, ...)
    is added; rows of one song share its ``id``. Without it every song is one row cut to
    ``seq_len``.
    """
    from datasets import Dataset, DatasetDict

    data_dir = Path(data_dir)
    rng = random.Random(seed)
    splits = {"train": train_per_genre, "validation": val_per_genre}
    songs = {(split, g): tiny_songs(g, n, rng) for split, n in splits.items() for g in genres}
    # (split, genre) -> the artist of each song; None: no artist token
    singers: dict[tuple[str, str], list[str | None]] = {}
    names = {(g, k): f"{g.title()} Singer {k}" for g in genres for k in range(artists_per_genre)}
    if artists_per_genre:
        splits["artist_val"] = artist_val_per_artist * artists_per_genre
        for split in ("train", "artist_val"):
            for g in genres:
                singers[(split, g)], songs[(split, g)] = [], []
                for i in range(splits[split]):
                    k = i % artists_per_genre
                    bank = _BANKS[g][k::artists_per_genre]
                    singers[(split, g)].append(names[(g, k)])
                    songs[(split, g)] += tiny_songs(g, 1, rng, bank)
    tokenizer = train_tiny_tokenizer([s for texts in songs.values() for s in texts], list(genres))
    artist_ids = add_artist_tokens(tokenizer, names.values()) if names else {}
    genre_ids = {g: tokenizer.convert_tokens_to_ids(GENRE_TOKENS[g]) for g in genres}
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id

    features = data.features("uint16")
    if piece_tokens is not None and not 1 <= piece_tokens <= seq_len - 1:
        raise ValueError(f"piece_tokens must be between 1 and seq_len - 1, not {piece_tokens}")
    dataset = {}
    for split in splits:
        rows = {name: [] for name in features}
        for g in genres:
            for i, text in enumerate(songs[(split, g)]):
                lyric = [*tokenizer(text)["input_ids"], eos]
                singer = singers[(split, g)][i] if (split, g) in singers else None
                first = [genre_ids[g], *([artist_ids[singer]] if singer else [])]
                if piece_tokens is None:
                    cut = [[*first, *lyric][:seq_len]]
                else:
                    cut = [
                        [*first, *lyric[k : k + piece_tokens]]
                        for k in range(0, len(lyric), piece_tokens)
                    ]
                for piece, ids in enumerate(cut):
                    rows["input_ids"].append(ids + [pad] * (seq_len - len(ids)))
                    rows["length"].append(len(ids))
                    rows["genre"].append(g)
                    rows["id"].append(f"{split}-{g}-{i}")
                    # Validation artists never sing in training, as in the real pipeline.
                    rows["artist"].append(singer or f"{split}-{g}-artist-{i % 5}")
                    rows["piece"].append(piece)
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
            **(
                {
                    "artist_tokens": {a: artist_token(a) for a in artist_ids},
                    "artist_token_ids": artist_ids,
                }
                if artist_ids
                else {}
            ),
            "counts": {split: {g: len(songs[(split, g)]) for g in genres} for split in splits},
        },
    )
    return data_dir


def train_tiny_model(
    data_dir: str | Path,
    out: str | Path,
    steps: int = 80,
    batch_size: int = 16,
    n_embd: int = 64,
    n_layer: int = 2,
    lr: float = 3e-3,
    seed: int = 0,
) -> Path:
    """A small GPT-2 trained on ``data_dir/tokenized`` in seconds, saved as training saves it.

    The model is built by the training command's ``modeling.build_model`` and optimised with its
    ``optim.build_optimizer``; ``OUT`` (weights, config, generation config, tokenizer) and
    ``OUT/untuned`` (the initial weights) are written by its ``outputs.save_hf_folder``, and
    ``OUT/summary.json`` names the untuned model under the keys training uses. Only the loop is
    a plain one (random batches, no accelerator, no validation): ``train.fit`` with its
    accelerator, loaders and validation passes would cost several times these few seconds.
    """
    import torch

    from lyrics_gpt2.data import collate, load_tokenized
    from lyrics_gpt2.modeling import build_model
    from lyrics_gpt2.training.config import TrainArgs
    from lyrics_gpt2.training.optim import build_optimizer
    from lyrics_gpt2.training.outputs import save_hf_folder, summary_base

    out = Path(out)
    dataset, manifest = load_tokenized(data_dir)
    tokenizer = load_tokenizer(Path(data_dir) / "tokenizer")
    seq_len = manifest.seq_len
    torch.manual_seed(seed)
    arch = {"n_positions": seq_len, "n_embd": n_embd, "n_layer": n_layer, "n_head": 2}
    model, _ = build_model("tiny", tokenizer, model_config=arch, seq_len=seq_len)
    save_hf_folder(model, tokenizer, out / "untuned", seq_len)
    train = dataset["train"].with_format("numpy")
    rows = [{"input_ids": r["input_ids"], "length": r["length"]} for r in train]
    gen = torch.Generator().manual_seed(seed)
    opt = build_optimizer(model, TrainArgs(lr=lr, model="tiny"))
    model.train()
    for _ in range(steps):
        pick = torch.randint(len(rows), (batch_size,), generator=gen).tolist()
        batch = collate([rows[i] for i in pick], manifest.pad_token_id, manifest.conditioning_ids)
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    save_hf_folder(model, tokenizer, out, seq_len)
    base = summary_base(out, str(out / "untuned"), "scratch")
    write_json(
        out / "summary.json",
        {
            **base,
            "base_model_kind": "scratch",
            "untuned_model": base["base_model"],
            "steps": steps,
            "final_train_loss": float(loss.detach()),
        },
    )
    return out
