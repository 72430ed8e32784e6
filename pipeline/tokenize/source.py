"""Inputs of stage ``tokenize`` (``python -m pipeline.preprocess --stages tokenize``): the
settings, stage 1's chunks, the tokenizer built from ``--tokenizer``, and the cache keys that
decide what a rerun may reuse (the whole stage, the staged tokenizer, each chunk's part).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lyrics_gpt2 import data
from lyrics_gpt2 import tokenizer as tokenizers
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import atomic_path, params_digest, read_json, write_json
from lyrics_gpt2.genres import GENRE_TOKENS, TAGS, artist_token
from pipeline.tokenize.encode import ChunkTask, file_sha, read_chunk

# Bump when the part or dataset layout changes, so old parts and outputs are not reused.
FORMAT_VERSION = 2  # 2: long songs split into pieces, the piece column
DEFAULT_WORKERS = 2
# bpe:N learns its merges from at most this many characters of training lyrics (~130k songs).
BPE_MAX_CHARS = 200_000_000


@dataclass(frozen=True)
class Settings:
    """The stage's flags (see stage.add_arguments)."""

    output_dir: Path
    tokenizer: str
    min_tokens: int
    max_tokens: int
    seq_len: int
    long_songs: str
    max_song_tokens: int
    val_fraction: float
    seed: int
    workers: int
    force: bool
    quiet: bool
    artist_tokens: int = 0  # N most frequent training artists get [Artist: Name]; 0 = off
    artist_holdout: float = 0.1  # share of each such artist's training songs held out
    balance: str = "tokens"  # tokens | songs | none (stage.add_arguments --balance)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        return cls(
            output_dir=Path(args.output_dir),
            tokenizer=args.tokenizer,
            min_tokens=args.min_tokens,
            max_tokens=args.max_tokens,
            seq_len=args.seq_len,
            long_songs=getattr(args, "long_songs", "split"),
            max_song_tokens=getattr(args, "max_song_tokens", 4000),
            val_fraction=args.val_fraction,
            seed=args.seed,
            workers=DEFAULT_WORKERS if args.workers is None else args.workers,
            force=bool(args.force),
            quiet=bool(getattr(args, "quiet", False)),
            artist_tokens=getattr(args, "artist_tokens", 0),
            artist_holdout=getattr(args, "artist_holdout", 0.1),
            balance=getattr(args, "balance", "tokens"),
        )

    @property
    def bpe_size(self) -> int | None:
        return tokenizers.parse_bpe_spec(self.tokenizer)

    def params(self) -> dict[str, Any]:
        """The parameters that decide the output (manifest ``parameters`` and the stage key)."""
        return {
            "tokenizer": self.tokenizer,
            "min_tokens": self.min_tokens,
            "max_tokens": self.max_tokens,
            "seq_len": self.seq_len,
            "long_songs": self.long_songs,
            "max_song_tokens": self.max_song_tokens,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "balance": self.balance,
            # Only when on: without artist tokens the keys and the manifest stay as they were.
            **(
                {"artist_tokens": self.artist_tokens, "artist_holdout": self.artist_holdout}
                if self.artist_tokens
                else {}
            ),
        }


@dataclass(frozen=True)
class TokenizerInfo:
    """What the stage needs from the built tokenizer (stored beside it, in the stamp)."""

    vocab_size: int
    eos_token_id: int
    pad_token_id: int
    eos_token: str
    genre_token_ids: dict[str, int]
    dtype: str
    artist_token_ids: dict[str, int] = field(default_factory=dict)


def say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr)


# ------------------------------------------------------------------------------------ the chunks
def find_chunks(out_dir: Path) -> tuple[list[Path], str]:
    """The chunk files of stage 1 and a fingerprint of them (manifest + every file's identity)."""
    chunk_dir = out_dir / "chunks"
    manifest = chunk_dir / "manifest.json"
    paths = sorted(chunk_dir.glob("chunk-*.parquet"))
    if not manifest.is_file() or not paths:
        raise UsageError(
            f"no finished chunks in {chunk_dir}; run stage chunks first: "
            f"python -m pipeline.preprocess --stages chunks --output-dir {out_dir}"
        )
    h = hashlib.blake2b(digest_size=16)
    h.update(manifest.read_bytes())
    for path in paths:
        st = path.stat()
        h.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return paths, h.hexdigest()


def scan_chunks(paths: list[Path]) -> tuple[list[str], Counter[tuple[str, str]]]:
    """Genres present (in TAGS order) and songs per (artist, genre): what the split needs."""
    counts: Counter[tuple[str, str]] = Counter()
    for path in paths:
        table = read_chunk(path, ("artist", "tag"))
        grouped = (
            pa.table({"artist": pc.fill_null(table["artist"], ""), "tag": table["tag"]})
            .group_by(["artist", "tag"])
            .aggregate([([], "count_all")])
        )
        for artist, tag, n in zip(
            grouped["artist"].to_pylist(),
            grouped["tag"].to_pylist(),
            grouped["count_all"].to_pylist(),
            strict=True,
        ):
            counts[(artist, tag)] += n
    present = {tag for _, tag in counts}
    unknown = sorted(str(t) for t in present if t not in GENRE_TOKENS)
    if unknown:
        raise UsageError(
            f"chunks hold unknown genre tag(s) {', '.join(unknown)}; known: {', '.join(TAGS)}"
        )
    return [t for t in TAGS if t in present], counts


def training_texts(
    chunk_paths: list[Path], val_artists: set[str], max_chars: int | None = None
) -> Iterator[str]:
    """Lyrics of training songs only, streamed chunk by chunk (for BPE training).

    ``max_chars`` caps the sample: merges stop changing long before the whole 9 GB dump, and the
    trainer's time and memory grow with the text it sees. Stage 1's chunks are a mix of the
    whole input, so the first ones are a fair sample.
    """
    values = pa.array(sorted(val_artists), type=pa.string())
    seen = 0
    for path in chunk_paths:
        table = read_chunk(path, ("artist", "lyrics"))
        is_val = pc.fill_null(pc.is_in(pc.fill_null(table["artist"], ""), value_set=values), False)
        lyrics = table.filter(pc.invert(is_val))["lyrics"].drop_null()
        for batch in lyrics.chunks:
            for text in batch.to_pylist():
                if max_chars is not None and seen >= max_chars:
                    return
                seen += len(text)
                yield text


# ------------------------------------------------------------------------------------ cache keys
def tokenizer_source_fingerprint(spec: str) -> str:
    """Identity of a local tokenizer folder (file names, sizes, times); the spec itself otherwise."""
    path = Path(spec)
    if not path.is_dir():
        return spec
    h = hashlib.blake2b(digest_size=16)
    for f in sorted(path.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def stage_key(settings: Settings, chunks_fp: str) -> str:
    """Equal keys (and an unchanged tokenizer) mean DIR/tokenized is up to date."""
    return params_digest(
        {
            "params": settings.params(),
            "chunks": chunks_fp,
            "tokenizer_source": tokenizer_source_fingerprint(settings.tokenizer),
            "format": FORMAT_VERSION,
        }
    )


def tokenizer_key(
    settings: Settings,
    genres: list[str],
    chunks_fp: str,
    val_artists: set[str],
    artists: list[str] | tuple[str, ...] = (),
) -> str:
    return params_digest(
        {
            "spec": settings.tokenizer,
            "source": tokenizer_source_fingerprint(settings.tokenizer),
            "genres": genres,
            "format": FORMAT_VERSION,
            **({"artists": list(artists)} if artists else {}),
            # A trained BPE depends on which songs are training songs.
            **(
                {
                    "chunks": chunks_fp,
                    "val": sorted(val_artists),
                    "seed": settings.seed,
                    "max_chars": BPE_MAX_CHARS,
                }
                if settings.bpe_size is not None
                else {}
            ),
        }
    )


def chunk_tasks(
    settings: Settings,
    chunk_paths: list[Path],
    parts_dir: Path,
    staged_tok: Path,
    info: TokenizerInfo,
    genres: list[str],
    val_artists: frozenset[str] = frozenset(),
) -> list[ChunkTask]:
    """One task per chunk; its key changes with the chunk file, the tokenizer or a parameter
    (and, in the worker, with the chunk's validation artists: chunk.part_key)."""
    tok_sha = file_sha(staged_tok / "tokenizer.json")
    # Made here, not in the workers: datasets' import would cost each of them memory and time.
    # Without its metadata, so the parts' bytes match the layout this stage has always written.
    schema = data.features(info.dtype).arrow_schema.remove_metadata()
    tasks = []
    for path in chunk_paths:
        params = {
            "tokenizer_sha": tok_sha,
            "min_tokens": settings.min_tokens,
            "max_tokens": settings.max_tokens,
            "seq_len": settings.seq_len,
            "long_songs": settings.long_songs,
            "max_song_tokens": settings.max_song_tokens,
            "seed": settings.seed,
            "balance": settings.balance,
            "genres": genres,
            "chunk": path.name,
            "format": FORMAT_VERSION,
            **({"artists": info.artist_token_ids} if info.artist_token_ids else {}),
        }
        st = path.stat()
        tasks.append(
            ChunkTask(
                chunk=path,
                part=parts_dir / (path.stem + ".arrow"),
                index=_chunk_index(path),
                key=params_digest({**params, "input": [st.st_size, st.st_mtime_ns]}),
                force=settings.force,
                tokenizer_json=staged_tok / "tokenizer.json",
                genres=tuple(genres),
                genre_ids=info.genre_token_ids,
                eos=info.eos_token_id,
                pad=info.pad_token_id,
                control_tokens=(
                    *(GENRE_TOKENS[g] for g in genres),
                    info.eos_token,
                    *(artist_token(a) for a in info.artist_token_ids),
                ),
                dtype=info.dtype,
                schema=schema,
                min_tokens=settings.min_tokens,
                max_tokens=settings.max_tokens,
                seq_len=settings.seq_len,
                seed=settings.seed,
                long_songs=settings.long_songs,
                max_song_tokens=settings.max_song_tokens,
                artist_ids=info.artist_token_ids,
                balance=settings.balance,
                val_artists=frozenset(val_artists),
            )
        )
    return tasks


def _chunk_index(path: Path) -> int:
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return int(digits) if digits else 0


# ------------------------------------------------------------------------------------ tokenizer
def stage_tokenizer(
    settings: Settings,
    genres: list[str],
    chunk_paths: list[Path],
    chunks_fp: str,
    val_artists: set[str],
    parts_dir: Path,
    artists: list[str] | tuple[str, ...] = (),
) -> tuple[Path, TokenizerInfo]:
    """Build the tokenizer with genre tokens (then ``artists``' tokens) in ``parts_dir/tokenizer``
    (reused when current).

    Returns the folder and the ids the stage needs. The folder is copied to ``DIR/tokenizer``
    only when the whole stage succeeds, so a failed run never leaves a tokenizer that does not
    match ``DIR/tokenized``.
    """
    staged = parts_dir / "tokenizer"
    key = tokenizer_key(settings, genres, chunks_fp, val_artists, artists)
    stamp_path = parts_dir / "tokenizer.stamp.json"
    stamp = read_json(stamp_path)
    if (
        not settings.force
        and stamp is not None
        and stamp.get("key") == key
        and stamp.get("sha") == file_sha(staged / "tokenizer.json")
    ):
        return staged, TokenizerInfo(**stamp["info"])

    source_class = None
    if settings.bpe_size is None:
        tok = tokenizers.load_source_tokenizer(settings.tokenizer)
        config = read_json(Path(settings.tokenizer) / "tokenizer_config.json") or {}
        source_class = config.get("tokenizer_class")
    else:
        say(settings.quiet, f"tokenize: training a byte-level BPE of {settings.bpe_size} tokens")
        texts = training_texts(chunk_paths, val_artists, BPE_MAX_CHARS)
        tok = tokenizers.train_bpe(texts, settings.bpe_size)
    genre_ids = tokenizers.add_genre_tokens(tok, genres)
    artist_ids = tokenizers.add_artist_tokens(tok, artists) if artists else {}
    info = TokenizerInfo(
        vocab_size=len(tok),
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        eos_token=tok.eos_token,
        genre_token_ids=genre_ids,
        dtype="uint16" if len(tok) <= 65535 else "int32",
        artist_token_ids=artist_ids,
    )
    with atomic_path(staged, is_dir=True) as tmp:
        tok.save_pretrained(str(tmp))
        if source_class:
            # Loaded through the generic fast class (no torch import); keep the source's class
            # name so that AutoTokenizer gives back e.g. a GPT2Tokenizer.
            config = read_json(tmp / "tokenizer_config.json")
            config["tokenizer_class"] = source_class
            write_json(tmp / "tokenizer_config.json", config)
    write_json(
        stamp_path, {"key": key, "sha": file_sha(staged / "tokenizer.json"), "info": asdict(info)}
    )
    return staged, info
