"""How sampling settings change the songs: the measurement behind generate's defaults.

    python benchmarks/sampling_sweep.py                          # artifacts/model, artifacts/data
    python benchmarks/sampling_sweep.py --model M --data-dir D --songs 32
    python benchmarks/sampling_sweep.py --tiny                   # a tiny model on the tiny corpus

For each setting it samples songs for every genre and prints, beside the same figures for the
held-out validation songs (what real lyrics of this corpus look like):

- distinct-1 / distinct-2: unique words / word pairs over all words / pairs (low = repetitive),
- repeated lines: share of lines that repeat an earlier line of the same song,
- ended: share of songs that wrote end-of-song before the length limit,
- words: mean words per song,
- known: share of words that occur in the validation songs (low = made-up words).

A good default lands near the validation row on all of them; the original's temperature 2.5 with
repetition penalty 0.8 is in the grid for comparison.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from lyrics_gpt2.genres import model_genres
from lyrics_gpt2.modeling import load_trained, quiet_transformers
from lyrics_gpt2.perplexity import load_songs
from lyrics_gpt2.sampling import Sampling, generate_songs
from lyrics_gpt2.tokenizer import load_tokenizer

GRID = [
    ("original 2.5/0.8", Sampling(temperature=2.5, top_k=0, top_p=1.0, repetition_penalty=0.8)),
    ("pure sampling", Sampling(temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0)),
    ("T0.7 k50 p.95", Sampling(temperature=0.7, top_k=50, top_p=0.95, repetition_penalty=1.0)),
    ("T0.9 k50 p.95", Sampling(temperature=0.9, top_k=50, top_p=0.95, repetition_penalty=1.0)),
    ("T0.9 k50 p.95 r1.1", Sampling(temperature=0.9, top_k=50, top_p=0.95, repetition_penalty=1.1)),
    ("T1.0 k50 p.95 r1.1", Sampling(temperature=1.0, top_k=50, top_p=0.95, repetition_penalty=1.1)),
    ("T0.9 k50 p.95 r1.3", Sampling(temperature=0.9, top_k=50, top_p=0.95, repetition_penalty=1.3)),
    ("T0.9 k0 p.95 r1.1", Sampling(temperature=0.9, top_k=0, top_p=0.95, repetition_penalty=1.1)),
]


def text_stats(texts: list[str], vocab: set[str]) -> dict[str, float]:
    words = [t.split() for t in texts]
    flat = [w for ws in words for w in ws]
    pairs = [p for ws in words for p in itertools.pairwise(ws)]
    lines_total = repeated = 0
    for t in texts:
        seen: set[str] = set()
        for line in (x.strip().lower() for x in t.splitlines() if x.strip()):
            lines_total += 1
            repeated += line in seen
            seen.add(line)
    return {
        "distinct1": len(set(flat)) / max(1, len(flat)),
        "distinct2": len(set(pairs)) / max(1, len(pairs)),
        "repeated_lines": repeated / max(1, lines_total),
        "words": float(np.mean([len(ws) for ws in words])) if words else 0.0,
        "known": sum(w.lower() in vocab for w in flat) / max(1, len(flat)),
    }


def row(name: str, stats: dict, ended: float | None) -> str:
    end = "-" if ended is None else f"{ended:.2f}"
    return (
        f"{name:<22}{stats['distinct1']:>8.3f}{stats['distinct2']:>8.3f}"
        f"{stats['repeated_lines']:>10.3f}{end:>8}{stats['words']:>8.1f}{stats['known']:>8.3f}"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=Path("artifacts/model"))
    p.add_argument("--data-dir", type=Path, default=Path("artifacts/data"))
    p.add_argument("--songs", type=int, default=24, help="songs per genre per setting")
    p.add_argument("--max-length", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="train a tiny model on the tiny corpus")
    args = p.parse_args()
    quiet_transformers()
    if args.tiny:
        from lyrics_gpt2.testing import train_tiny_model, write_tiny_dataset

        tmp = Path(tempfile.mkdtemp(prefix="sweep-"))
        args.data_dir = write_tiny_dataset(tmp / "data", train_per_genre=200)
        args.model = train_tiny_model(args.data_dir, tmp / "model", steps=300)
    tok = load_tokenizer(args.model)
    model = load_trained(args.model)
    genres = list(model_genres(tok))
    limit = args.max_length or min(256, model.config.n_positions - 1)
    songs, _ = load_songs(args.data_dir, "validation")
    val_texts = tok.batch_decode(
        [r[1:n].tolist() for r, n in zip(songs.ids, songs.lengths, strict=True)],
        skip_special_tokens=True,
    )
    print(
        f"model {args.model}, genres {', '.join(genres)}, {args.songs} songs per genre per "
        f"setting, max {limit} new tokens; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'setting':<22}{'dist-1':>8}{'dist-2':>8}{'rep.lines':>10}{'ended':>8}{'words':>8}{'known':>8}"
    )
    vocab = {w.lower() for t in val_texts for w in t.split()}
    print(row("validation songs", text_stats(val_texts, vocab), None))
    for name, cfg in GRID:
        cfg = Sampling(**{**cfg.__dict__, "max_new_tokens": limit})
        out = generate_songs(
            model, tok, genres, args.songs, cfg, seed=args.seed, batch_size=64, reflow_mode="off"
        )
        ended = float(np.mean([s.ended for s in out]))
        print(row(name, text_stats([s.text for s in out], vocab), ended), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
