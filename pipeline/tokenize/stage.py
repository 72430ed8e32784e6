"""Stage 2 (``tokenize``): clean chunks -> genre-token-prefixed, length-filtered, balanced,
padded token ids that training reads as they are.

    python -m pipeline.preprocess --stages tokenize                     # GPT-2 BPE from the hub
    python -m pipeline.preprocess --stages tokenize --tokenizer artifacts/gpt2-tokenizer
    python -m pipeline.preprocess --stages tokenize --tokenizer bpe:8000   # trained from scratch
    python -m pipeline.preprocess --stages tokenize --long-songs drop    # the original 20-400 rule
    python -m pipeline.preprocess --stages tokenize --artist-tokens 50   # + [Artist: Name] tokens

Reads ``DIR/chunks/chunk-NN.parquet`` (columns id, title, artist, tag, lyrics) and writes

- ``DIR/tokenizer/``: the tokenizer plus one added special token per genre present in the chunks
  (``[Genre: Rap]``, ...); pad = eos when the tokenizer has no pad token.
- ``DIR/tokenized/``: a ``datasets.DatasetDict`` (train, validation) in the format that
  ``lyrics_gpt2/data.py`` defines, and ``manifest.json`` with the counts through every filter
  per genre and per chunk, token-length statistics, parameters and timings.
- ``DIR/tokenized.parts/``: per-chunk results, kept so that a killed or changed run redoes only
  the chunks whose input or parameters changed. Safe to delete.

Each song becomes ``[Genre: X]`` + lyrics + end-of-text; with ``--artist-tokens N``, a song of
one of the N artists with the most training songs becomes ``[Genre: X] [Artist: Y]`` + lyrics +
end-of-text (the artist token counts in ``n`` and in every piece, like the genre token), and
``--artist-holdout`` of each such artist's kept training songs go to a third split,
``artist_val``, never trained on (see "Artist tokens" below). Its token count ``n`` is that whole
sequence (genre token and eos included). ``--long-songs split`` (default): songs with
``min_tokens < n < max_song_tokens`` are kept; one longer than ``seq_len`` becomes several rows
(column ``piece``), cut at stanza, line or token boundaries (pieces.cut_points), each starting with
the genre token, only the last ending with eos. ``--long-songs drop`` is the original rule: songs
with ``min_tokens < n < max_tokens``, one row each, cut at ``seq_len``. ``length`` marks the real
tokens of a row: a song's last row keeps its eos at ``length - 1`` (unless drop mode cut it), so
the model learns to stop; pad positions are masked by ``length`` even when pad and eos share an id. Songs whose lyrics contain a
control token (a genre token or the eos string) verbatim are dropped: the tokenizer would read it
as the control token itself.

Per chunk, after the length filter, every genre is downsampled (seeded, whole songs) to the
smallest genre's lyric tokens (``--balance tokens``, default), or to its count of songs
(``--balance songs``, the original rule; rap songs are about twice as long as pop's, so rap then
trains on about twice pop's tokens), or not at all (``none``). Only training songs are balanced:
the validation artists' songs are all kept, so the validation split keeps its size; a kept song
keeps all its rows, and a song's rows share its artist, so they
always fall in the same split. The validation split takes whole artists (see ``pipeline/tokenize/artist_split.py``), decided on the chunk
rows before tokenizing so that ``bpe:N`` learns its merges from training songs only. Should every
validation song of a genre be filtered out, the artist with the fewest kept songs of that genre
moves to validation afterwards (listed in the manifest under split.moved_after_filtering).

Artist tokens. The N artists are ranked by their songs in the clean chunks (before the length
filter: the tokens must exist before encoding), validation artists and Genius' pseudo-artists
("Genius English Translations", ...) left out, ties by name. The validation split is
artist-disjoint, so it holds none of them; an artist that had to move to validation after
filtering is picked among the others first. Lyrics holding an artist token's text are dropped
like those holding a genre token. Without ``--artist-tokens`` (0) every output is byte for byte
what it was before the flag existed.

The pieces: source.py (settings, chunks, tokenizer, cache keys), workers.py (processes),
splits.py (train / validation / artist_val), manifest.py (manifest.json),
chunk.py (one chunk), stats.py (counts and lengths); this module runs them and publishes.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lyrics_gpt2 import tokenizer as tokenizers
from lyrics_gpt2.errors import Problems, UsageError
from lyrics_gpt2.fileio import atomic_path, intact, listing, read_json, remove_stale_tmp, write_json
from lyrics_gpt2.genres import GENRE_TOKENS
from pipeline.tokenize import artist_split as split
from pipeline.tokenize import source, stats, workers
from pipeline.tokenize.encode import file_sha
from pipeline.tokenize.manifest import build_manifest
from pipeline.tokenize.source import Settings, say
from pipeline.tokenize.splits import split_parts, write_splits


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("stage tokenize")
    group.add_argument(
        "--tokenizer",
        default="gpt2",
        help="hub id, local tokenizer folder, or bpe:N for a byte-level BPE of N "
        "tokens trained on the training split (default: %(default)s)",
    )
    group.add_argument(
        "--long-songs",
        choices=("split", "drop"),
        default="split",
        help="split: a song longer than --seq-len becomes several rows, cut at stanza or line "
        "boundaries; drop: the original notebooks' rule, keep only songs with --min-tokens < n < "
        "--max-tokens and cut them at --seq-len (default: %(default)s)",
    )
    group.add_argument(
        "--min-tokens",
        type=int,
        default=20,
        help="keep songs of MORE than this many tokens, genre token and eos included; in split "
        "mode no piece is this short either (default: %(default)s)",
    )
    group.add_argument(
        "--max-tokens",
        type=int,
        default=400,
        help="--long-songs drop only: keep songs of FEWER than this many tokens "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--max-song-tokens",
        type=int,
        default=4000,
        help="--long-songs split only: drop songs of this many tokens or more (book-length "
        "texts; counted as too_long) (default: %(default)s)",
    )
    group.add_argument(
        "--seq-len",
        type=int,
        default=300,
        help="tokens per row: every row is padded to it; a longer song is split (or cut, with "
        "--long-songs drop) (default: %(default)s)",
    )
    group.add_argument(
        "--val-fraction",
        type=float,
        default=None,
        help="share of songs for validation, whole artists, at least one song per genre "
        "(default: 0.5%% of the songs but at least 200, or 20%% under 1,000 songs; a warning "
        "below 100 validation songs)",
    )
    group.add_argument(
        "--balance",
        choices=("tokens", "songs", "none"),
        default="tokens",
        help="per chunk, downsample every genre to the smallest genre's lyric tokens (tokens: "
        "whole songs, seeded), or to its song count (songs: the original notebooks' rule, which "
        "leaves a genre of longer songs with more tokens), or keep all (none) "
        "(default: %(default)s)",
    )
    group.add_argument(
        "--artist-tokens",
        type=int,
        default=0,
        metavar="N",
        help="add an [Artist: Name] token, after the genre token, for the N artists with the "
        "most training songs; 0 = off (default: %(default)s)",
    )
    group.add_argument(
        "--sections",
        action="store_true",
        help="put a section token ([Verse], [Chorus], ... from the chunks' sections column) at "
        "the start of every stanza; the model learns to write them (needed by generate --form)",
    )
    group.add_argument(
        "--artist-holdout",
        type=float,
        default=0.1,
        help="with --artist-tokens: share of each such artist's training songs held out in split "
        "artist_val (at least one of an artist's two or more songs; 0 = none) (default: "
        "%(default)s)",
    )


def check_settings(s: Settings) -> None:
    """Every problem with the flags, in one UsageError."""
    problems = Problems()
    if s.min_tokens < 0:
        problems.add(f"--min-tokens must be >= 0 (got {s.min_tokens})")
    if s.long_songs == "drop" and s.min_tokens >= s.max_tokens:
        problems.add(
            f"--min-tokens ({s.min_tokens}) must be smaller than --max-tokens "
            f"({s.max_tokens}): songs of more than min and fewer than max tokens are kept"
        )
    if s.seq_len < 2:
        problems.add(f"--seq-len must be at least 2 (got {s.seq_len})")
    if s.long_songs == "split" and s.min_tokens >= s.max_song_tokens:
        problems.add(
            f"--min-tokens ({s.min_tokens}) must be smaller than --max-song-tokens "
            f"({s.max_song_tokens})"
        )
    if s.long_songs == "split" and s.seq_len < 4:
        problems.add(f"--seq-len must be at least 4 to split long songs (got {s.seq_len})")
    if s.val_fraction is not None and not 0.0 < s.val_fraction < 1.0:
        problems.add(f"--val-fraction must be between 0 and 1 (got {s.val_fraction})")
    if s.workers < 0:
        problems.add(f"--workers must be >= 0 (got {s.workers})")
    if s.artist_tokens < 0:
        problems.add(f"--artist-tokens must be >= 0, 0 = off (got {s.artist_tokens})")
    if not 0.0 <= s.artist_holdout < 1.0:
        problems.add(f"--artist-holdout must be in [0, 1) (got {s.artist_holdout})")
    size = s.bpe_size
    if s.tokenizer.strip().startswith("bpe:") and size is None:
        problems.add(f"--tokenizer {s.tokenizer!r}: write bpe:N with N a number, e.g. bpe:8000")
    if size is not None and size < tokenizers.MIN_VOCAB:
        problems.add(f"--tokenizer bpe:{size}: N must be at least {tokenizers.MIN_VOCAB}")
    problems.raise_if_any()


# --------------------------------------------------------------------------------------------
# The stage


def run(args: argparse.Namespace) -> dict:
    """Run the stage (or skip it when up to date); return the manifest."""
    clock = Stopwatch()
    settings = Settings.from_args(args)
    check_settings(settings)
    out_dir = settings.output_dir
    chunk_paths, chunks_fp = source.find_chunks(out_dir)
    stage_key = source.stage_key(settings, chunks_fp)
    tokenized_dir = out_dir / "tokenized"
    for leftover in (tokenized_dir, out_dir / "tokenizer"):  # of killed runs, even if up to date
        remove_stale_tmp(leftover)
    old = read_json(tokenized_dir / "manifest.json")
    if (
        not settings.force
        and isinstance(old, dict)
        and old.get("stage_key") == stage_key
        and intact(tokenized_dir, old.get("files"))  # a truncated .arrow file: rebuild
        and file_sha(out_dir / "tokenizer" / "tokenizer.json") == old.get("tokenizer_sha")
    ):
        say(settings.quiet, f"tokenize: {tokenized_dir} is up to date (use --force to redo it)")
        return old

    # Start the worker processes now: they import while this one scans and builds the tokenizer.
    pool = workers.start_pool(settings.workers, len(chunk_paths))
    try:
        with clock.lap("scan_and_split_s"):
            genres, artist_genre_counts = source.scan_chunks(chunk_paths)
            val_fraction = settings.val_fraction
            if val_fraction is None:
                val_fraction = split.default_val_fraction(sum(artist_genre_counts.values()))
            val_artists = split.choose_validation_artists(
                artist_genre_counts,
                val_fraction,
                settings.seed,
                genres,
                at_least=settings.val_fraction is None,
            )
            artists, skipped = split.token_artists(
                artist_genre_counts, val_artists, settings.artist_tokens
            )
            if settings.artist_tokens and not artists:
                raise UsageError(
                    f"--artist-tokens {settings.artist_tokens}: no training artist can have a "
                    "token (all are validation artists, nameless or Genius pseudo-artists)"
                )
        parts_dir = out_dir / "tokenized.parts"
        with clock.lap("tokenizer_s"):
            staged_tok, info = source.stage_tokenizer(
                settings, genres, chunk_paths, chunks_fp, val_artists, parts_dir, artists
            )
        with clock.lap("encode_s"):
            tasks = source.chunk_tasks(
                settings, chunk_paths, parts_dir, staged_tok, info, genres, frozenset(val_artists)
            )
            results = workers.encode_chunks(tasks, parts_dir, pool, settings.quiet)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    counts = stats.merge_counts(results, genres)
    clock.begin("assemble_s")
    try:
        problem = stats.nothing_left(counts, genres, settings.balance)
        if problem:
            raise UsageError(problem)
        plan, split_info = split_parts(
            [r["part"] for r in results],
            val_artists,
            settings.seed,
            list(info.artist_token_ids),
            settings.artist_holdout,
        )
        if artists:
            split_info["artists"]["skipped"] = skipped
        split_info["val_fraction"] = val_fraction
    except UsageError:
        # Nothing can be trained: leave no half-built stage behind (a rerun with other flags
        # or data redoes these chunks anyway).
        shutil.rmtree(parts_dir, ignore_errors=True)
        raise
    manifest = build_manifest(
        settings=settings,
        stage_key=stage_key,
        inputs={"chunks": len(chunk_paths), "chunks_fingerprint": chunks_fp},
        info=info,
        tokenizer_sha=file_sha(staged_tok / "tokenizer.json"),
        results=results,
        counts=counts,
        split_info=split_info,
    )
    manifest = publish(plan, manifest, staged_tok, out_dir, settings.quiet, clock)
    _summary(settings.quiet, manifest)
    if manifest["split"].get("warning"):
        print(f"warning: {manifest['split']['warning']}", file=sys.stderr)
    return manifest


class Stopwatch:
    """Named laps of the stage; ``timings()`` closes the open lap and adds ``total_s``."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.laps: dict[str, float] = {}
        self._open: tuple[str, float] | None = None

    @contextlib.contextmanager
    def lap(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        yield
        self.laps[name] = time.perf_counter() - t

    def begin(self, name: str) -> None:
        self._open = (name, time.perf_counter())

    def timings(self) -> dict[str, float]:
        now = time.perf_counter()
        laps = dict(self.laps)
        if self._open is not None:
            laps[self._open[0]] = now - self._open[1]
        return {**laps, "total_s": now - self.start}


# --------------------------------------------------------------------------------------------
# Output


def publish(
    plan, manifest: dict[str, Any], staged_tok: Path, out_dir: Path, quiet: bool, clock
) -> dict[str, Any]:
    """Write DIR/tokenized (the splits of ``plan`` + the manifest, completed with timings and throughput)
    and DIR/tokenizer (from ``staged_tok``); return the manifest as written."""
    tokens = manifest["throughput"]["tokens_tokenized"]
    tokenized_dir = out_dir / "tokenized"
    with atomic_path(tokenized_dir, is_dir=True, owner="preprocess") as tmp:
        with _writing_bar(plan, quiet) as bar:
            write_splits(plan, tmp, bar.update)
        timings = clock.timings()
        final = {
            **manifest,
            "throughput": {
                **manifest["throughput"],
                "tokens_per_s_encode": round(tokens / max(timings["encode_s"], 1e-9)),
                "tokens_per_s_stage": round(tokens / timings["total_s"]),
            },
            "timings": {k: round(v, 3) for k, v in timings.items()},
            "files": listing(tmp),
        }
        write_json(tmp / "manifest.json", final)
        # Invalidate the old dataset first, then swap the tokenizer, then (on leaving this block)
        # the dataset: a kill anywhere in between leaves "no tokenized data", never a mismatch.
        (tokenized_dir / "manifest.json").unlink(missing_ok=True)
        with atomic_path(out_dir / "tokenizer", is_dir=True, owner="preprocess") as tok_tmp:
            shutil.copytree(staged_tok, tok_tmp, dirs_exist_ok=True)
    return final


def _writing_bar(plan, quiet: bool):
    from tqdm import tqdm

    rows = sum(n for _, n in plan.items())
    return tqdm(total=rows, unit=" rows", desc="write tokenized", file=sys.stderr, disable=quiet)


def _summary(quiet: bool, manifest: dict[str, Any]) -> None:
    if quiet:
        return
    lengths = manifest["token_lengths"]
    held = manifest["splits"].get("artist_val")
    songs = manifest["split"]["songs"]
    names = ["train", "validation"] + ([] if held is None else ["artist_val"])
    print(
        f"tokenize: {' / '.join(f'{songs.get(n, 0)} {n}' for n in names)} songs in "
        f"{' / '.join(str(manifest['splits'][n]) for n in names)} rows "
        f"({lengths.get('songs', 0)} songs, "
        f"{lengths.get('songs_whole', 0)} in one row), vocab {manifest['vocab_size']}, "
        f"median {lengths.get('median')} tokens, "
        f"{100 * lengths.get('share_padding_at_seq_len', 0):.1f}% padding at "
        f"{manifest['seq_len']}, {manifest['timings']['total_s']:.1f}s"
    )
    if manifest.get("artist_tokens"):
        per_artist = manifest["artist_split"].get("per_artist", {})
        print(
            f"  {len(manifest['artist_tokens'])} artist tokens (e.g. "
            f"{next(iter(manifest['artist_tokens'].values()))}); artist_val holds "
            f"{sum(a['artist_val'] for a in per_artist.values())} of their songs"
        )
    for g, c in manifest["counts"]["per_genre"].items():
        print(
            f"  {GENRE_TOKENS[g]:<18} songs read {c['read']:>7}  length ok {c['kept_length']:>7}  "
            f"balanced {c['kept']:>7}  train {c.get('train', 0):>7} / validation "
            f"{c.get('validation', 0):>5} rows  training lyric tokens "
            f"{c.get('train_tokens_before', 0):>9,} -> {c.get('train_tokens_after', 0):>9,}"
        )
    ratio = manifest.get("balance", {}).get("token_ratio_after")
    if ratio:
        print(
            f"  --balance {manifest['balance']['mode']}: most/least training lyric tokens {ratio:.3f}"
        )
