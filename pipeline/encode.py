"""Stage 2: clean chunks -> genre-token-prefixed, length-filtered, balanced, padded token ids."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage tokenize")
    group.add_argument(
        "--tokenizer",
        default="gpt2",
        help="hub id, local tokenizer folder, or bpe:N for a byte-level BPE of N "
        "tokens trained on the training split (default: %(default)s)",
    )
    group.add_argument("--min-tokens", type=int, default=20)
    group.add_argument("--max-tokens", type=int, default=400)
    group.add_argument("--seq-len", type=int, default=300)


def run(args: argparse.Namespace) -> dict:
    raise NotImplementedError("stage tokenize: being written (issue 3)")
