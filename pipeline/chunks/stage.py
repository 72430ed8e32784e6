"""Stage 1: stream a raw lyrics CSV, clean it, and shard the kept songs into Parquet chunks.

    python -m pipeline.preprocess --stages chunks                          # data/ds.csv
    python -m pipeline.preprocess --stages chunks --input data/sample.csv.gz --genres pop rap rock
    python -m pipeline.preprocess --stages chunks --input songdata.csv --untagged-genre rock

Writes ``DIR/chunks/chunk-00.parquet`` ... ``chunk-39.parquet`` (columns id, title, artist, tag,
lyrics; all strings) and ``DIR/chunks/manifest.json`` (rows_in, rows_out, dropped by reason,
parameters, input fingerprint, per-chunk rows, scrape junk removed per rule: lines and songs
touched among all cleaned songs, timings).

How (one pass over the CSV, memory independent of its size):

1. The main process reads batches of rows (pipeline/read.py) and hands them to a pool of worker
   processes, at most a few batches ahead; results come back in input order, so the output does
   not depend on the number of workers or their timing.
2. A worker drops rows by reason, in this order: unknown_genre, genre_not_selected,
   empty_lyrics, placeholder, translation_page, empty_after_cleaning, wrong_language (pipeline/clean.py,
   pipeline/langid.py; the dataset's own language column is used when it has a value).
3. The main process appends kept rows, with a 64-bit hash of their cleaned text (case folded),
   to per-chunk staging files (chunk = blake2b(id) mod N; the keys and files: pipeline/chunks/files.py).
4. Finalising drops duplicate_id (first kept; all copies of an id share a chunk) and then
   repeated_text (a text found in >= --repeat-threshold distinct kept songs, e.g. a study guide
   pasted under 100 titles), from the ids and hashes alone (9 bytes per row in memory), and
   writes each chunk. Everything lands in a temporary folder renamed onto
   ``DIR/chunks`` at the very end, so a killed run leaves nothing that looks complete.

A rerun with the same input (size, mtime, head and tail hash) and the same parameters is skipped;
``--force`` reruns. Same input and parameters give byte-identical chunk files.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lyrics_gpt2.cli import die_with_parent
from lyrics_gpt2.errors import Problems, UsageError, describe_os_error
from lyrics_gpt2.fileio import (
    atomic_path,
    file_fingerprint,
    intact,
    params_digest,
    read_json,
    remove_stale_tmp,
    write_json,
)
from lyrics_gpt2.genres import TAGS
from pipeline import clean, langid
from pipeline.chunks.files import COLUMNS, Staging, chunk_of, finalize_all, text_hash
from pipeline.read import Reader, detect_layout

# Bump when a rule changes what is kept, so old chunks are rebuilt rather than skipped.
RULES_VERSION = 3  # 2: control characters (NUL) removed; 3: scrape-junk rules

REASONS = (
    "malformed",  # unparsable row (wrong field count) or no id
    "unknown_genre",  # a genre name that maps to no Genius tag
    "genre_not_selected",  # a tag not in --genres
    "empty_lyrics",  # missing or blank lyrics
    "placeholder",  # a known placeholder text (pipeline/clean.py PLACEHOLDER_*)
    "translation_page",  # Genius translation/romanization pages (clean.is_translation_page)
    "empty_after_cleaning",  # nothing left once annotations are removed
    "wrong_language",  # not --language (dataset column, else the detector)
    "duplicate_id",  # an id seen before (first kept)
    "repeated_text",  # the same text in >= --repeat-threshold songs
)
BATCH_ROWS = 2000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage chunks")
    group.add_argument("--num-chunks", type=int, default=40, help="number of output chunks")
    group.add_argument(
        "--genres",
        nargs="+",
        default=["pop", "rap"],
        help="Genius tags to keep (pop rap rock rb misc country)",
    )
    group.add_argument(
        "--untagged-genre",
        default="pop",
        choices=TAGS,
        help="tag given to rows of a CSV without a genre column (songdata.csv) "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--brackets",
        nargs="*",
        default=list(clean.BRACKET_KINDS),
        choices=clean.BRACKET_KINDS,
        help="bracketed annotations to remove: square [..], curly {..}, round (..); "
        "pass --brackets alone to keep them all (default: all three)",
    )
    group.add_argument(
        "--language",
        default="en",
        help="ISO code of the songs to keep, or 'any' (default: %(default)s)",
    )
    group.add_argument(
        "--lang-detector",
        default="fasttext",
        choices=langid.DETECTORS,
        help="language detector for rows without a language value (default: %(default)s)",
    )
    group.add_argument(
        "--repeat-threshold",
        type=int,
        default=10,
        help="drop a text found verbatim in at least this many songs; 0 keeps them "
        "(default: %(default)s)",
    )


@dataclass(frozen=True)
class Config:
    """The parameters that decide what is kept (recorded in the manifest and its digest)."""

    num_chunks: int
    genres: tuple[str, ...]
    untagged_genre: str
    brackets: tuple[str, ...]
    language: str
    lang_detector: str
    repeat_threshold: int
    rules_version: int = RULES_VERSION


def config_from_args(args: argparse.Namespace) -> Config:
    """Check the stage's flags; every problem reported at once as one UsageError."""
    problems = Problems()
    unknown = [g for g in args.genres if g not in TAGS]
    if unknown:
        problems.add(
            f"unknown genre {', '.join(map(repr, unknown))} in --genres (choose from "
            f"{' '.join(TAGS)})"
        )
    if not 1 <= args.num_chunks <= 10_000:
        problems.add(f"--num-chunks must be between 1 and 10000, not {args.num_chunks}")
    if args.repeat_threshold < 0 or args.repeat_threshold == 1:
        problems.add(f"--repeat-threshold must be 0 (off) or >= 2, not {args.repeat_threshold}")
    language = args.language.strip().lower()
    language = langid.normalize_code(language) or language  # "English" -> "en"
    if language != "any" and language not in langid.KNOWN_CODES:
        problems.add(
            f"--language {language!r} is not a language code the detector knows; use an ISO "
            "code such as en, es, fr, pt, de (see pipeline/langid.py KNOWN_CODES), or any"
        )
    if args.workers is not None and args.workers < 0:
        problems.add(f"--workers must be >= 0, not {args.workers}")
    problems.raise_if_any()
    return Config(
        num_chunks=args.num_chunks,
        genres=tuple(sorted(set(args.genres), key=TAGS.index)),
        untagged_genre=args.untagged_genre,
        brackets=tuple(k for k in clean.BRACKET_KINDS if k in args.brackets),
        language=language,
        lang_detector=args.lang_detector,
        repeat_threshold=args.repeat_threshold,
    )


# --- worker side -----------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(cfg: Config, parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        die_with_parent(parent_pid)  # kill -9 of preprocess: no orphan, no traceback
    _WORKER["cfg"] = cfg
    _WORKER["genres"] = frozenset(cfg.genres)
    _WORKER["detector"] = None


def _detector() -> langid.FastText | langid.LangDetect:
    if _WORKER["detector"] is None:
        _WORKER["detector"] = langid.make_detector(_WORKER["cfg"].lang_detector)
    return _WORKER["detector"]


def process_batch(batch: dict[str, list[str]]) -> tuple[dict[str, list], Counter, Counter]:
    """Clean one batch: the kept rows (with chunk index and text hash), drops by reason, and
    scrape-junk counts keyed ``(rule, "lines")`` / ``(rule, "songs")`` (every cleaned song)."""
    cfg: Config = _WORKER["cfg"]
    genres = _WORKER["genres"]
    drops: Counter = Counter()
    junk: Counter = Counter()
    kept: dict[str, list] = {c: [] for c in (*COLUMNS, "chunk", "hash")}
    target = cfg.language
    for i, song_id in enumerate(batch["id"]):
        tag = batch["tag"][i]
        if tag not in TAGS:
            drops["unknown_genre"] += 1
            continue
        if tag not in genres:
            drops["genre_not_selected"] += 1
            continue
        raw = batch["lyrics"][i]
        if not raw.strip():
            drops["empty_lyrics"] += 1
            continue
        if clean.is_placeholder(raw):
            drops["placeholder"] += 1
            continue
        if clean.is_translation_page(batch["artist"][i]):
            drops["translation_page"] += 1
            continue
        touched: list[str] = []
        text = clean.clean_lyrics(raw, cfg.brackets, touched)
        if touched:
            for rule in touched:
                junk[rule, "lines"] += 1
            for rule in set(touched):
                junk[rule, "songs"] += 1
        if not text:
            drops["empty_after_cleaning"] += 1
            continue
        if target != "any":
            given = langid.normalize_code(batch["language"][i])
            ok = given == target if given else langid.judge(_detector(), text, target)
            if not ok:
                drops["wrong_language"] += 1
                continue
        kept["id"].append(song_id.strip())
        kept["title"].append(" ".join(batch["title"][i].split()))
        kept["artist"].append(" ".join(batch["artist"][i].split()))
        kept["tag"].append(tag)
        kept["lyrics"].append(text)
        kept["chunk"].append(chunk_of(song_id.strip(), cfg.num_chunks))
        kept["hash"].append(text_hash(text))
    return kept, drops, junk


def _ordered_map(
    fn: Callable, items: Iterable, workers: int, cfg: Config
) -> Iterator[tuple[dict[str, list], Counter, Counter]]:
    """``map(fn, items)`` on ``workers`` processes, in input order, a few items ahead at most."""
    if workers == 0:
        _init_worker(cfg)
        yield from map(fn, items)
        return
    # fork: workers start at once and share the imported modules; the parent has opened no
    # pyarrow threads or files yet when the pool is created.
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers, _init_worker, (cfg, os.getpid())) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(fn, (item,)))
            if len(pending) > 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


# --- main side -------------------------------------------------------------------------------


def _up_to_date(manifest: Any, out: Path, fingerprint: str, digest: str) -> bool:
    if not isinstance(manifest, dict):
        return False
    if manifest.get("input_fingerprint") != fingerprint or manifest.get("params_digest") != digest:
        return False
    return intact(out, manifest.get("chunks"))  # a truncated or missing chunk: rebuild


def _default_workers(path: Path) -> int:
    if path.stat().st_size < 1 << 20:
        return 0  # process start-up costs more than cleaning a small file
    return min(2, os.cpu_count() or 1)


def run(args: argparse.Namespace) -> dict:
    """Run stage 1 (or skip it when up to date); returns the manifest."""
    cfg = config_from_args(args)
    path = Path(args.input)
    layout = detect_layout(path)  # missing, empty, binary, headerless input: UsageError here
    fingerprint = file_fingerprint(path)
    params = asdict(cfg)
    digest = params_digest({**params, "input_fingerprint": fingerprint})
    out = Path(args.output_dir) / "chunks"
    # Before the up-to-date check: a killed --force run's leftovers go even when nothing is redone.
    remove_stale_tmp(out)
    manifest = read_json(out / "manifest.json")
    if not args.force and _up_to_date(manifest, out, fingerprint, digest):
        if not args.quiet:
            print(f"chunks: {out} is up to date with {path} (use --force to rebuild)")
        return manifest
    workers = _default_workers(path) if args.workers is None else args.workers

    t0 = time.perf_counter()
    try:
        with atomic_path(out, is_dir=True) as tmp:
            staging = Staging(tmp / ".staging", cfg.num_chunks)
            manifest = _build(path, layout.name, cfg, staging, tmp, workers, args.quiet, t0)
            manifest.update(
                input=str(path),
                input_fingerprint=fingerprint,
                params=params,
                params_digest=digest,
            )
            shutil.rmtree(tmp / ".staging")
            write_json(tmp / "manifest.json", manifest)
    except OSError as exc:  # reading errors are UsageErrors already: this is the output side
        raise UsageError(describe_os_error(exc, out)) from None
    if not args.quiet:
        print_summary(manifest, out)
    return manifest


def _build(
    path: Path,
    layout: str,
    cfg: Config,
    staging: Staging,
    tmp: Path,
    workers: int,
    quiet: bool,
    t0: float,
) -> dict:
    from tqdm import tqdm

    reader = Reader(path, untagged_genre=cfg.untagged_genre, batch_rows=BATCH_ROWS)
    drops: Counter = Counter()
    junk: Counter = Counter()
    with tqdm(
        desc="chunks: clean", unit=" rows", unit_scale=True, disable=quiet, file=sys.stderr,
        mininterval=0.5, dynamic_ncols=True,
    ) as bar:  # fmt: skip
        for kept, batch_drops, batch_junk in _ordered_map(process_batch, reader, workers, cfg):
            staging.add(kept)
            drops.update(batch_drops)
            junk.update(batch_junk)
            bar.update(reader.rows_in - bar.n)
            bar.set_postfix_str(f"{reader.bytes_read / 1e6:,.0f} MB", refresh=False)
        bar.update(reader.rows_in - bar.n)
    staging.close()
    if reader.rows_in == 0:
        raise UsageError(f"input {path} has a header but no rows; pass a lyrics CSV with songs")
    drops["malformed"] = reader.malformed
    t_stream = time.perf_counter()

    files, drops_final, tags = finalize_all(staging, tmp, cfg.repeat_threshold, quiet)
    drops.update(drops_final)
    rows_out = sum(f["rows"] for f in files)
    t_end = time.perf_counter()
    total = t_end - t0
    return {
        "stage": "chunks",
        "layout": layout,
        "columns": list(COLUMNS),
        "rows_in": reader.rows_in,
        "rows_out": rows_out,
        "dropped": {reason: int(drops.get(reason, 0)) for reason in REASONS},
        "tags_out": {t: tags[t] for t in TAGS if tags[t]},
        "scrape_junk": {
            rule: {"lines": int(junk[rule, "lines"]), "songs": int(junk[rule, "songs"])}
            for rule in clean.SCRAPE_RULES
        },
        "chunks": files,
        "timings": {
            "read_clean_s": round(t_stream - t0, 3),
            "write_chunks_s": round(t_end - t_stream, 3),
            "total_s": round(total, 3),
            "rows_per_s": round(reader.rows_in / total, 1) if total else None,
            "mb_per_s": round(reader.bytes_read / 1e6 / total, 2) if total else None,
            "workers": workers,
        },
    }


def print_summary(manifest: dict, out: Path) -> None:
    """The kept/dropped table printed at the end of a run."""
    rows_in = manifest["rows_in"] or 1
    t = manifest["timings"]
    print(
        f"chunks: {manifest['rows_in']:,} rows read, {manifest['rows_out']:,} kept in "
        f"{len(manifest['chunks'])} chunks under {out} ({t['total_s']:.1f} s, "
        f"{t['rows_per_s'] or 0:,.0f} rows/s)"
    )
    print(f"  {'':30}{'rows':>12}{'share':>9}")
    for reason, count in manifest["dropped"].items():
        if count:
            print(f"  {'dropped ' + reason:<30}{count:>12,}{count / rows_in:>9.1%}")
    print(f"  {'kept':<30}{manifest['rows_out']:>12,}{manifest['rows_out'] / rows_in:>9.1%}")
    for tag, count in manifest["tags_out"].items():
        print(f"    {tag:<28}{count:>12,}")
    junk = {r: c for r, c in manifest.get("scrape_junk", {}).items() if c["lines"]}
    if junk:
        print(f"  {'scrape junk removed':30}{'lines':>12}{'songs':>9}")
        for rule, c in junk.items():
            print(f"    {rule:<28}{c['lines']:>12,}{c['songs']:>9,}")
