"""One chunk of stage ``tokenize`` (``python -m pipeline.preprocess --stages tokenize``): read,
drop control tokens, tokenize + pad, balance, count, write ``DIR/tokenized.parts/chunk-NN.arrow``,
in bounded batches of songs and rows (batches.py), so a worker's memory does not grow with the
chunk.

Runs in worker processes (see workers.py). ``encode_chunk(task)`` takes a frozen ``ChunkTask``;
each step below is a plain function of arrays, so it can be tested on its own.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import params_digest
from pipeline.tokenize import batches
from pipeline.tokenize.balance import balance
from pipeline.tokenize.batches import PART_META, part_table, read_part_meta
from pipeline.tokenize.pieces import cut_points, line_starts
from pipeline.tokenize.sections import encode_with_sections, not_after

BATCH_SIZE = 1000
COLUMNS = ("id", "artist", "tag", "lyrics")


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs for one chunk (pickled to the worker process)."""

    chunk: Path  # DIR/chunks/chunk-NN.parquet
    part: Path  # DIR/tokenized.parts/chunk-NN.arrow
    index: int  # NN: seeds this chunk's balancing
    key: str  # the part is reused when its stored key equals this
    force: bool
    tokenizer_json: Path
    genres: tuple[str, ...]
    genre_ids: Mapping[str, int]
    eos: int
    pad: int
    control_tokens: tuple[str, ...]  # dropped when found verbatim in lyrics
    dtype: str  # of input_ids
    schema: pa.Schema  # of the part: lyrics_gpt2.data.features(dtype), made by the parent process
    min_tokens: int
    max_tokens: int
    seq_len: int
    seed: int
    long_songs: str = "split"  # "split": cut into rows of seq_len; "drop": the original rule
    max_song_tokens: int = 4000  # split mode: longer songs (book-length texts) are dropped
    # {artist: id} of the artists with a token (--artist-tokens); their songs' rows read
    # genre token, artist token, lyrics
    artist_ids: Mapping[str, int] = field(default_factory=dict)
    # "tokens": every genre's lyric tokens down to the smallest genre's (whole songs);
    # "songs": every genre's song count down to the smallest's (the original rule); "none"
    balance: str = "tokens"
    val_artists: frozenset[str] = frozenset()  # their songs are exempt from balancing
    # {kind: id} with --sections: every stanza opens with its section token (a target, counted
    # in n and in the pieces like any lyrics token)
    section_ids: Mapping[str, int] = field(default_factory=dict)


def read_chunk(
    path: Path, columns: tuple[str, ...], read: tuple[str, ...] | None = None
) -> pa.Table:
    """``read`` (default: all of ``columns``) of a stage-1 chunk that must hold ``columns``; a
    UsageError naming the file when it is damaged or old."""
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise UsageError(f"cannot read chunk {path} ({exc}); rerun stage chunks") from None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise UsageError(
            f"chunk {path} lacks column(s) {', '.join(missing)}; rerun stage chunks with --force"
        )
    return pq.read_table(path, columns=list(read or columns))


def file_sha(path: Path) -> str | None:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return None


@functools.lru_cache(maxsize=2)
def _load_backend(path: str, sha: str | None):
    """The encoder (tiktoken for GPT-2's BPE, else the Rust tokenizer), built once per worker
    (GPT-2's JSON takes ~0.3 s), keyed by content."""
    from lyrics_gpt2.tokenizer import Encoder

    return Encoder(path)


# ------------------------------------------------------------------------------------ the steps
def control_filter(lyrics: pa.ChunkedArray, control_tokens) -> tuple[np.ndarray, np.ndarray]:
    """(empty, has_control) per row: no lyrics; lyrics holding a control token verbatim (the
    tokenizer would read it as the control token itself). A row is never both."""
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(lyrics), ""), True)
    has_control = np.zeros(len(lyrics), dtype=bool)
    for token in control_tokens:
        has_control |= pc.fill_null(pc.match_substring(lyrics, token), False).to_numpy(
            zero_copy_only=False
        )
    empty_np = empty.to_numpy(zero_copy_only=False)
    has_control &= ~empty_np
    return empty_np, has_control


def artist_prefix(artists: np.ndarray | None, artist_ids: Mapping[str, int]) -> np.ndarray:
    """Per chunk row: the artist token's id, or -1 for an artist without one."""
    if artists is None or not artist_ids:
        return np.full(0 if artists is None else len(artists), -1, dtype=np.int64)
    return np.fromiter((artist_ids.get(a, -1) for a in artists), dtype=np.int64, count=len(artists))


@dataclass
class Encoded:
    """What ``tokenize_and_pad`` made of a chunk's songs."""

    # per row of the chunk: genre token + artist token (if any) + lyrics + eos; 0 if not tokenized
    n_tokens: np.ndarray
    song: np.ndarray  # per output row: the chunk row of its song (ascending, pieces in order)
    piece: np.ndarray  # per output row: 0, 1, ... within its song
    matrix: np.ndarray  # [output rows, seq_len] ids, padded
    lengths: np.ndarray  # per output row: real tokens (genre, artist, lyrics, eos when it ends)

    @property
    def passed(self) -> np.ndarray:
        """The chunk rows of the songs that passed the length rule."""
        return np.unique(self.song)


def tokenize_and_pad(
    encoder,
    texts: pa.ChunkedArray,
    rows: np.ndarray,
    tags: np.ndarray,
    n_rows: int,
    task,
    artist_tok: np.ndarray | None = None,
    sections: pa.ChunkedArray | None = None,
) -> Encoded:
    """Tokenize ``texts`` (the lyrics of row numbers ``rows``) a batch at a time into rows.

    n = genre token + lyrics + eos per song, + 1 for a song whose chunk row has an artist token
    (``artist_tok[row]`` >= 0, :func:`artist_prefix`): it is counted like the genre token.
    ``task.long_songs == "drop"`` (the original rule): songs with min_tokens < n < max_tokens,
    one row each, cut at seq_len. ``"split"``: songs with min_tokens < n < max_song_tokens; one
    that does not fit in seq_len becomes several rows (``cut_points``), each starting with the
    genre token (and the artist token), only the last ending with eos. A song goes straight into
    padded rows, so no per-token Python objects outlive their batch (memory ~ rows x seq_len x
    2 bytes of the texts given: encode_chunk gives batches.READ_ROWS songs at a time).
    """
    seq_len, lo = task.seq_len, task.min_tokens
    split = task.long_songs == "split"
    hi = task.max_song_tokens if split else task.max_tokens
    dtype = np.dtype(task.dtype)
    pad, eos, genre_ids = task.pad, task.eos, task.genre_ids
    token_bytes = getattr(encoder, "token_bytes", None)
    section_ids = getattr(task, "section_ids", None) or {}
    section_set = np.fromiter(section_ids.values(), dtype=np.int64)
    if artist_tok is None or len(artist_tok) == 0:
        artist_tok = np.full(n_rows, -1, dtype=np.int64)
    n_tokens = np.zeros(n_rows, dtype=np.int64)
    blocks, songs, pieces, lengths = [], [], [], []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = texts.slice(start, BATCH_SIZE).to_pylist()
        if section_ids:
            codes = [""] * len(batch)
            if sections is not None:
                codes = sections.slice(start, BATCH_SIZE).to_pylist()
            encoded = encode_with_sections(encoder, batch, codes, section_ids)
        else:
            encoded = encoder.encode_batch(batch)
        batch_rows = rows[start : start + len(batch)]
        # Conditioning tokens before the lyrics: the genre token, and the artist token if any.
        prefix = 1 + (artist_tok[batch_rows] >= 0)
        n = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(batch)) + 1 + prefix
        n_tokens[batch_rows] = n
        passing = np.flatnonzero((n > lo) & (n < hi))
        spans: list[tuple[int, int, int, bool]] = []  # (song k, start, end, ends the song)
        for k in passing:
            body_room = seq_len - prefix[k]  # lyrics tokens a row holds, eos aside
            if not split or n[k] <= seq_len:
                spans.append((k, 0, min(n[k] - 1 - prefix[k], body_room), True))
                continue
            # cut_points leaves one position for the genre token: an artist token takes one more.
            starts = line_starts(batch[k], encoded[k], token_bytes)
            if len(section_set):  # never between a section token and its stanza
                starts = tuple(not_after(s, encoded[k], section_set) for s in starts)
            cuts = cut_points(n[k] - 1 - prefix[k], *starts, seq_len - prefix[k] + 1, lo)
            last = len(cuts) - 2
            spans.extend((k, a, b, i == last) for i, (a, b) in enumerate(itertools.pairwise(cuts)))
        block = np.full((len(spans), seq_len), pad, dtype=dtype)
        piece = np.zeros(len(spans), dtype=np.int32)
        length = np.zeros(len(spans), dtype=np.int32)
        prev = -1
        for j, (k, a, b, ends) in enumerate(spans):
            piece[j] = piece[j - 1] + 1 if k == prev else 0
            prev = k
            body, p = b - a, prefix[k]
            block[j, 0] = genre_ids[tags[batch_rows[k]]]
            if p == 2:
                block[j, 1] = artist_tok[batch_rows[k]]
            block[j, p : p + body] = encoded[k][a:b]
            # A song cut at seq_len in drop mode has no room for its eos.
            has_eos = ends and body + p < seq_len
            if has_eos:
                block[j, body + p] = eos
            length[j] = body + p + has_eos
        blocks.append(block)
        songs.append(batch_rows[[k for k, *_ in spans]].astype(np.int64))
        pieces.append(piece)
        lengths.append(length)
    if not blocks:
        return Encoded(
            n_tokens,
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int32),
            np.zeros((0, seq_len), dtype=dtype),
            np.zeros(0, dtype=np.int32),
        )
    return Encoded(
        n_tokens,
        np.concatenate(songs),
        np.concatenate(pieces),
        np.concatenate(blocks),
        np.concatenate(lengths),
    )


def count(
    task,
    tags,
    empty,
    has_control,
    n_tokens,
    kept_length: dict[str, int],
    kept: dict[str, int],
    tokens_length_ok: dict[str, int],
    row_tags: np.ndarray,
    row_lengths: np.ndarray,
    row_has_eos: np.ndarray,
    has_artist: np.ndarray | None = None,
    row_has_artist: np.ndarray | None = None,
) -> dict[str, dict[str, int]]:
    """Songs, rows and tokens per genre through every filter (stats.COUNT_KEYS, in that order).

    ``row_*`` describe the rows written (after balancing); their lyrics tokens are the length
    less the genre token, the artist token (``row_has_artist``) and the eos. ``has_artist``:
    per chunk row, whether its n counts an artist token.
    """
    lo = task.min_tokens
    hi = task.max_song_tokens if task.long_songs == "split" else task.max_tokens
    extra = 0 if has_artist is None else has_artist.astype(np.int64)
    row_extra = 0 if row_has_artist is None else row_has_artist.astype(np.int64)
    lyric_tokens = np.maximum(n_tokens - 2 - extra, 0)
    row_lyrics = row_lengths.astype(np.int64) - 1 - row_has_eos - row_extra
    counts = {}
    for g in task.genres:
        is_g = tags == g
        counts[g] = {
            "read": int(is_g.sum()),
            "empty": int((is_g & empty).sum()),
            "control_token": int((is_g & has_control).sum()),
            "too_short": int((is_g & (n_tokens > 0) & (n_tokens <= lo)).sum()),
            "too_long": int((is_g & (n_tokens >= hi)).sum()),
            "kept_length": kept_length[g],
            "kept": kept[g],
            "rows": int((row_tags == g).sum()),
            "tokens": int(lyric_tokens[is_g].sum()),
            "tokens_length_ok": tokens_length_ok[g],
            "tokens_kept": int(row_lyrics[row_tags == g].sum()),
        }
    return counts


# ------------------------------------------------------------------------------------- the chunk
def part_key(task: ChunkTask) -> str:
    """The task's key, plus the validation artists found in this chunk (their songs are exempt
    from balancing): a change elsewhere in the split leaves this chunk's part reusable."""
    if not task.val_artists:
        return task.key
    artists = pc.unique(pc.fill_null(read_chunk(Path(task.chunk), ("artist",))["artist"], ""))
    present = sorted(set(artists.to_pylist()) & task.val_artists)
    return params_digest({"key": task.key, "validation_artists": present})


def encode_chunk(task: ChunkTask) -> dict[str, Any]:
    """Tokenize, filter, balance and pad one chunk; write its part atomically. Returns its stats."""
    part = Path(task.part)
    key = part_key(task)
    if not task.force:
        meta = read_part_meta(part)
        if meta is not None and meta.get("key") == key:
            return {**meta["stats"], "part": str(part), "reused": True}

    t0 = time.perf_counter()
    tokenizer = _load_backend(str(task.tokenizer_json), file_sha(Path(task.tokenizer_json)))
    # The small columns whole; the lyrics READ_ROWS songs at a time (pipeline/tokenize/batches.py).
    table = read_chunk(Path(task.chunk), COLUMNS, read=("id", "artist", "tag"))
    tags = np.asarray(table["tag"].to_pylist(), dtype=object)
    artist_tok = artist_prefix(
        np.asarray(pc.fill_null(table["artist"], "").to_pylist(), dtype=object)
        if task.artist_ids
        else None,
        task.artist_ids,
    )
    empty = np.zeros(len(table), dtype=bool)
    has_control = np.zeros(len(table), dtype=bool)
    n_tokens = np.zeros(len(table), dtype=np.int64)
    songs, pieces, lengths, all_eos = [], [], [], []
    sections = bool(task.section_ids) and "sections" in pq.read_schema(task.chunk).names
    with batches.RowSpill(part.parent, task.seq_len, task.dtype) as spill:
        for at, lyrics, codes in batches.lyrics_batches(Path(task.chunk), sections):
            span = slice(at, at + len(lyrics))
            empty[span], has_control[span] = control_filter(lyrics, task.control_tokens)
            local = np.flatnonzero(~empty[span] & ~has_control[span])
            take = pa.array(local, type=pa.int64())
            codes = pc.fill_null(codes, "").take(take) if codes is not None else None
            part_enc = tokenize_and_pad(
                tokenizer, lyrics.take(take), local + at, tags, len(table), task, artist_tok, codes
            )
            n_tokens[span] = part_enc.n_tokens[span]
            # eos may double as pad, so the last real position is what tells; a 1-token row
            # has none.
            last = part_enc.matrix[
                np.arange(len(part_enc.song)), np.maximum(part_enc.lengths - 1, 0)
            ]
            all_eos.append((last == task.eos) & (part_enc.lengths > 1))
            spill.append(part_enc.matrix)
            songs.append(part_enc.song)
            pieces.append(part_enc.piece)
            lengths.append(part_enc.lengths)
            del part_enc, lyrics
        has_artist = (artist_tok >= 0) & ~empty & ~has_control if task.artist_ids else None
        song = np.concatenate(songs) if songs else np.zeros(0, dtype=np.int64)
        piece = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        row_lengths = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int32)
        all_eos = np.concatenate(all_eos) if all_eos else np.zeros(0, dtype=bool)
        tokens = int(np.maximum(n_tokens - 2 - (0 if has_artist is None else has_artist), 0).sum())

        # Lyric tokens of every row written before balancing, summed per passed song.
        row_artist = artist_tok[song] >= 0 if len(artist_tok) else 0
        all_lyrics = row_lengths.astype(np.int64) - 1 - all_eos - row_artist
        passed = np.unique(song)
        song_tokens = np.zeros(len(passed), dtype=np.int64)
        np.add.at(song_tokens, np.searchsorted(passed, song), all_lyrics)
        passed_tags = tags[passed]
        tokens_length_ok = {g: int(song_tokens[passed_tags == g].sum()) for g in task.genres}

        # Balance training songs, not rows: a song's pieces stay together; validation songs
        # stay (the split keeps the size it was given).
        rng = np.random.default_rng([task.seed, task.index])
        if task.val_artists:
            artists = pc.fill_null(table["artist"], "").take(pa.array(passed, type=pa.int64()))
            is_val = np.asarray(
                pc.is_in(artists, value_set=pa.array(sorted(task.val_artists))), dtype=bool
            )
        else:
            is_val = np.zeros(len(passed), dtype=bool)
        train = np.flatnonzero(~is_val)
        chosen, _, _ = balance(
            passed_tags[train], task.genres, rng, task.balance, song_tokens[train]
        )
        selected = np.sort(np.concatenate([train[chosen], np.flatnonzero(is_val)]))
        kept_length = {g: int((passed_tags == g).sum()) for g in task.genres}
        train_tags, train_tokens = passed_tags[train], song_tokens[train]
        balanced = {
            g: {
                "train_songs_before": int((train_tags == g).sum()),
                "train_songs_after": int((train_tags[chosen] == g).sum()),
                "train_tokens_before": int(train_tokens[train_tags == g].sum()),
                "train_tokens_after": int(train_tokens[chosen][train_tags[chosen] == g].sum()),
            }
            for g in task.genres
        }
        kept = {g: int((passed_tags[selected] == g).sum()) for g in task.genres}
        rows = np.flatnonzero(np.isin(song, passed[selected]))
        keep = song[rows]
        lengths, pieces, has_eos = row_lengths[rows], piece[rows], all_eos[rows]
        stats = _chunk_stats(
            task, tokenizer, table, tags, empty, has_control, n_tokens, passed[selected],
            kept_length, kept, tokens_length_ok, keep, lengths, has_eos, has_artist, balanced,
            tokens, len(rows), t0,
        )  # fmt: skip

        def tables() -> Iterator[pa.Table]:
            wrote = False
            for at, matrix in spill.windows(rows):
                wrote = True
                yield part_table(table, keep[at], matrix, lengths[at], pieces[at], task)
            if not wrote:  # a part with no rows still has its schema and one empty batch
                empty_rows = np.zeros((0, task.seq_len), dtype=task.dtype)
                yield part_table(table, keep, empty_rows, lengths, pieces, task)

        batches.write_part_batches(
            part, task.schema, tables(), PART_META, {"key": key, "stats": stats}
        )
    return {**stats, "part": str(part), "reused": False}


def _chunk_stats(
    task, tokenizer, table, tags, empty, has_control, n_tokens, songs_kept, kept_length, kept,
    tokens_length_ok, keep, lengths, has_eos, has_artist, balanced, tokens, n_rows, t0,
) -> dict[str, Any]:  # fmt: skip
    """The part's stats (manifest.py merges them): counts through every filter per genre."""
    tokenized = n_tokens[n_tokens > 0]
    counts = count(
        task, tags, empty, has_control, n_tokens, kept_length, kept, tokens_length_ok, tags[keep],
        lengths, has_eos, has_artist, None if has_artist is None else has_artist[keep],
    )  # fmt: skip
    for g in task.genres:
        counts[g].update(balanced[g])
    return {
        "chunk": Path(task.chunk).name,
        "encoder": tokenizer.kind,
        "tokens": int(tokens),
        "songs": len(table),
        "counts": counts,
        # Histogram of n over the kept songs: exact merged median and p95.
        "kept_length_hist": np.bincount(n_tokens[songs_kept]).tolist(),
        "rows": n_rows,
        "row_tokens": int(lengths.sum()),
        "all_n_sum": int(tokenized.sum()),
        "all_n_count": len(tokenized),
        "seconds": time.perf_counter() - t0,
    }
