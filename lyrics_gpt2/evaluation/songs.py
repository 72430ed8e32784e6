"""Tokenized songs held in memory for scoring, and the batched scorer every evaluation shares.

Used by ``python -m lyrics_gpt2.perplexity`` (lyrics_gpt2.perplexity), the swap matrices
(lyrics_gpt2.evaluation.swap), the ``evaluate`` metric (lyrics_gpt2/evaluation/lyrics_perplexity) and
benchmarks/generate.py. A ``Songs`` is the rows of one split as stored by stage tokenize: padded
ids, lengths, genres, and which song each row (piece) belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from lyrics_gpt2.data import collate, load_tokenized, split_is_empty
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.evaluation.scoring import SongScores, score_songs, song_groups
from lyrics_gpt2.genres import model_genres


@dataclass
class Songs:
    """Validation rows as stored: ids [N, seq_len] (padded), lengths [N], genres [N], and the
    song each row belongs to (``song`` [N], lyrics_gpt2.evaluation.scoring.song_groups; None: every row
    is its own song). A long song cut into pieces is several rows of one song."""

    ids: np.ndarray
    lengths: np.ndarray
    genres: np.ndarray
    pad_id: int
    eos_id: int
    song: np.ndarray | None = None
    artists: np.ndarray | None = None  # [N] each row's artist, when known
    mask_ids: tuple[int, ...] = ()  # artist token ids: given at position 1, never scored

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def groups(self) -> np.ndarray:
        """Song number of each row (0..songs-1)."""
        if self.song is None:
            return np.arange(len(self.lengths), dtype=np.int64)
        return self.song

    def with_first(self, first: int | np.ndarray) -> Songs:
        """The same rows with position 0 replaced (a genre token per row, or one token)."""
        ids = self.ids.copy()
        ids[:, 0] = first
        return replace(self, ids=ids)

    def has_artist(self) -> np.ndarray:
        """[N] bool: the row holds an artist token at position 1."""
        if not self.mask_ids or self.ids.shape[1] < 2:
            return np.zeros(len(self), dtype=bool)
        return np.isin(self.ids[:, 1], self.mask_ids) & (self.lengths > 1)

    def with_artist(self, token: int | None) -> Songs:
        """The rows that hold an artist token with ``token`` in its place, or with it removed
        (None: the row reads as a song of an artist without a token); other rows unchanged."""
        has = self.has_artist()
        ids, lengths = self.ids.copy(), self.lengths.copy()
        if token is not None:
            ids[has, 1] = token
            return replace(self, ids=ids)
        ids[has, 1:-1] = self.ids[has, 2:]
        ids[has, -1] = self.pad_id
        lengths[has] -= 1
        return replace(self, ids=ids, lengths=lengths)

    def subset(self, mask: np.ndarray) -> Songs:
        """The rows in ``mask`` (whole songs, e.g. one genre's), songs renumbered 0..k-1."""
        song = None
        if self.song is not None:
            song = np.unique(self.song[mask], return_inverse=True)[1].reshape(-1)
        return Songs(
            self.ids[mask],
            self.lengths[mask],
            self.genres[mask],
            self.pad_id,
            self.eos_id,
            song,
            None if self.artists is None else self.artists[mask],
            self.mask_ids,
        )

    def per_song(self, scores: SongScores, nbytes: np.ndarray):
        """(scores, genres, bytes) summed per song from per-row ones (a song's pieces share
        its genre)."""
        groups = self.groups
        song_scores = scores.by_song(groups)
        n = len(song_scores.nll)
        genres = np.empty(n, dtype=self.genres.dtype)
        genres[groups] = self.genres
        song_bytes = np.bincount(groups, weights=nbytes, minlength=n).astype(np.int64)
        return song_scores, genres, song_bytes


def load_songs(data_dir: str | Path, split: str = "validation", max_songs: int | None = None):
    if split_is_empty(data_dir, split):
        raise UsageError(
            f"split {split!r} in {data_dir}/tokenized has no songs; re-run preprocessing with "
            "more data or pass --split train"
        )
    dataset, manifest = load_tokenized(data_dir)
    if split not in dataset:
        raise UsageError(f"no split {split!r} in {data_dir}; available: {', '.join(dataset)}")
    ds = dataset[split]
    if len(ds) == 0:
        raise UsageError(f"split {split!r} in {data_dir} has no songs")
    # With a piece column, rows sharing an id are one song (stage tokenize's long-song pieces).
    pieces = "piece" in ds.column_names
    song = song_groups(ds["id"], pieces) if pieces else None
    if max_songs is not None:
        # The first N songs, with all their pieces.
        keep = (
            np.flatnonzero(song < max_songs) if song is not None else range(min(max_songs, len(ds)))
        )
        ds = ds.select(keep)
        if song is not None:
            song = song[keep]
    cols = ds.with_format("numpy")
    songs = Songs(
        ids=np.asarray(cols["input_ids"]).astype(np.int64),
        lengths=np.asarray(cols["length"]).astype(np.int64),
        genres=np.asarray(ds["genre"]),
        pad_id=manifest.pad_token_id,
        eos_id=manifest.eos_token_id,
        song=song,
        artists=np.asarray(ds["artist"]) if "artist" in ds.column_names else None,
        mask_ids=manifest.conditioning_ids,
    )
    return songs, manifest


def batches(songs: Songs, batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    """Collated batches of similar-length songs (less padding), each with its row numbers."""
    order = np.argsort(-songs.lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        rows = [{"input_ids": songs.ids[i], "length": songs.lengths[i]} for i in idx]
        batch = collate(rows, songs.pad_id, songs.mask_ids)
        batch["index"] = torch.from_numpy(idx.astype(np.int64))
        yield batch


def score(model, songs: Songs, batch_size: int = 16) -> SongScores:
    """Per-song NLL sums and target counts, in the songs' own order."""
    scores = score_songs(model, batches(songs, batch_size))
    order = np.argsort(scores.index)
    return SongScores(scores.nll[order], scores.tokens[order], scores.index[order])


def score_texts(
    model, tokenizer, texts: Sequence[str], genres: Sequence[str] | None = None, batch_size=16
) -> SongScores:
    """Score raw lyric texts as validation songs are scored: ``[first] lyrics <eos>``.

    ``first`` is the text's genre token when ``genres`` names one the tokenizer knows, else the
    start-of-text token; it is context only, never scored. Texts longer than the model's context
    are cut to it.
    """
    known = model_genres(tokenizer)
    eos = tokenizer.eos_token_id
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos
    if genres is not None and len(genres) != len(texts):
        raise UsageError(f"{len(genres)} genres given for {len(texts)} texts")
    if genres is not None and (unknown := {g for g in genres if g and g not in known}):
        raise UsageError(f"unknown genre(s) {sorted(unknown)}; the model knows {list(known)}")
    limit = getattr(model.config, "n_positions", None) or 1 << 30
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    rows = []
    for i, ids in enumerate(encoded):
        first = known[genres[i]] if genres is not None and genres[i] else start
        rows.append([first, *ids, eos][:limit])
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    songs = Songs(
        ids,
        np.array([len(r) for r in rows], dtype=np.int64),
        np.array(list(genres) if genres is not None else [""] * len(rows)),
        pad,
        eos,
    )
    return score(model, songs, batch_size)


def lyric_bytes(tokenizer, songs: Songs) -> np.ndarray:
    """UTF-8 bytes of each song's decoded lyrics (the scored tokens, end-of-song excluded)."""
    texts = tokenizer.batch_decode(
        [row[1:n].tolist() for row, n in zip(songs.ids, songs.lengths, strict=True)],
        skip_special_tokens=True,
        clean_up_tokenization_spaces=False,
    )
    return np.array([len(t.encode("utf-8")) for t in texts], dtype=np.int64)
