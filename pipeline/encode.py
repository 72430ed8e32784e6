"""Stage 2 (``tokenize``): clean chunks -> genre-token-prefixed, length-filtered, balanced,
padded token ids that training reads as they are.

    python -m pipeline.preprocess --stages tokenize                     # GPT-2 BPE from the hub
    python -m pipeline.preprocess --stages tokenize --tokenizer artifacts/gpt2-tokenizer
    python -m pipeline.preprocess --stages tokenize --tokenizer bpe:8000   # trained from scratch

Reads ``DIR/chunks/chunk-NN.parquet`` (columns id, title, artist, tag, lyrics) and writes

- ``DIR/tokenizer/``: the tokenizer plus one added special token per genre present in the chunks
  (``[Genre: Rap]``, ...); pad = eos when the tokenizer has no pad token.
- ``DIR/tokenized/``: a ``datasets.DatasetDict`` (train, validation) in the format that
  ``lyrics_gpt2/data.py`` documents, and ``manifest.json`` with the counts through every filter
  per genre and per chunk, token-length statistics, parameters and timings.
- ``DIR/tokenized.parts/``: per-chunk results, kept so that a killed or changed run redoes only
  the chunks whose input or parameters changed. Safe to delete.

Each song becomes ``[Genre: X]`` + lyrics + end-of-text. Its token count ``n`` is that whole
sequence (genre token and eos included); songs with ``min_tokens < n < max_tokens`` are kept,
then cut or padded to ``seq_len``. ``length = min(n, seq_len)`` marks the real tokens: a song
of at most ``seq_len`` tokens keeps its eos at ``length - 1``, so the model learns to stop; pad
positions are masked by ``length`` even when pad and eos share an id. Songs whose lyrics contain a
control token (a genre token or the eos string) verbatim are dropped: the tokenizer would read it
as the control token itself.

Per chunk, after the length filter, every genre is downsampled (seeded) to the smallest genre's
count. The validation split takes whole artists (see ``pipeline/split.py``), decided on the chunk
rows before tokenizing so that ``bpe:N`` learns its merges from training songs only. Should every
validation song of a genre be filtered out, the artist with the fewest kept songs of that genre
moves to validation afterwards (listed in the manifest under split.moved_after_filtering).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lyrics_gpt2.cli import UsageError
from lyrics_gpt2.fileio import atomic_path, params_digest, read_json, write_json
from lyrics_gpt2.genres import GENRE_TOKENS, TAGS
from pipeline import bpe, split

# Bump when the part or dataset layout changes, so old parts and outputs are not reused.
FORMAT_VERSION = 1
BATCH_SIZE = 1000
DEFAULT_WORKERS = 2
COLUMNS = ("id", "artist", "tag", "lyrics")
PART_META = b"lyrics_gpt2"
# bpe:N learns its merges from at most this many characters of training lyrics (~130k songs).
BPE_MAX_CHARS = 200_000_000
COUNT_KEYS = ("read", "empty", "control_token", "too_short", "too_long", "kept_length", "kept")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage tokenize")
    group.add_argument(
        "--tokenizer",
        default="gpt2",
        help="hub id, local tokenizer folder, or bpe:N for a byte-level BPE of N "
        "tokens trained on the training split (default: %(default)s)",
    )
    group.add_argument(
        "--min-tokens",
        type=int,
        default=20,
        help="keep songs of MORE than this many tokens, genre token and eos included "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--max-tokens",
        type=int,
        default=400,
        help="keep songs of FEWER than this many tokens (default: %(default)s)",
    )
    group.add_argument(
        "--seq-len",
        type=int,
        default=300,
        help="pad or cut every song to this many tokens (default: %(default)s)",
    )
    group.add_argument(
        "--val-fraction",
        type=float,
        default=0.005,
        help="share of songs for validation, whole artists, at least one song per genre "
        "(default: %(default)s)",
    )


def _workers(args: argparse.Namespace) -> int:
    return DEFAULT_WORKERS if args.workers is None else args.workers


# --------------------------------------------------------------------------------------------
# The stage


def run(args: argparse.Namespace) -> dict:
    """Run the stage (or skip it when up to date); return the manifest."""
    t_start = time.perf_counter()
    quiet = bool(getattr(args, "quiet", False))
    out_dir = Path(args.output_dir)
    _check_args(args)
    chunk_paths, chunks_fp = find_chunks(out_dir)
    bpe_size = bpe.parse_spec(args.tokenizer)

    params = {
        "tokenizer": args.tokenizer,
        "min_tokens": args.min_tokens,
        "max_tokens": args.max_tokens,
        "seq_len": args.seq_len,
        "val_fraction": args.val_fraction,
        "seed": args.seed,
    }
    stage_key = params_digest(
        {
            "params": params,
            "chunks": chunks_fp,
            "tokenizer_source": _tokenizer_source_fingerprint(args.tokenizer),
            "format": FORMAT_VERSION,
        }
    )
    tokenized_dir = out_dir / "tokenized"
    tokenizer_dir = out_dir / "tokenizer"
    old = read_json(tokenized_dir / "manifest.json")
    if (
        not args.force
        and old is not None
        and old.get("stage_key") == stage_key
        and (tokenized_dir / "dataset_dict.json").is_file()
        and _file_sha(tokenizer_dir / "tokenizer.json") == old.get("tokenizer_sha")
    ):
        _say(quiet, f"tokenize: {tokenized_dir} is up to date (use --force to redo it)")
        return old

    # Start the worker processes now: they import while this one scans and builds the tokenizer.
    pool = _start_pool(_workers(args), len(chunk_paths))
    try:
        timings: dict[str, float] = {}
        t = time.perf_counter()
        genres, artist_genre_counts = scan_chunks(chunk_paths)
        val_artists = split.choose_validation_artists(
            artist_genre_counts, args.val_fraction, args.seed, genres
        )
        timings["scan_and_split_s"] = time.perf_counter() - t

        parts_dir = out_dir / "tokenized.parts"
        t = time.perf_counter()
        staged_tok, tok_info = stage_tokenizer(
            args, bpe_size, genres, chunk_paths, chunks_fp, val_artists, parts_dir, quiet
        )
        timings["tokenizer_s"] = time.perf_counter() - t

        t = time.perf_counter()
        results = encode_chunks(
            args, chunk_paths, parts_dir, staged_tok, tok_info, genres, quiet, pool
        )
        timings["encode_s"] = time.perf_counter() - t
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    counts = _merge_counts(results, genres)
    for genre in genres:
        c = counts["per_genre"][genre]
        if c["kept_length"] == 0:
            raise UsageError(
                f"genre {genre!r} has no songs left after filtering (read {c['read']}, "
                f"{c['too_short']} too short, {c['too_long']} too long, {c['empty']} empty); "
                "relax --min-tokens/--max-tokens or drop that genre in stage chunks"
            )
    if any(counts["per_genre"][g]["kept"] == 0 for g in genres):
        raise UsageError(
            "no songs left after balancing: no chunk holds every genre "
            f"({', '.join(genres)}) after the length filter; rerun stage chunks so that "
            "genres are mixed across chunks, or drop the rare genre there"
        )

    t = time.perf_counter()
    manifest = {
        "stage": "tokenize",
        "stage_key": stage_key,
        "tokenizer": args.tokenizer,
        "vocab_size": tok_info["vocab_size"],
        "seq_len": args.seq_len,
        "eos_token_id": tok_info["eos_token_id"],
        "pad_token_id": tok_info["pad_token_id"],
        "genre_token_ids": tok_info["genre_token_ids"],
        "genre_tokens": {g: GENRE_TOKENS[g] for g in genres},
        "dtype": tok_info["dtype"],
        "length_rule": "min_tokens < n < max_tokens, n = genre token + lyrics + eos",
        "parameters": {
            **params,
            "workers": _workers(args),
            "batch_size": BATCH_SIZE,
            **({"bpe_max_chars": BPE_MAX_CHARS} if bpe_size is not None else {}),
        },
        "inputs": {"chunks": len(chunk_paths), "chunks_fingerprint": chunks_fp},
        "tokenizer_sha": _file_sha(staged_tok / "tokenizer.json"),
        "counts": counts,
        "token_lengths": _length_stats(results, args.seq_len),
        "throughput": {
            # Lyrics tokens tokenized in this run (chunks reused from a previous run excluded).
            "tokens_tokenized": sum(r["tokens"] for r in results if not r["reused"]),
            "chunks_reused": sum(bool(r["reused"]) for r in results),
            "tokens_per_s_encode": round(
                sum(r["tokens"] for r in results if not r["reused"])
                / max(timings["encode_s"], 1e-9)
            ),
        },
    }
    publish(
        parts_dir,
        [r["part"] for r in results],
        val_artists,
        staged_tok,
        out_dir,
        manifest,
        args.seed,
        timings,
        t,
        t_start,
        quiet,
    )
    _summary(quiet, manifest)
    return manifest


def _check_args(args: argparse.Namespace) -> None:
    problems = []
    if args.min_tokens < 0:
        problems.append(f"--min-tokens must be >= 0 (got {args.min_tokens})")
    if args.min_tokens >= args.max_tokens:
        problems.append(
            f"--min-tokens ({args.min_tokens}) must be smaller than --max-tokens "
            f"({args.max_tokens}): songs of more than min and fewer than max tokens are kept"
        )
    if args.seq_len < 2:
        problems.append(f"--seq-len must be at least 2 (got {args.seq_len})")
    if not 0.0 < args.val_fraction < 1.0:
        problems.append(f"--val-fraction must be between 0 and 1 (got {args.val_fraction})")
    if _workers(args) < 0:
        problems.append(f"--workers must be >= 0 (got {args.workers})")
    size = bpe.parse_spec(args.tokenizer)
    if args.tokenizer.strip().startswith("bpe:") and size is None:
        problems.append(
            f"--tokenizer {args.tokenizer!r}: write bpe:N with N a number, e.g. bpe:8000"
        )
    if size is not None and size < bpe.MIN_VOCAB:
        problems.append(f"--tokenizer bpe:{size}: N must be at least {bpe.MIN_VOCAB}")
    if problems:
        raise UsageError("; ".join(problems))


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Inputs


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


def _read_chunk(path: Path, columns: tuple[str, ...]) -> pa.Table:
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise UsageError(f"cannot read chunk {path} ({exc}); rerun stage chunks") from None
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise UsageError(
            f"chunk {path} lacks column(s) {', '.join(missing)}; rerun stage chunks with --force"
        )
    return pq.read_table(path, columns=list(columns))


def scan_chunks(paths: list[Path]) -> tuple[list[str], Counter[tuple[str, str]]]:
    """Genres present (in TAGS order) and songs per (artist, genre): what the split needs."""
    counts: Counter[tuple[str, str]] = Counter()
    for path in paths:
        table = _read_chunk(path, ("artist", "tag"))
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


def _tokenizer_source_fingerprint(spec: str) -> str:
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


def _file_sha(path: Path) -> str | None:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# Tokenizer


def _load_pretrained(spec: str):
    """Load a fast tokenizer; a local folder with tokenizer.json skips torch's import (seconds)."""
    try:
        if (Path(spec) / "tokenizer.json").is_file():
            from transformers import PreTrainedTokenizerFast

            tok = PreTrainedTokenizerFast.from_pretrained(spec)
        else:
            from transformers import AutoTokenizer

            # Without a network the hub client logs every retry; the one-line error says enough.
            hub_log = logging.getLogger("huggingface_hub")
            level = hub_log.level
            hub_log.setLevel(logging.ERROR)
            try:
                tok = AutoTokenizer.from_pretrained(spec)
            finally:
                hub_log.setLevel(level)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = (
            "a hub id such as 'gpt2' needs the Hugging Face hub; "
            if not Path(spec).exists()
            else ""
        )
        raise UsageError(
            f"cannot load tokenizer {spec!r} ({first[:200]}); {hint}point --tokenizer at a local "
            "folder, e.g. one made by 'python -m lyrics_gpt2.gpt2_vocab --out "
            "artifacts/gpt2-tokenizer', or use --tokenizer bpe:8000"
        ) from None
    if not getattr(tok, "is_fast", False):
        raise UsageError(
            f"tokenizer {spec!r} has no fast (Rust) version; this stage needs one for speed"
        )
    return tok


def stage_tokenizer(
    args: argparse.Namespace,
    bpe_size: int | None,
    genres: list[str],
    chunk_paths: list[Path],
    chunks_fp: str,
    val_artists: set[str],
    parts_dir: Path,
    quiet: bool,
) -> tuple[Path, dict[str, Any]]:
    """Build the tokenizer with genre tokens in ``parts_dir/tokenizer`` (reused when current).

    Returns the folder and the ids the stage needs. The folder is copied to ``DIR/tokenizer``
    only when the whole stage succeeds, so a failed run never leaves a tokenizer that does not
    match ``DIR/tokenized``.
    """
    staged = parts_dir / "tokenizer"
    key = params_digest(
        {
            "spec": args.tokenizer,
            "source": _tokenizer_source_fingerprint(args.tokenizer),
            "genres": genres,
            "format": FORMAT_VERSION,
            # A trained BPE depends on which songs are training songs.
            **(
                {
                    "chunks": chunks_fp,
                    "val": sorted(val_artists),
                    "seed": args.seed,
                    "max_chars": BPE_MAX_CHARS,
                }
                if bpe_size is not None
                else {}
            ),
        }
    )
    stamp_path = parts_dir / "tokenizer.stamp.json"
    stamp = read_json(stamp_path)
    if (
        not args.force
        and stamp is not None
        and stamp.get("key") == key
        and stamp.get("sha") == _file_sha(staged / "tokenizer.json")
    ):
        return staged, stamp["info"]

    source_class = None
    if bpe_size is None:
        tok = _load_pretrained(args.tokenizer)
        config = read_json(Path(args.tokenizer) / "tokenizer_config.json") or {}
        source_class = config.get("tokenizer_class")
    else:
        _say(quiet, f"tokenize: training a byte-level BPE of {bpe_size} tokens")
        texts = _training_texts(chunk_paths, val_artists, BPE_MAX_CHARS)
        tok = bpe.train(texts, bpe_size)
    info = _add_genre_tokens(tok, genres)
    with atomic_path(staged, is_dir=True) as tmp:
        tok.save_pretrained(str(tmp))
        if source_class:
            # Loaded through the generic fast class (no torch import); keep the source's class
            # name so that AutoTokenizer gives back e.g. a GPT2Tokenizer.
            config = read_json(tmp / "tokenizer_config.json")
            config["tokenizer_class"] = source_class
            write_json(tmp / "tokenizer_config.json", config)
    write_json(stamp_path, {"key": key, "sha": _file_sha(staged / "tokenizer.json"), "info": info})
    return staged, info


def _training_texts(
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
        table = _read_chunk(path, ("artist", "lyrics"))
        is_val = pc.fill_null(pc.is_in(pc.fill_null(table["artist"], ""), value_set=values), False)
        lyrics = table.filter(pc.invert(is_val))["lyrics"].drop_null()
        for batch in lyrics.chunks:
            for text in batch.to_pylist():
                if max_chars is not None and seen >= max_chars:
                    return
                seen += len(text)
                yield text


def _add_genre_tokens(tok, genres: list[str]) -> dict[str, Any]:
    """Add the genre tokens as special tokens and set pad; return the ids the stage needs."""
    if tok.eos_token is None:
        raise UsageError(
            "the tokenizer has no end-of-text token; pick one that has (GPT-2's <|endoftext|>)"
        )
    tok.add_special_tokens(
        {"additional_special_tokens": [GENRE_TOKENS[g] for g in genres]},
        replace_extra_special_tokens=False,
    )
    if tok.pad_token is None:
        # The mask comes from `length`, so sharing eos's id is safe (see lyrics_gpt2/data.py).
        tok.pad_token = tok.eos_token
    genre_ids = {}
    for g in genres:
        ids = tok.encode(GENRE_TOKENS[g], add_special_tokens=False)
        if len(ids) != 1:
            raise UsageError(f"genre token {GENRE_TOKENS[g]!r} is not a single token: {ids}")
        genre_ids[g] = ids[0]
    vocab_size = len(tok)
    return {
        "vocab_size": vocab_size,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
        "eos_token": tok.eos_token,
        "genre_token_ids": genre_ids,
        "dtype": "uint16" if vocab_size <= 65535 else "int32",
    }


# --------------------------------------------------------------------------------------------
# Per-chunk encoding (runs in worker processes)


def encode_chunks(
    args: argparse.Namespace,
    chunk_paths: list[Path],
    parts_dir: Path,
    staged_tok: Path,
    tok_info: dict[str, Any],
    genres: list[str],
    quiet: bool,
    pool: ProcessPoolExecutor | None,
) -> list[dict[str, Any]]:
    """Encode every chunk into ``parts_dir/chunk-NN.arrow``; reuse parts that are current."""
    tok_sha = _file_sha(staged_tok / "tokenizer.json")
    tasks = []
    for path in chunk_paths:
        params = {
            "tokenizer_sha": tok_sha,
            "min_tokens": args.min_tokens,
            "max_tokens": args.max_tokens,
            "seq_len": args.seq_len,
            "seed": args.seed,
            "genres": genres,
            "chunk": path.name,
            "format": FORMAT_VERSION,
        }
        st = path.stat()
        key = params_digest({**params, "input": [st.st_size, st.st_mtime_ns]})
        tasks.append(
            {
                "chunk": str(path),
                "part": str(parts_dir / (path.stem + ".arrow")),
                "index": _chunk_index(path),
                "key": key,
                "force": bool(args.force),
                "tokenizer_json": str(staged_tok / "tokenizer.json"),
                "genre_ids": tok_info["genre_token_ids"],
                "eos": tok_info["eos_token_id"],
                "pad": tok_info["pad_token_id"],
                "control_tokens": [*(GENRE_TOKENS[g] for g in genres), tok_info["eos_token"]],
                "dtype": tok_info["dtype"],
                "min_tokens": args.min_tokens,
                "max_tokens": args.max_tokens,
                "seq_len": args.seq_len,
                "seed": args.seed,
                "genres": genres,
            }
        )

    from tqdm import tqdm

    results: list[dict[str, Any]] = []
    bar = tqdm(total=len(tasks), unit="chunk", desc="tokenize", file=sys.stderr, disable=quiet)
    t0 = time.perf_counter()
    tokens = 0

    def done(result: dict[str, Any]) -> None:
        nonlocal tokens
        results.append(result)
        if not result["reused"]:
            tokens += result["tokens"]
        rate = tokens / max(time.perf_counter() - t0, 1e-9)
        bar.set_postfix_str(f"{rate / 1e6:.2f}M tokens/s")
        bar.update(1)

    try:
        if pool is None:
            for task in tasks:
                done(encode_chunk(task))
        else:
            finished: set[str] = set()
            try:
                futures = [pool.submit(encode_chunk, task) for task in tasks]
                for fut in as_completed(futures):
                    result = fut.result()
                    finished.add(result["part"])
                    done(result)
            except BrokenProcessPool:
                # A worker died (killed for memory, or spawn cannot re-import a __main__ read
                # from stdin): finish here, one chunk at a time, instead of failing the stage.
                _say(quiet, "tokenize: worker processes failed; continuing in this process")
                for task in tasks:
                    if task["part"] not in finished:
                        done(encode_chunk(task))
    finally:
        bar.close()
    results.sort(key=lambda r: r["chunk"])
    # Parts of chunks that stage 1 no longer writes would only waste disk.
    current = {Path(t["part"]).name for t in tasks}
    for stale in parts_dir.glob("chunk-*.arrow"):
        if stale.name not in current:
            stale.unlink()
    return results


def _start_pool(workers: int, n_chunks: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` processes already importing their modules; None for one worker."""
    workers = min(workers, n_chunks)
    if workers <= 1:
        return None
    # spawn, not fork: a forked Rust tokenizer thread pool can deadlock.
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)
    for _ in range(workers):
        pool.submit(_warm_up)
    return pool


def _worker_init() -> None:
    # One process per core already; the tokenizer's own thread pool would only oversubscribe.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _warm_up() -> None:
    import tokenizers  # noqa: F401


def _chunk_index(path: Path) -> int:
    digits = "".join(ch for ch in path.stem if ch.isdigit())
    return int(digits) if digits else 0


@functools.lru_cache(maxsize=2)
def _load_backend(path: str, sha: str | None):
    """The Rust tokenizer, parsed once per worker (GPT-2's JSON takes ~0.3 s), keyed by content."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def _read_part_meta(path: Path) -> dict[str, Any] | None:
    try:
        with pa.ipc.open_stream(path) as reader:
            meta = reader.schema.metadata or {}
        return json.loads(meta[PART_META])
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None


def encode_chunk(task: dict[str, Any]) -> dict[str, Any]:
    """Tokenize, filter, balance and pad one chunk; write its part atomically. Returns its stats."""
    part = Path(task["part"])
    if not task["force"]:
        meta = _read_part_meta(part)
        if meta is not None and meta.get("key") == task["key"]:
            return {**meta["stats"], "part": str(part), "reused": True}

    t0 = time.perf_counter()
    tokenizer = _load_backend(task["tokenizer_json"], _file_sha(Path(task["tokenizer_json"])))
    table = _read_chunk(Path(task["chunk"]), COLUMNS)
    genres: list[str] = task["genres"]
    seq_len, lo, hi = task["seq_len"], task["min_tokens"], task["max_tokens"]

    tags = np.asarray(table["tag"].to_pylist(), dtype=object)
    lyrics_col = table["lyrics"]
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(lyrics_col), ""), True)
    has_control = np.zeros(len(table), dtype=bool)
    for token in task["control_tokens"]:
        has_control |= pc.fill_null(pc.match_substring(lyrics_col, token), False).to_numpy(
            zero_copy_only=False
        )
    empty_np = empty.to_numpy(zero_copy_only=False)
    has_control &= ~empty_np
    candidates = np.flatnonzero(~empty_np & ~has_control)

    # n = genre token + lyrics + eos. Only candidates are tokenized, a batch at a time; a song
    # that passes the length filter goes straight into a padded row, so no per-token Python
    # objects outlive their batch (memory stays ~ rows x seq_len x 2 bytes per chunk).
    dtype = np.dtype(task["dtype"])
    pad, eos, genre_ids = task["pad"], task["eos"], task["genre_ids"]
    n_tokens = np.zeros(len(table), dtype=np.int64)
    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)
    texts = lyrics_col.take(pa.array(candidates, type=pa.int64()))
    blocks: list[np.ndarray] = []
    block_rows: list[np.ndarray] = []
    for start in range(0, len(candidates), BATCH_SIZE):
        batch = texts.slice(start, BATCH_SIZE).to_pylist()
        encodings = encode(batch, add_special_tokens=False)
        rows = candidates[start : start + len(batch)]
        n = np.fromiter((len(e) for e in encodings), dtype=np.int64, count=len(batch)) + 2
        n_tokens[rows] = n
        passing = np.flatnonzero((n > lo) & (n < hi))
        block = np.full((len(passing), seq_len), pad, dtype=dtype)
        for j, k in enumerate(passing):
            ids = encodings[k].ids
            body = min(len(ids), seq_len - 1)
            block[j, 0] = genre_ids[tags[rows[k]]]
            block[j, 1 : 1 + body] = ids[:body]
            if body + 1 < seq_len:
                block[j, body + 1] = eos
        blocks.append(block)
        block_rows.append(rows[passing])
    del texts
    passed = np.concatenate(block_rows) if blocks else np.zeros(0, dtype=np.int64)
    matrix_all = np.concatenate(blocks) if blocks else np.zeros((0, seq_len), dtype=dtype)
    del blocks
    tokens = int(np.maximum(n_tokens - 2, 0).sum())

    # Balance: every genre down to the smallest genre's count in this chunk, seeded per chunk.
    # Positions index `passed` (ascending row numbers), so the chunk's order is kept.
    rng = np.random.default_rng([task["seed"], task["index"]])
    passed_tags = tags[passed]
    per_genre = {g: np.flatnonzero(passed_tags == g) for g in genres}
    target = min(len(pos) for pos in per_genre.values())
    chosen = []
    for g in genres:
        pos = per_genre[g]
        if len(pos) > target:
            pos = rng.choice(pos, size=target, replace=False)
        chosen.append(pos)
    selected = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    keep = passed[selected]
    matrix = matrix_all[selected]
    del matrix_all
    lengths = np.minimum(n_tokens[keep], seq_len).astype(np.int32)

    counts = {}
    for g in genres:
        is_g = tags == g
        counts[g] = {
            "read": int(is_g.sum()),
            "empty": int((is_g & empty_np).sum()),
            "control_token": int((is_g & has_control).sum()),
            "too_short": int((is_g & (n_tokens > 0) & (n_tokens <= lo)).sum()),
            "too_long": int((is_g & (n_tokens >= hi)).sum()),
            "kept_length": len(per_genre[g]),
            "kept": int(target),
        }
    kept_n = n_tokens[keep]
    tokenized = n_tokens[n_tokens > 0]
    stats = {
        "chunk": Path(task["chunk"]).name,
        "tokens": int(tokens),
        "songs": len(table),
        "counts": counts,
        # Histogram of n over the kept songs (n < max_tokens): exact merged median and p95.
        "kept_length_hist": np.bincount(kept_n, minlength=hi).tolist() if len(keep) else [],
        "all_n_sum": int(tokenized.sum()),
        "all_n_count": len(tokenized),
        "seconds": time.perf_counter() - t0,
    }

    offsets = pa.array(np.arange(0, (len(keep) + 1) * seq_len, seq_len, dtype=np.int32))
    input_ids = pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1)))
    idx = pa.array(keep, type=pa.int64())
    out = pa.table(
        {
            "input_ids": input_ids,
            "length": pa.array(lengths),
            "genre": table["tag"].take(idx),
            "id": pc.cast(table["id"], pa.string()).take(idx),
            "artist": pc.fill_null(table["artist"], "").take(idx),
        }
    )
    out = out.replace_schema_metadata({PART_META: json.dumps({"key": task["key"], "stats": stats})})
    with (
        atomic_path(part) as tmp,
        pa.OSFile(str(tmp), "wb") as sink,
        pa.ipc.new_stream(sink, out.schema) as writer,
    ):
        writer.write_table(out)
    return {**stats, "part": str(part), "reused": False}


# --------------------------------------------------------------------------------------------
# Statistics


def _merge_counts(results: list[dict[str, Any]], genres: list[str]) -> dict[str, Any]:
    per_genre = {g: dict.fromkeys(COUNT_KEYS, 0) for g in genres}
    per_chunk = {}
    for r in results:
        per_chunk[r["chunk"]] = r["counts"]
        for g in genres:
            for k in COUNT_KEYS:
                per_genre[g][k] += r["counts"][g][k]
    return {
        "filters": {
            "read": "rows of the genre in the chunk",
            "empty": "no lyrics",
            "control_token": "lyrics contain a genre token or the eos string verbatim",
            "too_short": "n <= min_tokens",
            "too_long": "n >= max_tokens",
            "kept_length": "left after the length filter (balance before)",
            "kept": "left after balancing (per chunk, every genre to the smallest)",
        },
        "per_genre": per_genre,
        "per_chunk": per_chunk,
    }


def _length_stats(results: list[dict[str, Any]], seq_len: int) -> dict[str, Any]:
    width = max((len(r["kept_length_hist"]) for r in results), default=0)
    hist = np.zeros(width, dtype=np.int64)
    for r in results:
        h = r["kept_length_hist"]
        hist[: len(h)] += h
    total = int(hist.sum())
    all_count = sum(r["all_n_count"] for r in results)
    all_mean = sum(r["all_n_sum"] for r in results) / all_count if all_count else 0.0
    if total == 0:
        return {"songs": 0, "all_songs_mean": all_mean}
    values = np.arange(width)
    cdf = np.cumsum(hist)
    real = np.minimum(values, seq_len)
    return {
        "counted": "n = genre token + lyrics + eos, before cutting to seq_len",
        "songs": total,
        "mean": float((values * hist).sum() / total),
        "median": int(np.searchsorted(cdf, 0.5 * total)),
        "p95": int(np.searchsorted(cdf, 0.95 * total)),
        "max": int(np.flatnonzero(hist).max()),
        "share_cut_at_seq_len": float(hist[seq_len + 1 :].sum() / total),
        "share_padding_at_seq_len": float(1.0 - (real * hist).sum() / (total * seq_len)),
        "all_songs_mean": all_mean,
    }


# --------------------------------------------------------------------------------------------
# Output


def publish(
    parts_dir: Path,
    part_paths: list[str],
    val_artists: set[str],
    staged_tok: Path,
    out_dir: Path,
    manifest: dict[str, Any],
    seed: int,
    timings: dict[str, float],
    t_assemble: float,
    t_start: float,
    quiet: bool,
) -> None:
    """Split the parts into train/validation and write DIR/tokenized and DIR/tokenizer.

    The parts are memory-mapped, never loaded whole, so memory stays bounded by a chunk.
    """
    from datasets import Dataset, DatasetDict, concatenate_datasets

    parts = [Dataset.from_file(p, in_memory=False) for p in part_paths]
    parts = [p for p in parts if len(p)]
    kept_counts: Counter[tuple[str, str]] = Counter()
    for p in parts:
        kept_counts.update(
            zip(p.data["artist"].to_pylist(), p.data["genre"].to_pylist(), strict=True)
        )
    moved = split.ensure_validation_per_genre(kept_counts, val_artists, seed)
    values = pa.array(sorted(val_artists), type=pa.string())
    train, val = [], []
    split_counts: dict[str, Counter[str]] = {"train": Counter(), "validation": Counter()}
    val_artists_kept: set[str] = set()
    for p in parts:
        is_val = pc.is_in(p.data["artist"], value_set=values).to_numpy(zero_copy_only=False)
        genre = np.asarray(p.data["genre"].to_pylist(), dtype=object)
        split_counts["train"].update(genre[~is_val].tolist())
        split_counts["validation"].update(genre[is_val].tolist())
        val_artists_kept.update(pc.filter(p.data["artist"], pa.array(is_val)).to_pylist())
        train.append(p.select(np.flatnonzero(~is_val), keep_in_memory=True))
        val.append(p.select(np.flatnonzero(is_val), keep_in_memory=True))
    dd = DatasetDict(train=concatenate_datasets(train), validation=concatenate_datasets(val))

    for name, by_genre in split_counts.items():
        for g in manifest["genre_token_ids"]:
            manifest["counts"]["per_genre"][g][name] = by_genre.get(g, 0)
    manifest["splits"] = {name: len(ds) for name, ds in dd.items()}
    manifest["split"] = {
        "rule": "whole artists, hash of seed and artist name, per genre (pipeline/split.py)",
        "val_fraction": manifest["parameters"]["val_fraction"],
        "validation_artists": len(val_artists_kept),
        "moved_after_filtering": moved,
    }

    tokenized_dir = out_dir / "tokenized"
    with atomic_path(tokenized_dir, is_dir=True) as tmp:
        with _datasets_progress(not quiet):
            dd.save_to_disk(str(tmp))
        timings["assemble_s"] = time.perf_counter() - t_assemble
        timings["total_s"] = time.perf_counter() - t_start
        manifest["timings"] = {k: round(v, 3) for k, v in timings.items()}
        tokens = manifest["throughput"]["tokens_tokenized"]
        manifest["throughput"]["tokens_per_s_stage"] = round(tokens / timings["total_s"])
        write_json(tmp / "manifest.json", manifest)
        # Invalidate the old dataset first, then swap the tokenizer, then (on leaving this block)
        # the dataset: a kill anywhere in between leaves "no tokenized data", never a mismatch.
        (tokenized_dir / "manifest.json").unlink(missing_ok=True)
        with atomic_path(out_dir / "tokenizer", is_dir=True) as tok_tmp:
            shutil.copytree(staged_tok, tok_tmp, dirs_exist_ok=True)


@contextlib.contextmanager
def _datasets_progress(enabled: bool) -> Iterator[None]:
    from datasets.utils import logging as ds_logging

    was = ds_logging.is_progress_bar_enabled()
    if not enabled:
        ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not enabled:
            ds_logging.enable_progress_bar()


def _summary(quiet: bool, manifest: dict[str, Any]) -> None:
    if quiet:
        return
    lengths = manifest["token_lengths"]
    print(
        f"tokenize: {manifest['splits']['train']} train / {manifest['splits']['validation']} "
        f"validation songs, vocab {manifest['vocab_size']}, "
        f"median {lengths.get('median')} tokens, "
        f"{100 * lengths.get('share_padding_at_seq_len', 0):.1f}% padding at "
        f"{manifest['seq_len']}, {manifest['timings']['total_s']:.1f}s"
    )
    for g, c in manifest["counts"]["per_genre"].items():
        print(
            f"  {GENRE_TOKENS[g]:<18} read {c['read']:>8}  length ok {c['kept_length']:>8}  "
            f"balanced {c['kept']:>8}  train {c.get('train', 0):>8}  "
            f"validation {c.get('validation', 0):>6}"
        )
