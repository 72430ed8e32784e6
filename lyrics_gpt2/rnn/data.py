"""The songs the RNNs train and are scored on, and their cutting into TBPTT windows.

Same songs, same split as GPT-2 training: a song's text comes from the clean chunks
(``DATA/chunks/chunk-NN.parquet``, columns id, title, artist, tag, lyrics) and its split from the
ids of ``DATA/tokenized`` (``train`` / ``validation``, artist-disjoint). A song may appear there as
several rows; each id counts once. Songs the tokenize stage dropped (length filter, genre
balancing) are not used. The text is the chunk's lyrics exactly, not a decoding of token ids, so
every model is scored on the same bytes.

Training cuts songs into windows of ``bptt`` steps for truncated back-propagation through time.
Each of ``batch`` lanes plays one song after another; a song's windows follow each other in its
lane, so the hidden state is carried (detached) from window to window and reset only where a new
song starts. A song's inputs are ``<bos> ids`` and its targets ``ids <eos>``; the tail of its last
window is padding with target ``IGNORE``. The lane layout of an epoch depends only on the seed
and the epoch number, so a resumed run sees the same windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lyrics_gpt2.errors import UsageError

IGNORE = -100
SPLITS = ("train", "validation")


@dataclass(frozen=True)
class Song:
    id: str
    title: str
    artist: str
    genre: str
    lyrics: str


def split_ids(data_dir: str | Path) -> dict[str, list[str]]:
    """{split: ids in first-seen order, each once} from ``DATA/tokenized``."""
    from datasets import load_from_disk

    path = Path(data_dir) / "tokenized"
    if not (path / "dataset_dict.json").is_file():
        raise UsageError(
            f"no tokenized data in {path}; run 'python -m pipeline.preprocess "
            f"--output-dir {data_dir}' first"
        )
    dataset = load_from_disk(str(path))
    out = {}
    for split in SPLITS:
        if split not in dataset:
            raise UsageError(f"{path} has no {split!r} split")
        out[split] = list(dict.fromkeys(dataset[split]["id"]))
    return out


def load_splits(data_dir: str | Path) -> dict[str, list[Song]]:
    """{"train": [Song], "validation": [Song]}: chunk texts of the tokenized split's ids."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ids = split_ids(data_dir)
    chunks = sorted((Path(data_dir) / "chunks").glob("chunk-*.parquet"))
    if not chunks:
        raise UsageError(
            f"no clean chunks in {Path(data_dir) / 'chunks'}; run 'python -m pipeline.preprocess "
            f"--stages chunks --output-dir {data_dir}' first"
        )
    wanted = {i for split in ids.values() for i in split}
    by_id: dict[str, Song] = {}
    keep = pa.array(sorted(wanted), pa.string())
    for path in chunks:
        table = pq.read_table(path, columns=["id", "title", "artist", "tag", "lyrics"])
        # Only the split's songs become Python objects (most rows of a big dump are dropped).
        table = table.filter(pc.is_in(table["id"], value_set=keep))
        for row in table.to_pylist():
            if row["id"] in wanted and row["id"] not in by_id:
                by_id[row["id"]] = Song(
                    row["id"], row["title"] or "", row["artist"] or "", row["tag"], row["lyrics"]
                )
    missing = [i for i in wanted if i not in by_id]
    if missing:
        raise UsageError(
            f"{len(missing)} tokenized song ids (e.g. {missing[0]!r}) are not in the chunks of "
            f"{data_dir}; re-run preprocessing so both stages come from the same input"
        )
    return {split: [by_id[i] for i in split_list] for split, split_list in ids.items()}


@dataclass
class Encoded:
    """Songs as one flat id array: song i is ``ids[starts[i]:starts[i + 1]]``."""

    ids: np.ndarray  # int64 [total]
    starts: np.ndarray  # int64 [songs + 1]
    cond: np.ndarray  # int64 [songs]: condition id per song
    extra_nll: np.ndarray  # float64 [songs]: nats of spelling unknown pieces (word vocab)
    nbytes: np.ndarray  # int64 [songs]: UTF-8 bytes of the lyrics

    def __len__(self) -> int:
        return len(self.cond)

    def song(self, i: int) -> np.ndarray:
        return self.ids[self.starts[i] : self.starts[i + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)


def encode_songs(songs: list[Song], vocab, conditions) -> Encoded:
    pieces = [np.asarray(vocab.encode(s.lyrics), dtype=np.int64) for s in songs]
    starts = np.zeros(len(songs) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in pieces], out=starts[1:])
    try:
        cond = [conditions.index_of(s.genre, s.artist) for s in songs]
    except ValueError:
        raise UsageError(
            f"a song's genre is not one the model is conditioned on ({conditions.labels})"
        ) from None
    return Encoded(
        np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64),
        starts,
        np.asarray(cond, dtype=np.int64),
        np.asarray([vocab.spelling_nll(s.lyrics) for s in songs], dtype=np.float64),
        np.asarray([len(s.lyrics.encode("utf-8")) for s in songs], dtype=np.int64),
    )


@dataclass
class Window:
    """One training step: inputs and targets [B, T], condition [B], new-song flags [B]."""

    x: np.ndarray
    y: np.ndarray
    cond: np.ndarray
    reset: np.ndarray  # bool: the lane starts a song here (state back to zero)


class WindowPlan:
    """The lanes of one epoch: which song and offset each lane plays at each step."""

    def __init__(self, data, batch: int, bptt: int, seed: int, epoch: int):
        self.data, self.batch, self.bptt = data, batch, bptt
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(data))
        windows = (self.targets(data)[order] + bptt - 1) // bptt
        lanes: list[list[tuple[int, int]]] = [[] for _ in range(batch)]
        load = np.zeros(batch, dtype=np.int64)
        for song, n in zip(order.tolist(), windows.tolist(), strict=True):
            lane = int(np.argmin(load))  # the emptiest lane, so lanes end close together
            lanes[lane].extend((song, k * bptt) for k in range(n))
            load[lane] += n
        self.steps = int(load.max()) if len(data) else 0
        self.song = np.full((batch, self.steps), -1, dtype=np.int64)
        self.offset = np.zeros((batch, self.steps), dtype=np.int64)
        for b, lane in enumerate(lanes):
            if lane:
                self.song[b, : len(lane)], self.offset[b, : len(lane)] = np.asarray(lane).T

    @staticmethod
    def targets(data) -> np.ndarray:
        """Targets per song: its ids and ``<eos>``. A plan for other sequences (the piano rolls
        of ``lyrics_gpt2.music``) overrides this and :meth:`window`, and keeps the lane layout."""
        return data.lengths() + 1

    def __len__(self) -> int:
        return self.steps

    def window(self, step: int, bos: int, eos: int) -> Window:
        B, T = self.batch, self.bptt
        x = np.zeros((B, T), dtype=np.int64)
        y = np.full((B, T), IGNORE, dtype=np.int64)
        cond = np.zeros(B, dtype=np.int64)
        reset = np.ones(B, dtype=bool)
        for b in range(B):
            song, off = int(self.song[b, step]), int(self.offset[b, step])
            if song < 0:  # the lane has run out of songs: an idle, all-padding window
                continue
            ids = self.data.song(song)
            inputs = np.concatenate([[bos], ids])[off : off + T]
            targets = np.concatenate([ids, [eos]])[off : off + T]
            x[b, : len(inputs)] = inputs
            y[b, : len(targets)] = targets
            cond[b] = self.data.cond[song]
            reset[b] = off == 0
        return Window(x, y, cond, reset)
