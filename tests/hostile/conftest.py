"""Helpers shared by the hostile cases."""

from __future__ import annotations

from pathlib import Path

from lyrics_gpt2.testing import exit_code
from pipeline.preprocess import main as preprocess_main

GENIUS_HEADER = "title,tag,artist,year,views,features,lyrics,id"


def one_line(err: str, *words: str) -> str:
    """``err`` is exactly one "error: ..." line holding every word of ``words``; returns it."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def genius_rows(n: int, start: int = 0, lyrics: str = "") -> str:
    """``n`` well-formed Genius rows (multi-line quoted lyrics, two genres)."""
    out = []
    for i in range(start, start + n):
        tag = ("pop", "rap")[i % 2]
        words = lyrics or f"hello world number {i} we sing tonight\nand again the night we sing"
        out.append(f't{i},{tag},artist {i},2000,1,{{}},"{words}",{i}\n')
    return "".join(out)


def preprocess(inp: Path, out: Path, *extra: str) -> int:
    """Stage chunks (unless ``extra`` names stages) of the real command, in this process."""
    stages = [] if "--stages" in extra else ["--stages", "chunks"]
    argv = [*stages, "--input", str(inp), "--output-dir", str(out), "--quiet", "--workers", "0"]
    return exit_code(preprocess_main, [*argv, *extra])


def tree(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones too), relative, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
