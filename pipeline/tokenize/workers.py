"""Stage ``tokenize``'s chunks spread over worker processes (``--workers``), with a progress bar
in tokens/s; run by ``python -m pipeline.preprocess --stages tokenize``.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from lyrics_gpt2.cli import die_with_parent
from pipeline.tokenize.encode import ChunkTask, encode_chunk
from pipeline.tokenize.source import say


def start_pool(workers: int, n_chunks: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` processes already importing their modules; None for one worker."""
    workers = min(workers, n_chunks)
    if workers <= 1:
        return None
    # spawn, not fork: a forked Rust tokenizer thread pool can deadlock.
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
    )
    for _ in range(workers):
        pool.submit(_warm_up)
    return pool


def _worker_init(parent_pid: int) -> None:
    die_with_parent(parent_pid)  # kill -9 of preprocess: no orphan, no traceback
    # One process per core already; the tokenizer's own thread pool would only oversubscribe.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _warm_up() -> None:
    import tokenizers  # noqa: F401


def encode_chunks(
    tasks: list[ChunkTask], parts_dir: Path, pool: ProcessPoolExecutor | None, quiet: bool
) -> list[dict[str, Any]]:
    """Run every task (in ``pool``, or here when None); results in chunk order.

    Parts in ``parts_dir`` of chunks that no longer exist are deleted.
    """
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
                say(quiet, "tokenize: worker processes failed; continuing in this process")
                for task in tasks:
                    if str(task.part) not in finished:
                        done(encode_chunk(task))
    finally:
        bar.close()
    results.sort(key=lambda r: r["chunk"])
    # Parts of chunks that stage 1 no longer writes would only waste disk.
    current = {Path(t.part).name for t in tasks}
    for stale in parts_dir.glob("chunk-*.arrow"):
        if stale.name not in current:
            stale.unlink()
    return results
