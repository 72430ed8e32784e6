"""Raw lyrics dump -> training-ready data, in stages joined through files on disk.

    python -m pipeline.preprocess                                  # data/ds.csv -> artifacts/data
    python -m pipeline.preprocess --input data/sample.csv.gz       # the bundled sample
    python -m pipeline.preprocess --stages chunks                  # stage 1 only

Stages (each writes its artifact and a manifest.json; a rerun skips a stage whose inputs and
parameters did not change and finishes what a killed run left):

1. ``chunks``   (pipeline/chunks/stage.py): stream the CSV, clean, drop, shard into Parquet chunks
                 -> DIR/chunks/chunk-NN.parquet + manifest.json
2. ``tokenize`` (pipeline/tokenize/): genre tokens, 20-400 token window, balance, split, pad
                 -> DIR/tokenizer/, DIR/tokenized/ (datasets DatasetDict) + manifest.json
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems
from lyrics_gpt2.fileio import MARKER, check_output, claim_folder, read_json
from pipeline.chunks import stage as chunks
from pipeline.tokenize import stage as tokenize

STAGES = {"chunks": chunks, "tokenize": tokenize}


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m pipeline.preprocess",
        description="Turn a raw lyrics CSV into clean chunks and tokenized training data.",
    )
    common = parser.add_argument_group("common")
    common.add_argument(
        "--input",
        type=Path,
        default=Path("data/ds.csv"),
        help="lyrics CSV (Genius ds.csv, songdata.csv or Multi-Lingual train.csv; "
        ".gz allowed) (default: %(default)s)",
    )
    common.add_argument(
        "--output-dir",
        type=Path,
        default=Path("artifacts/data"),
        help="where every stage writes (default: %(default)s)",
    )
    common.add_argument(
        "--stages",
        nargs="+",
        choices=list(STAGES),
        default=list(STAGES),
        help="stages to run, in order (default: all)",
    )
    common.add_argument("--seed", type=int, default=42, help="seed for every random choice")
    common.add_argument(
        "--force", action="store_true", help="rerun stages even when their outputs are up to date"
    )
    common.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes for the parallel stages; 0 = the main process only "
        "(default: 2, or 0 for inputs under 1 MB); never changes the output",
    )
    common.add_argument("--quiet", action="store_true", help="no progress bars or summary tables")
    for module in STAGES.values():
        module.add_arguments(parser)
    return parser


# The folders the stages replace whole (pipeline/chunks/stage.py, pipeline/tokenize/stage.py), with
# what a folder written before ownership markers holds (adopted once, then marked).
OUTPUT_FOLDERS = {
    "chunks": ("chunk-*.parquet", "manifest.json", "drops.parquet"),
    "tokenized": ("manifest.json", "dataset_dict.json", "train", "validation", "artist_val"),
    "tokenizer": (
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
        "merges.txt", "added_tokens.json", "chat_template.jinja",
    ),
}  # fmt: skip


def _legacy(name: str) -> Callable[[Path], bool]:
    """Recognise a folder our stages wrote before markers: by its stage manifest."""
    key, manifest = ("params_digest", "chunks") if name == "chunks" else ("stage_key", "tokenized")

    def ours(real: Path) -> bool:
        found = read_json(real.parent / manifest / "manifest.json")
        return isinstance(found, dict) and key in found

    return ours


def claim_outputs(args) -> None:
    """Before any work: every folder the stages will replace must be new, empty or an earlier
    preprocess run (lyrics_gpt2.fileio.claim_folder), and none may be or hold an input."""
    inputs = [("--input", args.input if "chunks" in args.stages else None)]
    tokenizer = getattr(args, "tokenizer", None)
    if "tokenize" in args.stages and tokenizer and os.path.lexists(tokenizer):
        inputs.append(("--tokenizer", tokenizer))
    names = [*(["chunks"] if "chunks" in args.stages else []),
             *(["tokenized", "tokenizer"] if "tokenize" in args.stages else [])]  # fmt: skip
    folders = [
        claim_folder(
            Path(args.output_dir) / name, "preprocess", flag=f"--output-dir {args.output_dir}:",
            inputs=inputs, legacy=_legacy(name), known=OUTPUT_FOLDERS[name],
        )
        for name in names
    ]  # fmt: skip
    for folder in folders:  # all allowed: mark a folder adopted from before markers as ours
        if folder.owned and not (folder.real / MARKER).is_file():
            folder.record()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with Problems() as problems:
        # numpy's generators take seeds in [0, 2**32): a bad one would fail in every worker.
        problems.require(0 <= args.seed < 2**32, f"--seed must be in [0, 2**32) (got {args.seed})")
    check_output(args.output_dir, flag="--output-dir", is_dir=True)  # before any work
    claim_outputs(args)
    for name in STAGES:
        if name in args.stages:
            STAGES[name].run(args)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
