"""Write a corpus: rows from :class:`Synthesizer`, laid out by :func:`row_text`, atomically.

The same :class:`SynthConfig` gives the same bytes: one seeded random stream, and a ``.gz``
output gets a fixed gzip header (no file name, mtime 0).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from random import Random
from typing import IO

from lyrics_gpt2.fileio import atomic_path
from pipeline.synth.config import KINDS, LAYOUTS, TRUTH_HEADER, SynthConfig
from pipeline.synth.layout import csv_line, row_text
from pipeline.synth.songs import Synthesizer


def _open_text(path: Path, stack: ExitStack, compresslevel: int = 6) -> IO[str]:
    raw = stack.enter_context(path.open("wb"))
    if path.name.endswith(".gz"):
        # filename="" and mtime=0 keep the gzip header free of names and times: same bytes each run.
        raw = stack.enter_context(
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0)
        )
    return stack.enter_context(
        io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
    )


def generate(
    config: SynthConfig,
    out: str | Path,
    truth: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    gzip_level: int = 6,
) -> dict[str, int]:
    """Write the corpus (and optionally its truth table) atomically; return counts per kind.

    ``gzip_level`` applies to a ``.gz`` output: 6 is the default of the gzip tool; 1 compresses
    several times faster into a file about a third larger.
    """
    out = Path(out)
    synth = Synthesizer(config)
    layout = config.layout
    nl = "\r\n" if config.crlf else "\n"
    counts = dict.fromkeys(KINDS, 0)
    lang_rnd = Random(config.seed ^ 0x5EED)  # separate stream: layouts share the same songs
    with ExitStack() as stack:
        tmp = stack.enter_context(atomic_path(out))
        f = _open_text(tmp, stack, gzip_level)
        f.write(csv_line(LAYOUTS[layout], layout == "songdata", nl))
        batch: list[str] = []
        twriter = None
        if truth is not None:
            ttmp = stack.enter_context(atomic_path(truth))
            tf = _open_text(ttmp, stack)
            twriter = csv.writer(tf, lineterminator="\n")
            twriter.writerow(TRUTH_HEADER)
        for i, song in enumerate(synth.songs(), 1):
            batch.append(row_text(song, layout, lang_rnd, nl))
            counts[song.kind] += 1
            if twriter is not None:
                flags = " ".join(song.flags)
                twriter.writerow((i, song.id, song.kind, song.tag, song.language, flags))
            if i % 1000 == 0:
                f.write("".join(batch))
                batch.clear()
                if progress is not None:
                    progress(1000)
        f.write("".join(batch))
        if progress is not None:
            progress(config.rows % 1000)
    return counts
