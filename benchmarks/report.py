"""Time and peak memory of the report's memorisation check at scale: the word 8-gram index of a
100k-song training set (build, save, load) and the lookups for 256 generated songs.

    python benchmarks/report.py                          # 100,000 training songs, 256 generated
    python benchmarks/report.py --train 20000 --classifier

Songs are synthetic: ~200 words each (the held-out songs' mean is ~210) drawn from a Zipf-like
distribution over 30,000 words, so 8-grams are about as unique as in real lyrics. A quarter of the
generated songs copy a 40-word passage from a training song. ``--classifier`` also times the
genre classifier's training. Peak memory is the process's maximum resident set (ru_maxrss) above
what it held before the step. Prints one line per step; the README's Performance section keeps
the figures.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from lyrics_gpt2.report.build import NGRAM
from lyrics_gpt2.report.measures import words
from lyrics_gpt2.report.ngrams import NgramIndex, longest_common_run


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def songs(n: int, rng: np.random.Generator, vocab: list[str], length: int = 200) -> list[str]:
    ranks = np.arange(1, len(vocab) + 1)
    p = 1 / ranks
    p /= p.sum()
    out = []
    for ws in rng.choice(len(vocab), size=(n, length), p=p):
        lines = [" ".join(vocab[w] for w in ws[i : i + 8]) for i in range(0, length, 8)]
        out.append("\n".join(lines))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=100_000)
    ap.add_argument("--generated", type=int, default=256)
    ap.add_argument("--max-ngrams", type=int, default=50_000_000)
    ap.add_argument("--classifier", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(30_000)]
    t = time.perf_counter()
    train = songs(args.train, rng, vocab)
    gen = songs(args.generated, rng, vocab)
    for i in range(0, len(gen), 4):  # a quarter copy 40 words of a training song
        src = words(train[int(rng.integers(len(train)))])[:40]
        gen[i] = " ".join(src) + "\n" + gen[i]
    print(f"made {args.train:,} + {args.generated} songs in {time.perf_counter() - t:.1f} s")
    base = peak_mb()
    t = time.perf_counter()
    index = NgramIndex.build(train, NGRAM, args.max_ngrams)
    build_s = time.perf_counter() - t
    print(
        f"index build: {build_s:.1f} s, {len(index.keys):,} 8-grams, "
        f"{index.nbytes / 2**20:.0f} MB index, peak +{peak_mb() - base:.0f} MB RSS"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "i.npz"
        t = time.perf_counter()
        index.save(path)
        index = NgramIndex.load(path)
        print(
            f"index save + load: {time.perf_counter() - t:.1f} s, "
            f"{path.stat().st_size / 2**20:.0f} MB file"
        )
    t = time.perf_counter()
    shares, runs = [], []
    for text in gen:
        shares.append(index.copied_share(text))
        mine = words(text)
        runs.append(
            max(
                [longest_common_run(mine, words(train[c])) for c in index.candidates(text)],
                default=0,
            )
        )
    look_s = time.perf_counter() - t
    print(
        f"lookups for {len(gen)} songs: {look_s:.2f} s ({look_s / len(gen) * 1000:.1f} ms/song); "
        f"mean copied share {np.mean(shares):.3f}, copying songs' longest run "
        f"{int(np.median(runs[::4]))} words (expected 40)"
    )
    if args.classifier:
        from lyrics_gpt2.report.classifier import GenreClassifier

        labels = [("pop", "rap")[i % 2] for i in range(len(train))]
        t = time.perf_counter()
        GenreClassifier.fit(train, labels)
        print(f"classifier fit: {time.perf_counter() - t:.1f} s, peak {peak_mb():.0f} MB RSS")
    print(f"process peak {peak_mb():.0f} MB RSS")


if __name__ == "__main__":
    main()
