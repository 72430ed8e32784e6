"""Stage 1: stream a raw lyrics CSV, clean it, and shard the kept songs into Parquet chunks."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage chunks")
    group.add_argument("--num-chunks", type=int, default=40, help="number of output chunks")
    group.add_argument(
        "--genres",
        nargs="+",
        default=["pop", "rap"],
        help="Genius tags to keep (pop rap rock rb misc country)",
    )


def run(args: argparse.Namespace) -> dict:
    raise NotImplementedError("stage chunks: being written (issue 2)")
