"""Stage 1: stream a raw lyrics CSV, clean it, and shard the kept songs into Parquet chunks.

    python -m pipeline.preprocess --stages chunks                          # data/ds.csv
    python -m pipeline.preprocess --stages chunks --input data/sample.csv.gz --genres pop rap rock
    python -m pipeline.preprocess --stages chunks --input songdata.csv --untagged-genre rock

Writes ``DIR/chunks/chunk-00.parquet`` ... ``chunk-39.parquet`` (columns id, title, artist, tag,
lyrics, sections; all strings), ``DIR/chunks/manifest.json`` (rows_in, rows_out, dropped by
reason, parameters, input fingerprint, per-chunk rows, scrape junk per rule, words removed per
rule, stanzas per section kind and instruction lines expanded or dropped among the kept songs,
timings) and the drop log ``DIR/chunks/drops.parquet`` (pipeline/chunks/droplog.py). Malformed
rows (wrong field count, a field cut short, a quote left open at the end of a truncated file) are
skipped and logged with their line; the good rows are kept, with a warning.

``sections`` holds one code per stanza of ``lyrics`` (stanzas are separated by one blank line):
the section kind its header named, ``i v p c h r b o x`` for intro, verse, pre-chorus, chorus,
hook, refrain, bridge, outro, other, and ``.`` for a stanza without a header
(lyrics_gpt2/songcraft/sections.py; how headers and instruction lines become stanzas:
pipeline/structure.py).

How (one pass over the CSV, memory independent of its size):

1. The main process reads batches of rows (pipeline/read.py) and hands them to a pool of worker
   processes, at most a few batches ahead; results come back in input order, so the output does
   not depend on the number of workers or their timing.
2. A worker drops rows by reason, in this order: unknown_genre, genre_not_selected,
   empty_lyrics, placeholder, translation_page, empty_after_cleaning, wrong_language (pipeline/clean.py,
   pipeline/langid.py; the dataset's own language column is used when it has a value). It
   cleans the whole batch first, then runs the language detector on the songs that need it,
   one after the other (fastText is much faster with its model still in the CPU caches).
3. The main process appends kept rows, with a 64-bit hash of their cleaned text (case folded),
   to per-chunk staging files (chunk = blake2b(id) mod N; the keys and files: pipeline/chunks/files.py).
4. Finalising drops duplicate_id (first kept; all copies of an id share a chunk), then
   repeated_text (a text in >= --repeat-threshold distinct kept songs, e.g. a study guide), then
   duplicate_text (one song under two ids, equal once case, spaces and punctuation are folded:
   the lowest id hash stays, whatever the artist), from ids and hashes alone (17 bytes per row),
   and writes each chunk (the worker pool writes them, the main process keeps the drop log in
   chunk order). Everything lands in a temporary folder renamed onto
   ``DIR/chunks`` at the very end, so a killed run leaves nothing that looks complete.

A rerun with the same input (size, mtime, head and tail hash) and the same parameters is skipped;
``--force`` reruns. Same input and parameters give byte-identical chunk files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lyrics_gpt2.cli import die_with_parent
from lyrics_gpt2.errors import UsageError, describe_os_error
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
from lyrics_gpt2.songcraft.sections import KINDS
from pipeline import clean, langid, leftovers, scrape, whole_song
from pipeline.chunks.droplog import FILE_NAME as DROP_LOG
from pipeline.chunks.droplog import DropLog
from pipeline.chunks.files import COLUMNS, Staging, chunk_of, finalize_all, text_hash
from pipeline.chunks.settings import (  # add_arguments: pipeline/preprocess.py STAGES calls it
    Config,
    add_arguments,  # noqa: F401
    config_from_args,
)
from pipeline.chunks.summary import print_summary, words_removed
from pipeline.read import Reader, detect_layout, record_lines
from pipeline.structure import Structure

REASONS = (
    "malformed",  # unparsable row (wrong field count) or no id
    "unknown_genre",  # a genre name that maps to no Genius tag
    "genre_not_selected",  # a tag not in --genres
    "empty_lyrics",  # missing or blank lyrics
    "placeholder",  # a known placeholder text (pipeline/whole_song.py PLACEHOLDER_*)
    "translation_page",  # Genius translation/romanization pages (whole_song.is_translation_page)
    "empty_after_cleaning",  # nothing left once annotations are removed
    "wrong_language",  # not --language (dataset column, else the detector)
    "duplicate_id",  # an id seen before (first kept)
    "repeated_text",  # the same text in >= --repeat-threshold songs
    "duplicate_text",  # the same normalised text as a kept song (case, spaces, punctuation)
)
BATCH_ROWS = 2000
MALFORMED_HELD = 100_000


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


Batch = tuple[dict[str, list], Counter, Counter, dict[str, list]]


def process_batch(batch: dict[str, list[str]]) -> Batch:
    """Clean one batch: the kept rows (with chunk index and text hash), drops by reason,
    scrape-junk and leftover counts keyed ``(rule, "lines")`` / ``(rule, "songs")`` and lyric
    words keyed ``("words", rule)`` (every cleaned song), and
    the dropped rows for the drop log (id, title, artist, tag, reason, rules)."""
    cfg: Config = _WORKER["cfg"]
    genres = _WORKER["genres"]
    drops: Counter = Counter()
    junk: Counter = Counter()
    words: Counter = Counter()  # lyric words in, and removed per bracket kind and rule
    kept: dict[str, list] = {c: [] for c in (*COLUMNS, "chunk", "hash")}
    gone: dict[str, list] = {c: [] for c in ("id", "title", "artist", "tag", "reason", "rules")}
    target = cfg.language

    def drop(i: int, reason: str, rules: list[str] | None = None) -> None:
        drops[reason] += 1
        for name in ("id", "title", "artist", "tag"):
            gone[name].append(batch[name][i])
        gone["reason"].append(reason)
        gone["rules"].append(json.dumps(Counter(rules), sort_keys=True) if rules else None)

    # Each row's fate: a drop reason, or its cleaned text and structure. The songs the language
    # detector must judge are judged together once the batch is cleaned (langid.blocks_to_read):
    # fastText runs ~3x faster when cleaning does not evict its model between songs.
    fate: list[str | tuple[str, Structure]] = []
    touched_by: dict[int, list[str]] = {}
    ask: list[tuple[int, str]] = []  # (row, cleaned text) of the songs to judge
    for i, tag in enumerate(batch["tag"]):
        if tag not in TAGS:
            fate.append("unknown_genre")
            continue
        if tag not in genres:
            fate.append("genre_not_selected")
            continue
        raw = batch["lyrics"][i]
        if not raw.strip():
            fate.append("empty_lyrics")
            continue
        if whole_song.is_placeholder(raw):
            fate.append("placeholder")
            continue
        if whole_song.is_translation_page(batch["artist"][i]):
            fate.append("translation_page")
            continue
        touched: list[str] = []
        structure = Structure()
        text = clean.clean_lyrics(raw, cfg.brackets, touched, cfg.parentheses, words, structure)
        if touched:
            touched_by[i] = touched
            for rule in touched:
                junk[rule, "lines"] += 1
            for rule in set(touched):
                junk[rule, "songs"] += 1
        if not text:
            fate.append("empty_after_cleaning")
            continue
        if target != "any":
            given = langid.normalize_code(batch["language"][i])
            if given and given != target:
                fate.append("wrong_language")
                continue
            if not given:
                ask.append((i, text))
        fate.append((text, structure))
    if ask:
        pending = []
        for i, text in ask:
            parts = langid.blocks_to_read(text, target)
            if parts is not None:
                pending.append((i, parts))
        detector = _detector()
        for i, parts in pending:
            if not langid.read_blocks(detector, parts, target):
                fate[i] = "wrong_language"
    for i, song_id in enumerate(batch["id"]):
        outcome = fate[i]
        if isinstance(outcome, str):
            drop(i, outcome, touched_by.get(i))
            continue
        text, structure = outcome
        kept["id"].append(song_id.strip())
        kept["title"].append(" ".join(batch["title"][i].split()))
        kept["artist"].append(" ".join(batch["artist"][i].split()))
        kept["tag"].append(batch["tag"][i])
        kept["lyrics"].append(text)
        kept["sections"].append(structure.codes)
        _count_structure(junk, structure)
        kept["chunk"].append(chunk_of(song_id.strip(), cfg.num_chunks))
        kept["hash"].append(text_hash(text))
    for rule, n in words.items():
        junk["words", rule] += n
    return kept, drops, junk, gone


def _count_structure(counts: Counter, structure: Structure) -> None:
    """Section kinds and instruction lines of a kept song, keyed ``("section", kind)`` and
    ``("instruction", "expanded" | "dropped")`` beside the scrape-junk counts."""
    for kind in structure.kinds:
        counts["section", kind or "none"] += 1
    if structure.expanded:
        counts["instruction", "expanded"] += structure.expanded
    if structure.dropped:
        counts["instruction", "dropped"] += structure.dropped


def _selected_lyrics_only(batches: Iterable[dict], genres: frozenset[str]) -> Iterator[dict]:
    """The batches with the lyrics of rows outside ``genres`` blanked: process_batch drops such
    a row by its tag before it reads the lyrics, so they need not be pickled and piped to a
    worker (a quarter of the dump's bytes with the default pop and rap)."""
    for batch in batches:
        lyrics = batch["lyrics"]
        batch["lyrics"] = [
            t if g in genres else "" for g, t in zip(batch["tag"], lyrics, strict=True)
        ]
        yield batch


@contextlib.contextmanager
def _worker_pool(workers: int, cfg: Config) -> Iterator[Any]:
    """``workers`` processes for the whole stage (cleaning, then writing the chunks), or None
    when ``workers`` is 0 (everything runs here)."""
    _init_worker(cfg)  # for the in-process case; a forked worker initialises itself again
    if workers == 0:
        yield None
        return
    # fork: workers start at once and share the imported modules; the parent has opened no
    # pyarrow threads or files yet when the pool is created.
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers, _init_worker, (cfg, os.getpid())) as pool:
        yield pool


def _ordered_map(fn: Callable, items: Iterable, pool: Any, ahead: int) -> Iterator[Batch]:
    """``map(fn, items)`` on ``pool`` (here when None), in input order, ``ahead`` items ahead at
    most."""
    if pool is None:
        yield from map(fn, items)
        return
    pending: deque = deque()
    for item in items:
        pending.append(pool.apply_async(fn, (item,)))
        if len(pending) > ahead:
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
        with atomic_path(out, is_dir=True, owner="preprocess") as tmp:
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
    malformed = manifest["dropped"]["malformed"]
    if malformed:
        cut = f"; {manifest['truncated_input']}" if manifest.get("truncated_input") else ""
        print(
            f"warning: {malformed:,} malformed row(s) of {path} skipped{cut}; the good rows "
            f"were kept (their line numbers in {out / DROP_LOG})",
            file=sys.stderr,
        )
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
    drop_log = DropLog(tmp / DROP_LOG)
    # Malformed rows wait for the end of the read to learn their line numbers (a scan of the
    # file, pipeline/read.py record_lines); past MALFORMED_HELD of them they are logged at once.
    malformed: list[dict] = []

    def log_malformed(final: bool = False) -> None:
        malformed.extend(reader.take_bad())
        if len(malformed) > MALFORMED_HELD or final:
            lines = record_lines(path, {b["row"] for b in malformed}) if final else {}
            for bad in malformed:
                line = lines.get(bad["row"])
                drop_log.add("malformed", row=bad["row"], line=line, detail=bad["detail"])
            malformed.clear()

    # One pool for the whole stage: forked before this process starts any pyarrow thread.
    with _worker_pool(workers, cfg) as pool:
        with tqdm(
            desc="chunks: clean", unit=" rows", unit_scale=True, disable=quiet, file=sys.stderr,
            mininterval=0.5, dynamic_ncols=True,
        ) as bar:  # fmt: skip
            for kept, batch_drops, batch_junk, gone in _ordered_map(
                process_batch,
                _selected_lyrics_only(reader, frozenset(cfg.genres)),
                pool,
                2 * workers,
            ):
                staging.add(kept)
                drops.update(batch_drops)
                junk.update(batch_junk)
                log_malformed()
                reasons = gone.pop("reason")
                drop_log.add_rows(gone, reasons)
                bar.update(reader.rows_in - bar.n)
                bar.set_postfix_str(f"{reader.bytes_read / 1e6:,.0f} MB", refresh=False)
            bar.update(reader.rows_in - bar.n)
        staging.close()
        log_malformed(final=True)
        if reader.rows_in == 0:
            raise UsageError(f"input {path} has a header but no rows; pass a lyrics CSV with songs")
        if reader.malformed == reader.rows_in:
            raise UsageError(
                f"input {path}: none of its {reader.rows_in:,} rows could be read (wrong field "
                "count or no id); check the delimiter (a comma) and the quoting"
            )
        drops["malformed"] = reader.malformed
        t_stream = time.perf_counter()

        # The same pool writes the chunks (each on its own), while this process keeps the log.
        files, drops_final, tags = finalize_all(
            staging, tmp, cfg.repeat_threshold, quiet, drop_log, pool
        )
    drops.update(drops_final)
    drop_log.close()
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
            for rule in (*scrape.SCRAPE_RULES, *leftovers.LEFTOVER_RULES)
        },
        "words_removed": words_removed(junk),
        # Among the songs kept before the duplicate and repeated-text filters.
        "sections": {k: int(junk["section", k]) for k in (*KINDS, "none")},
        "instructions": {k: int(junk["instruction", k]) for k in ("expanded", "dropped")},
        "chunks": files,
        "drop_log": {"file": DROP_LOG, "rows": drop_log.rows},
        **({"truncated_input": reader.truncated} if reader.truncated else {}),
        "timings": {
            "read_clean_s": round(t_stream - t0, 3),
            "write_chunks_s": round(t_end - t_stream, 3),
            "total_s": round(total, 3),
            "rows_per_s": round(reader.rows_in / total, 1) if total else None,
            "mb_per_s": round(reader.bytes_read / 1e6 / total, 2) if total else None,
            "workers": workers,
        },
    }
