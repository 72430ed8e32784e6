"""Stage 1's settings: its flags (``python -m pipeline.preprocess --stages chunks --help``) and
the :class:`Config` they make, whose fields decide what is kept (recorded in the manifest and its
digest, so a change of any of them rebuilds the chunks).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from lyrics_gpt2.errors import Problems
from lyrics_gpt2.genres import TAGS
from pipeline import clean, langid

# Bump when a rule changes what is kept, so old chunks are rebuilt rather than skipped.
# 2: control characters (NUL) removed; 3: scrape-junk rules; 4: duplicate_text, leftover rules;
# 5: headers are stanza breaks, the sections column
RULES_VERSION = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage chunks")
    group.add_argument("--num-chunks", type=int, default=40, help="number of output chunks")
    group.add_argument(
        "--genres",
        nargs="+",
        default=["pop", "rap"],
        help="Genius tags to keep (pop rap rock rb misc country)",
    )
    group.add_argument(
        "--untagged-genre",
        default="pop",
        choices=TAGS,
        help="tag given to rows of a CSV without a genre column (songdata.csv) "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--brackets",
        nargs="*",
        default=list(clean.BRACKET_KINDS),
        choices=clean.BRACKET_KINDS,
        help="bracketed annotations to remove: square [..], curly {..}, round (..); "
        "pass --brackets alone to keep them all (default: all three)",
    )
    group.add_argument(
        "--parentheses",
        choices=("drop", "keep"),
        default="drop",
        help="drop: remove everything in round brackets (the original rule); keep: leave sung "
        "parenthesised text (backing vocals, answers), removing only annotation-like ones such "
        "as (x2), (Chorus), (Repeat), (Produced by ...) (default: %(default)s)",
    )
    group.add_argument(
        "--language",
        default="en",
        help="ISO code of the songs to keep, or 'any' (default: %(default)s)",
    )
    group.add_argument(
        "--lang-detector",
        default="fasttext",
        choices=langid.DETECTORS,
        help="language detector for rows without a language value (default: %(default)s)",
    )
    group.add_argument(
        "--repeat-threshold",
        type=int,
        default=10,
        help="drop a text found verbatim in at least this many songs; 0 keeps them "
        "(default: %(default)s)",
    )


@dataclass(frozen=True)
class Config:
    """The parameters that decide what is kept (recorded in the manifest and its digest)."""

    num_chunks: int
    genres: tuple[str, ...]
    untagged_genre: str
    brackets: tuple[str, ...]
    language: str
    lang_detector: str
    repeat_threshold: int
    parentheses: str = "drop"
    rules_version: int = RULES_VERSION


def config_from_args(args: argparse.Namespace) -> Config:
    """Check the stage's flags; every problem reported at once as one UsageError."""
    problems = Problems()
    unknown = [g for g in args.genres if g not in TAGS]
    if unknown:
        problems.add(
            f"unknown genre {', '.join(map(repr, unknown))} in --genres (choose from "
            f"{' '.join(TAGS)})"
        )
    if not 1 <= args.num_chunks <= 10_000:
        problems.add(f"--num-chunks must be between 1 and 10000, not {args.num_chunks}")
    if args.repeat_threshold < 0 or args.repeat_threshold == 1:
        problems.add(f"--repeat-threshold must be 0 (off) or >= 2, not {args.repeat_threshold}")
    language = args.language.strip().lower()
    language = langid.normalize_code(language) or language  # "English" -> "en"
    if language != "any" and language not in langid.KNOWN_CODES:
        problems.add(
            f"--language {language!r} is not a language code the detector knows; use an ISO "
            "code such as en, es, fr, pt, de (see pipeline/langid.py KNOWN_CODES), or any"
        )
    if args.workers is not None and args.workers < 0:
        problems.add(f"--workers must be >= 0, not {args.workers}")
    problems.raise_if_any()
    return Config(
        num_chunks=args.num_chunks,
        genres=tuple(sorted(set(args.genres), key=TAGS.index)),
        untagged_genre=args.untagged_genre,
        brackets=tuple(k for k in clean.BRACKET_KINDS if k in args.brackets),
        language=language,
        lang_detector=args.lang_detector,
        repeat_threshold=args.repeat_threshold,
        parentheses=getattr(args, "parentheses", "drop"),
    )
