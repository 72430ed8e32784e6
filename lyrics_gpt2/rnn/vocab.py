"""Vocabularies of the RNN models: UTF-8 bytes for the char models, words for ``word-lstm``.

Both turn a song's lyrics into ids and back without loss, so a model's score of a song is the
probability of exactly its bytes and bits per byte compares across vocabularies.

- :class:`ByteVocab` (``char-rnn``, ``char-gru``, ``char-lstm``): ids 0..255 are the song's UTF-8
  bytes, 256 starts a song (input only), 257 ends it. Bytes, not characters, so that no character
  is ever unknown and bits per byte is the model's own number, not a conversion.
- :class:`WordVocab` (``word-lstm``): the pieces of :data:`WORD_PATTERN` (a word with the space
  before it, a punctuation mark, a line break, a run of spaces) seen at least ``min_count`` times
  in the training songs, plus ``<bos>``, ``<eos>`` and ``<unk>``. An unknown piece is scored as
  ``<unk>`` followed by its spelling under a byte-unigram model fitted to the unknown pieces of the
  training songs (:meth:`WordVocab.spelling_nll`), so its bytes are paid for and bits per byte
  stays exact. Sampling never draws ``<unk>``.

A vocabulary is saved as ``vocab.json`` beside the model and read back with :func:`load_vocab`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

# A word (letters or digits, inner apostrophes) or one other mark, each with the space before
# it, or a line break, or a run of spaces. Every character matches one alternative, so joining
# the pieces gives the text back.
WORD_PATTERN = re.compile(r" ?[^\W_]+(?:'[^\W_]+)*| ?[^\w\s]| ?_|\n| +|\s")


@dataclass
class ByteVocab:
    """UTF-8 bytes plus start and end of song."""

    kind: str = "bytes"
    size: int = 258
    bos: int = 256
    eos: int = 257

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: Iterable[int]) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")

    def spelling_nll(self, text: str) -> float:
        """Extra nats for unknown pieces: none, every byte has its own id."""
        return 0.0

    def to_json(self) -> dict:
        return {"kind": self.kind}


@dataclass
class WordVocab:
    """Frequent word pieces plus <bos>, <eos>, <unk>; unknown pieces spelled by byte unigrams."""

    tokens: list[str]
    # log-probabilities of bytes 0..255 and of end-of-piece (index 256) inside unknown pieces
    spelling: list[float]
    kind: str = "words"
    index: dict[str, int] = field(init=False, repr=False)

    SPECIALS = ("<bos>", "<eos>", "<unk>")

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @property
    def size(self) -> int:
        return len(self.tokens)

    bos, eos, unk = 0, 1, 2

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 5, max_size: int | None = None):
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(WORD_PATTERN.findall(text))
        kept = [t for t, c in counts.most_common() if c >= min_count]
        if max_size is not None:
            kept = kept[: max(0, max_size - len(cls.SPECIALS))]
        known = set(kept)
        # Add-one smoothing: every byte can be spelled, even one never seen in an unknown piece.
        byte_counts = [1] * 257
        for piece, c in counts.items():
            if piece not in known:
                for b in piece.encode("utf-8"):
                    byte_counts[b] += c
                byte_counts[256] += c
        total = sum(byte_counts)
        spelling = [math.log(n / total) for n in byte_counts]
        return cls([*cls.SPECIALS, *kept], spelling)

    def pieces(self, text: str) -> list[str]:
        pieces = WORD_PATTERN.findall(text)
        if "".join(pieces) != text:  # a guard on the pattern: it must cover every character
            raise ValueError("word pattern lost characters of the text")
        return pieces

    def encode(self, text: str) -> list[int]:
        return [self.index.get(p, self.unk) for p in self.pieces(text)]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.tokens[i] if i > self.unk else "" for i in ids)

    def spelling_nll(self, text: str) -> float:
        """Nats to spell the song's unknown pieces byte by byte (each ends with end-of-piece)."""
        nll = 0.0
        for piece in self.pieces(text):
            if piece not in self.index:
                nll -= sum(self.spelling[b] for b in piece.encode("utf-8")) + self.spelling[256]
        return nll

    def to_json(self) -> dict:
        return {"kind": self.kind, "tokens": self.tokens, "spelling": self.spelling}


Vocab = ByteVocab | WordVocab


def load_vocab(data: dict) -> Vocab:
    if data.get("kind") == "bytes":
        return ByteVocab()
    if data.get("kind") == "words":
        return WordVocab(list(data["tokens"]), list(data["spelling"]))
    raise ValueError(f"unknown vocabulary kind {data.get('kind')!r}")


@dataclass
class Conditions:
    """What a model is conditioned on: nothing, the genre, or the artist (a one-hot per step).

    ``labels`` are the values the one-hot can take; for artists the most frequent training
    artists and, last, ``other`` for everyone else.
    """

    kind: str = "none"  # none | genre | artist
    labels: list[str] = field(default_factory=list)

    OTHER = "other"

    @property
    def size(self) -> int:
        return len(self.labels)

    @classmethod
    def build(cls, kind: str, genres: Iterable[str], artists: Iterable[str], top_artists: int):
        if kind == "none":
            return cls()
        if kind == "genre":
            return cls("genre", sorted(set(genres)))
        if kind == "artist":
            # Ties broken by name, so the same songs always give the same list.
            counts = Counter(artists)
            ranked = sorted(counts, key=lambda a: (-counts[a], a))[:top_artists]
            return cls("artist", [*ranked, cls.OTHER])
        raise ValueError(f"unknown condition {kind!r}")

    def index_of(self, genre: str, artist: str) -> int:
        """The condition id of a song (0 when unconditioned)."""
        if self.kind == "genre":
            return self.labels.index(genre)
        if self.kind == "artist":
            value = artist if artist in self.labels[:-1] else self.OTHER
            return self.labels.index(value)
        return 0

    def to_json(self) -> dict:
        return {"kind": self.kind, "labels": self.labels}
