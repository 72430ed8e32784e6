"""The command line of the generator.

    python -m pipeline.synth --rows 10000 --seed 2080 --out data/sample.csv.gz
    python -m pipeline.synth --help

Flags become a checked :class:`SynthConfig` (every problem in one UsageError); the writing is
:func:`pipeline.synth.write.generate`. More examples in pipeline/synth/__init__.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser
from lyrics_gpt2.errors import UsageError
from pipeline.synth.config import FLAG_RATES, JUNK_RATES, LAYOUTS, TAG_SHARES, SynthConfig
from pipeline.synth.write import generate


def _parse_pairs(items: Sequence[str], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        for pair in item.split(","):
            if not pair.strip():
                continue
            key, sep, value = pair.partition("=")
            try:
                if not sep:
                    raise ValueError
                out[key.strip()] = float(value)
            except ValueError:
                raise UsageError(
                    f"bad {what} {pair!r}; write NAME=NUMBER, e.g. foreign=0.1"
                ) from None
    return out


def config_from_args(args) -> SynthConfig:
    rates = dict(JUNK_RATES)
    if args.junk_rate is not None:
        if not 0.0 <= args.junk_rate <= 1.0:
            raise UsageError(f"--junk-rate must be between 0 and 1, got {args.junk_rate}")
        total = sum(rates.values())
        rates = {k: v * args.junk_rate / total for k, v in rates.items()}
    flags = dict(FLAG_RATES)
    for key, value in _parse_pairs(args.rate, "--rate").items():
        if key in FLAG_RATES:
            flags[key] = value
        else:
            rates[key] = value  # an unknown name is reported by SynthConfig
    shares = dict(TAG_SHARES)
    if args.tag_shares:
        shares = {k: 0.0 for k in TAG_SHARES}
        shares.update(_parse_pairs(args.tag_shares, "--tag-shares"))
    return SynthConfig(
        rows=args.rows,
        seed=args.seed,
        layout=args.layout,
        tag_shares=shares,
        rates=rates,
        flags=flags,
        crlf=args.crlf,
    )


def build_parser() -> ArgumentParser:
    kinds = ", ".join(f"{k}={v:g}" for k, v in JUNK_RATES.items())
    flags = ", ".join(f"{k}={v:g}" for k, v in FLAG_RATES.items())
    shares = ",".join(f"{k}={v:g}" for k, v in TAG_SHARES.items())
    p = ArgumentParser(
        prog="python -m pipeline.synth",
        description="Write a seeded synthetic lyrics CSV (same arguments, same bytes).",
    )
    p.add_argument("--rows", type=int, required=True, help="data rows to write")
    p.add_argument("--out", type=Path, required=True, help="output CSV; gzip when it ends in .gz")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--layout",
        choices=list(LAYOUTS),
        default="genius",
        help="column layout (default: %(default)s)",
    )
    p.add_argument(
        "--junk-rate",
        type=float,
        default=None,
        help=f"total share of junk rows, split like the defaults ({sum(JUNK_RATES.values()):.4f}); 0 = clean only",
    )
    p.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="NAME=R",
        help=f"share of one junk kind or clean-row flag (repeatable; after --junk-rate). Kinds: {kinds}. Flags: {flags}",
    )
    p.add_argument("--tag-shares", action="append", default=[], metavar="TAG=S,...",
                   help=f"genre mix (unnamed tags get 0; default {shares})")  # fmt: skip
    p.add_argument("--crlf", action="store_true", help="CRLF line endings (rows and inside lyrics)")
    p.add_argument(
        "--truth", type=Path, default=None, help="also write row,id,kind,tag,language,flags here"
    )
    p.add_argument(
        "--gzip-level",
        type=int,
        choices=range(1, 10),
        default=6,
        metavar="1-9",
        help="compression of a .gz output: 1 is fastest (default: %(default)s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    if args.truth is not None and args.truth.resolve() == args.out.resolve():
        raise UsageError("--truth must be a different file from --out")
    start = time.perf_counter()
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=config.rows, unit=" rows", unit_scale=True, desc="synth", file=sys.stderr)
    for path in (args.out, args.truth):
        if path is not None and path.is_dir():
            raise UsageError(f"{path} is a folder; give a file name such as {path}/corpus.csv.gz")
    try:
        counts = generate(
            config, args.out, args.truth, bar.update if bar else None, gzip_level=args.gzip_level
        )
    except OSError as exc:
        raise UsageError(
            f"cannot write {exc.filename or args.out}: {exc.strerror or exc}"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - start
    if not args.quiet:
        size = args.out.stat().st_size
        print(
            f"wrote {args.out} ({config.rows:,} rows, {size / 1e6:.1f} MB, layout {config.layout}) "
            f"in {elapsed:.1f}s, {config.rows / elapsed:,.0f} rows/s",
            file=sys.stderr,
        )
        print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v), file=sys.stderr)
    return 0
