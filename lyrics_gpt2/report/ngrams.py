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
little more than that: 16 sorted runs (by the hash's top bits) take the new hashes batch by
batch, so no step sorts everything at once. A 64-bit collision (a false "copied") has odds ~1e-10 per lookup at 50M.

**Low-information n-grams** -- those of fewer than ``MIN_DISTINCT`` (3) distinct words, such as
"la la la la la la la la" or a one-word chant -- are neither indexed nor looked up: vocables
repeat across unrelated songs, so they would count as copies. A song's copied share is over its
informative n-grams, and :func:`longest_common_run` only counts runs of at least 3 distinct words.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lyrics_gpt2.fileio import atomic_path
from lyrics_gpt2.report.measures import words

MASK = (1 << 64) - 1
PRIME = np.uint64(0x100000001B3)  # FNV's 64-bit prime: odd, so the combination is invertible
ALL = np.uint64(MASK)
BUCKETS, SHIFT = 16, 60  # sorted runs while building, by the top 4 bits of the hash
MIN_BATCH = 1 << 16  # new hashes merged at once, at least
BLOCK_WORDS = 1 << 18  # words hashed in one numpy pass
MAX_CACHE = 1_000_000  # word hashes remembered (~130 MB at most), then forgotten
MIN_DISTINCT = 3  # an n-gram of fewer distinct words is low-information (vocables, chants)


def _word_hashes(tokens: list[str], cache: dict[str, int]) -> np.ndarray:
    for w in set(tokens).difference(cache):
        cache[w] = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
    return np.fromiter(map(cache.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the polynomial hash uniformly over 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def ngram_hashes(
    tokens: list[str], n: int, cache: dict[str, int] | None = None, informative: bool = False
) -> np.ndarray:
    """uint64 hashes of the word n-grams, in order ([len(tokens) - n + 1]); with
    ``informative``, only those of at least MIN_DISTINCT distinct words."""
    if len(tokens) < n:
        return np.empty(0, dtype=np.uint64)
    w = _word_hashes(tokens, {} if cache is None else cache)
    m = len(tokens) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * PRIME + w[k : k + m]
        h = _mix(h)
    if informative:
        h = h[distinct_counts(w, n) >= MIN_DISTINCT]
    return h


def distinct_counts(values: np.ndarray, n: int) -> np.ndarray:
    """[len(values) - n + 1] number of distinct values in each window of ``n`` (vectorised)."""
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(values, n), axis=1)
    return 1 + (windows[:, 1:] != windows[:, :-1]).sum(axis=1)


def _merge(
    runs: list, k: np.ndarray, s: np.ndarray, max_ngrams: int, threshold: np.uint64
) -> np.uint64:
    """Merge a batch of (hash, song) into the sorted runs and keep the ``max_ngrams`` smallest
    hashes; return the new threshold (the largest hash kept once the bound is reached)."""
    order = np.argsort(k)  # several times faster than a lexsort with the songs
    k, s = k[order], s[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    starts = np.flatnonzero(first)
    k, s = k[starts], np.minimum.reduceat(s, starts)  # the smallest song of each hash
    bounds = np.searchsorted(k, np.arange(1, BUCKETS, dtype=np.uint64) << np.uint64(SHIFT))
    for b, (lo, hi) in enumerate(zip([0, *bounds], [*bounds, len(k)], strict=True)):
        if lo == hi:
            continue
        rk, rs = runs[b]
        bk, bs = k[lo:hi], s[lo:hi]
        pos = np.searchsorted(rk, bk)
        found = pos < len(rk)
        found[found] = rk[pos[found]] == bk[found]
        rs[pos[found]] = np.minimum(rs[pos[found]], bs[found])  # songs may come in any order
        new = ~found
        runs[b] = (np.insert(rk, pos[new], bk[new]), np.insert(rs, pos[new], bs[new]))
    total = sum(len(rk) for rk, _ in runs)
    if total <= max_ngrams:
        return threshold
    excess = total - max_ngrams  # the largest hashes go: the last runs' tails
    for b in reversed(range(BUCKETS)):
        rk, rs = runs[b]
        cut = min(excess, len(rk))
        if cut:
            runs[b] = (rk[: len(rk) - cut].copy(), rs[: len(rs) - cut].copy())
            excess -= cut
        if not excess:
            break
    last = next(rk for rk, _ in reversed(runs) if len(rk))
    return last[-1]


def _block_hashes(
    block: list[list[str]], numbers: list[int], n: int, cache: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, int]:
    """The informative n-gram hashes of several songs' words (as :func:`ngram_hashes` gives
    each), the song number of each, and how many n-grams the songs have in all."""
    lengths = np.array([len(t) for t in block], dtype=np.int64)
    w = _word_hashes(list(itertools.chain.from_iterable(block)), cache)
    m = len(w) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * PRIME + w[k : k + m]
    song = np.repeat(np.arange(len(block)), lengths)
    inside = song[:m] == song[n - 1 :]  # windows that do not cross into the next song
    seen = int(inside.sum())
    keep = inside & (distinct_counts(w, n) >= MIN_DISTINCT)  # informative ones only
    return _mix(h[keep]), np.asarray(numbers, dtype=np.uint32)[song[:m][keep]], seen


def _flag_last(items: Iterable):
    """(is_last, item) for each item."""
    it = iter(items)
    try:
        prev = next(it)
    except StopIteration:
        return
    for item in it:
        yield False, prev
        prev = item
    yield True, prev


def _concatenate(runs: list) -> tuple[np.ndarray, np.ndarray]:
    """One sorted array of the runs, each run freed once copied (peak: index + one run)."""
    total = sum(len(rk) for rk, _ in runs)
    keys, songs = np.empty(total, np.uint64), np.empty(total, np.uint32)
    at = 0
    for b in range(BUCKETS):
        rk, rs = runs[b]
        keys[at : at + len(rk)], songs[at : at + len(rk)] = rk, rs
        at += len(rk)
        runs[b] = None
    return keys, songs


class NgramIndex:
    def __init__(self, n: int, keys: np.ndarray, songs: np.ndarray, threshold: np.uint64):
        self.n, self.keys, self.songs, self.threshold = n, keys, songs, np.uint64(threshold)
        self._cache: dict[str, int] = {}
        self.seen = 0  # n-grams read by build (0 for a loaded index)

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.songs.nbytes

    @classmethod
    def build(cls, texts: Iterable[str], n: int = 8, max_ngrams: int = 50_000_000) -> NgramIndex:
        """The index of ``texts``, song numbers by position."""
        return cls.build_numbered(enumerate(texts), n, max_ngrams)

    @classmethod
    def build_numbered(
        cls, songs: Iterable[tuple[int, str]], n: int = 8, max_ngrams: int = 50_000_000
    ) -> NgramIndex:
        """The index of (song number, text) pairs in any order: the smallest number holding an
        informative n-gram is its song. ``index.seen`` counts the n-grams read (all of them).

        Memory stays near the index's own size: the hashes go into 16 sorted runs by their top
        4 bits, and a batch of new hashes (at most ``max_ngrams / 16``) is sorted alone and
        merged into each run, so no step sorts or copies more than a batch and one run.
        """
        cache: dict[str, int] = {}
        runs = [(np.empty(0, np.uint64), np.empty(0, np.uint32)) for _ in range(BUCKETS)]
        keys, numbers, pending, seen = [], [], 0, 0
        threshold = ALL
        batch = max(MIN_BATCH, max_ngrams // BUCKETS)
        block: list[list[str]] = []
        block_numbers: list[int] = []
        block_words = 0
        for last, (number, text) in _flag_last(songs):
            tokens = words(text)
            if len(tokens) >= n:
                block.append(tokens)
                block_numbers.append(number)
                block_words += len(tokens)
            if block_words < BLOCK_WORDS and not (last and block):
                continue
            # One pass of numpy over many songs: per-song calls would cost more than the hashing.
            h, s, read = _block_hashes(block, block_numbers, n, cache)
            block, block_numbers, block_words = [], [], 0
            if len(cache) > MAX_CACHE:
                cache.clear()
            seen += read
            keep = h <= threshold
            keys.append(h[keep])
            numbers.append(s[keep])
            pending += len(keys[-1])
            if pending > batch:
                threshold = _merge(
                    runs, np.concatenate(keys), np.concatenate(numbers), max_ngrams, threshold
                )
                keys, numbers, pending = [], [], 0
        if pending:
            threshold = _merge(
                runs, np.concatenate(keys), np.concatenate(numbers), max_ngrams, threshold
            )
        index = cls(n, *_concatenate(runs), threshold)
        index.seen = seen
        return index

    def _lookup(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(hit mask, song of each hit) over the song's n-grams in the sampled hash range."""
        h = ngram_hashes(words(text), self.n, self._cache, informative=True)
        h = h[h <= self.threshold]
        pos = np.searchsorted(self.keys, h)
        pos = np.minimum(pos, max(len(self.keys) - 1, 0))
        hit = self.keys[pos] == h if len(self.keys) else np.zeros(len(h), dtype=bool)
        return hit, self.songs[pos[hit]] if len(self.keys) else np.empty(0, np.uint32)

    def copied_share(self, text: str) -> float:
        """Share of the song's informative word n-grams found in the training songs (0 when it
        has none)."""
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
    """Length of the longest run of consecutive words that ``a`` and ``b`` share and that holds
    at least MIN_DISTINCT distinct words ("la la la ..." shared by two songs is no copy)."""
    if len(a) < MIN_DISTINCT or len(b) < MIN_DISTINCT:
        return 0
    vocab: dict[str, int] = {}
    x = np.array([vocab.setdefault(w, len(vocab)) for w in a], dtype=np.int64)
    y = np.array([vocab.setdefault(w, len(vocab)) for w in b], dtype=np.int64)
    # run[j]: length of the common run ending at a[i], b[j]; one row of the DP at a time.
    run = np.zeros(len(y), dtype=np.int64)
    best = 0
    for i in range(len(x)):
        prev = run
        run = np.zeros(len(y), dtype=np.int64)
        same = y == x[i]
        run[1:][same[1:]] = prev[:-1][same[1:]] + 1
        run[0] = int(same[0])
        # a run that ends here and does not go on at the next word of a is maximal
        ends = (
            np.flatnonzero(run > best)
            if i + 1 == len(x)
            else np.flatnonzero((run > best) & ~np.concatenate([(y[1:] == x[i + 1]), [False]]))
        )
        for j in ends:
            length = int(run[j])
            if length > best and len(set(x[i - length + 1 : i + 1].tolist())) >= MIN_DISTINCT:
                best = length
    return best
