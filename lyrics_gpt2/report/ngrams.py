"""The hashed index of training-song word n-grams behind the report's memorisation figures.

    index = NgramIndex.build(training_texts, n=8, max_ngrams=50_000_000)
    index.copied_share("a generated song ...")      # share of its 8-grams seen in training
    index.candidates("a generated song ...")        # training songs it shares 8-grams with

``python -m lyrics_gpt2.report`` builds it once per data folder and caches it as
``DATA/report-cache/ngrams-<digest>.npz`` (the digest covers the data's manifests and n).

Each n-gram of words (lyrics_gpt2.report.measures.words) becomes a 64-bit hash: a stable hash
per word (blake2b, so every process agrees), combined polynomially and mixed (splitmix64).
The index keeps sorted unique hashes and, for each, the first training song holding it:
12 bytes per distinct n-gram. **Memory bound**: at most ``max_ngrams`` hashes are kept -- the
smallest ones, i.e. a uniform sample of the n-gram space chosen by hash value (as MinHash
does). A song's copied share is then measured on its n-grams whose hash falls in the sampled
range, so it stays unbiased while the index stays at ``12 x max_ngrams`` bytes (600 MB for the
default 50M; the 100k-song benchmark needs ~30M, so nothing is dropped there). Building holds
at most twice that. A 64-bit collision (a false "copied") has odds ~1e-10 per lookup at 50M.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lyrics_gpt2.fileio import atomic_path
from lyrics_gpt2.report.measures import words

MASK = (1 << 64) - 1
PRIME = np.uint64(0x100000001B3)  # FNV's 64-bit prime: odd, so the combination is invertible
ALL = np.uint64(MASK)


def _word_hashes(tokens: list[str], cache: dict[str, int]) -> np.ndarray:
    out = np.empty(len(tokens), dtype=np.uint64)
    for i, w in enumerate(tokens):
        h = cache.get(w)
        if h is None:
            h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
            cache[w] = h
        out[i] = h
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the polynomial hash uniformly over 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def ngram_hashes(tokens: list[str], n: int, cache: dict[str, int] | None = None) -> np.ndarray:
    """[len(tokens) - n + 1] uint64 hashes of the word n-grams, in order."""
    if len(tokens) < n:
        return np.empty(0, dtype=np.uint64)
    w = _word_hashes(tokens, {} if cache is None else cache)
    m = len(tokens) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * PRIME + w[k : k + m]
        return _mix(h)


class NgramIndex:
    def __init__(self, n: int, keys: np.ndarray, songs: np.ndarray, threshold: np.uint64):
        self.n, self.keys, self.songs, self.threshold = n, keys, songs, np.uint64(threshold)
        self._cache: dict[str, int] = {}

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.songs.nbytes

    @classmethod
    def build(cls, texts: Iterable[str], n: int = 8, max_ngrams: int = 50_000_000) -> NgramIndex:
        cache: dict[str, int] = {}
        keys, songs, pending, threshold = [], [], 0, ALL
        parts: tuple[np.ndarray, np.ndarray] = (np.empty(0, np.uint64), np.empty(0, np.uint32))

        def compact(k: np.ndarray, s: np.ndarray, limit: np.uint64):
            order = np.lexsort((s, k))  # by hash, then song: the first song of each hash wins
            k, s = k[order], s[order]
            first = np.ones(len(k), dtype=bool)
            first[1:] = k[1:] != k[:-1]
            k, s = k[first], s[first]
            if len(k) > max_ngrams:  # keep the smallest hashes: a uniform sample by value
                k, s = k[:max_ngrams], s[:max_ngrams]
                limit = k[-1]
            return k, s, limit

        for i, text in enumerate(texts):
            h = ngram_hashes(words(text), n, cache)
            h = h[h <= threshold]
            keys.append(h)
            songs.append(np.full(len(h), i, dtype=np.uint32))
            pending += len(h)
            if pending > max_ngrams:  # memory stays under ~2 x max_ngrams entries
                k, s, threshold = compact(
                    np.concatenate([parts[0], *keys]), np.concatenate([parts[1], *songs]), threshold
                )
                parts, keys, songs, pending = (k, s), [], [], 0
        k, s, threshold = compact(
            np.concatenate([parts[0], *keys]), np.concatenate([parts[1], *songs]), threshold
        )
        return cls(n, k, s, threshold)

    def _lookup(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(hit mask, song of each hit) over the song's n-grams in the sampled hash range."""
        h = ngram_hashes(words(text), self.n, self._cache)
        h = h[h <= self.threshold]
        pos = np.searchsorted(self.keys, h)
        pos = np.minimum(pos, max(len(self.keys) - 1, 0))
        hit = self.keys[pos] == h if len(self.keys) else np.zeros(len(h), dtype=bool)
        return hit, self.songs[pos[hit]] if len(self.keys) else np.empty(0, np.uint32)

    def copied_share(self, text: str) -> float:
        """Share of the song's word n-grams found in the training songs (0 when it has none)."""
        hit, _ = self._lookup(text)
        return float(hit.mean()) if len(hit) else 0.0

    def candidates(self, text: str, top: int = 3) -> list[int]:
        """Training songs (by index) sharing the most n-grams with ``text``, best first."""
        _, found = self._lookup(text)
        return [int(s) for s, _ in Counter(found.tolist()).most_common(top)]

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, n=self.n, keys=self.keys, songs=self.songs, threshold=self.threshold)

    @classmethod
    def load(cls, path: str | Path) -> NgramIndex:
        with np.load(path) as z:
            return cls(int(z["n"]), z["keys"], z["songs"], np.uint64(z["threshold"]))


def longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest run of consecutive words that ``a`` and ``b`` share."""
    from difflib import SequenceMatcher

    if not a or not b:
        return 0
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size
