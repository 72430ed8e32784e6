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


# A 1-layer, 32-wide tiny preset: what the training cases run (seconds each).
SMALL = ["--preset", "tiny", "--model-config", "n_layer=1,n_embd=32,n_head=2", "--lr", "3e-3"]


def train_argv(data: Path, out: Path, *extra: str, steps: int = 4) -> list[str]:
    """train.py's flags for a run of ``steps`` optimizer steps of the small preset."""
    fast = ["--max-steps", str(steps), "--batch-size", "4", "--eval-every", "0"]
    return [*SMALL, *fast, "--eval-max-songs", "8", "--data-dir", str(data),
            "--output-dir", str(out), *extra]  # fmt: skip
