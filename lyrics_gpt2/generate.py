"""Write songs with a trained genre-conditioned model, many at a time.

    python -m lyrics_gpt2.generate --genre rap                      # 5 rap songs to stdout
    python -m lyrics_gpt2.generate --genre both --num-songs 20 --format jsonl --output songs.jsonl
    python -m lyrics_gpt2.generate --genre pop --prompt "I walked along the river" --seed 7
    python -m lyrics_gpt2.generate --genre rap --temperature 2.5 --repetition-penalty 0.8  # original
    python -m lyrics_gpt2.generate --genre rap --artist "Kendrick Lamar"   # data with --artist-tokens

Each song starts from its genre token (``[Genre: Rap]``), with ``--artist`` then that artist's
token (``[Artist: Name]``, only for a model trained on data made with stage tokenize's
``--artist-tokens N``; an unknown name is refused with a few known ones), and, with ``--prompt``,
a first line to continue. Songs are sampled in batches (left-padded, with an attention mask and the KV cache) and
each stops at end-of-song or after ``--max-length`` new tokens. Special tokens are stripped.
A prompt is plain text: one holding a control token's text (``[Genre: Pop]``, ``<|endoftext|>``)
is refused with a one-line message, never obeyed.
The same seed with the same flags gives the same songs. This module is the command (flags, output
formats); the sampler it runs is lyrics_gpt2.inference.sampler.

Defaults (temperature 0.9, top-k 50, top-p 0.95, repetition penalty 1.1 on every seen token;
``--penalty-exempt structure`` spares line breaks, punctuation and genre tokens) are picked by ``python benchmarks/sampling_sweep.py``, which
scores each setting with the evaluation report (lyrics_gpt2.report) against held-out songs;
README "Performance" holds its table. ``--best-of N`` keeps, of N candidates per song, the one the
report's genre classifier rates most likely the asked genre, minus its copied 8-gram share.
In transformers a repetition penalty below 1 *rewards* repetition: the original's 0.8 is still
accepted, with a warning.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems, UsageError, require_extra
from lyrics_gpt2.fileio import atomic_path, check_inputs, check_output, output_errors
from lyrics_gpt2.genres import model_artists, model_genres, resolve_artist, resolve_genres
from lyrics_gpt2.inference.params import (
    DEFAULT_MAX_LENGTH,
    add_sampling_flags,
    sampling_from,
)
from lyrics_gpt2.inference.sampler import (
    Song,
    check_prompt,
    generate_songs,
    model_window,
    prompt_ids,
)
from lyrics_gpt2.modeling import (
    DEFAULT_MODEL,
    add_device_flag,
    load_trained,
    pick_device,
    quiet_transformers,
)
from lyrics_gpt2.tokenizer import load_tokenizer


def song_dict(song: Song) -> dict:
    """A song as JSON writes it; ``artist`` only when it was asked for."""
    out = asdict(song)
    if out["artist"] is None:
        del out["artist"]
    return out


def render(songs: list[Song], fmt: str, settings: dict) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(song_dict(s), ensure_ascii=False) + "\n" for s in songs)
    if fmt == "json":
        payload = {"settings": settings, "songs": [song_dict(s) for s in songs]}
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    blocks = []
    for s in songs:
        end = "" if s.ended else f"  (cut at --max-length {settings['max_length']})"
        who = s.genre if s.artist is None else f"{s.genre}, {s.artist}"
        blocks.append(f"=== {who} #{s.index + 1}{end} ===\n{s.text}\n")
    return "\n".join(blocks)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.generate",
        description="Generate genre-conditioned lyrics with a trained model.",
    )
    p.add_argument(
        "--genre",
        default="both",
        help="rap, pop, both (rap and pop), all, any genre the model was trained with, "
        "or a comma list (default: %(default)s)",
    )
    p.add_argument(
        "--artist",
        default=None,
        help="an artist the model has a token for (data made with --artist-tokens N); the name "
        "as the data spells it, case aside (default: none)",
    )
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model folder (%(default)s)")
    p.add_argument("--num-songs", type=int, default=5, help="songs per genre (%(default)s)")
    p.add_argument(
        "--max-length",
        type=int,
        default=None,
        help=f"most new tokens per song (default: {DEFAULT_MAX_LENGTH}, or less when the "
        "model's context is shorter)",
    )
    add_sampling_flags(p)
    p.add_argument("--seed", type=int, default=42, help="same seed, same flags -> same songs")
    p.add_argument("--prompt", default=None, help="a first line for every song to continue")
    p.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    p.add_argument("--output", type=Path, default=None, help="write here (atomically), not stdout")
    p.add_argument("--batch-size", type=int, default=16, help="songs sampled together")
    p.add_argument(
        "--reflow",
        choices=("auto", "on", "off"),
        default="auto",
        help="break lines after commas and periods; auto = only songs without line breaks",
    )
    p.add_argument(
        "--best-of",
        type=int,
        default=1,
        help="sample N candidates per song and keep the one the report's genre classifier "
        "rates most likely the asked genre, minus its share of copied training 8-grams (%(default)s)",
    )
    p.add_argument(
        "--report-dir",
        type=Path,
        default=Path("artifacts/report"),
        help="--best-of: where python -m lyrics_gpt2.report saved its classifier (%(default)s)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path("artifacts/data"),
        help="--best-of: the training data, for the classifier and n-gram index (%(default)s)",
    )
    add_device_flag(p)
    return p


def pick_best(songs: list[Song], best_of: int, num_songs: int, data_dir, report_dir) -> list[Song]:
    """Keep, of each song's ``best_of`` candidates (consecutive indices of one genre), the one
    ranked best by lyrics_gpt2.report.build.best_of; indices are renumbered 0..num_songs-1."""
    from lyrics_gpt2.report.build import best_of as rank
    from lyrics_gpt2.report.build import load_reference

    ref = load_reference(data_dir, report_dir, log=lambda m: print(m, file=sys.stderr))
    kept = []
    for genre in dict.fromkeys(s.genre for s in songs):
        mine = [s for s in songs if s.genre == genre]
        for k in range(num_songs):
            group = mine[k * best_of : (k + 1) * best_of]
            best = group[rank(ref.classifier, ref.index, [s.text for s in group], genre)]
            best.index = k
            kept.append(best)
    return kept


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_transformers()
    # Check every flag before the (slow) model load, and name all the bad ones at once.
    with Problems() as problems:
        problems.require(args.num_songs >= 1, f"--num-songs must be >= 1 (got {args.num_songs})")
        problems.require(args.batch_size >= 1, f"--batch-size must be >= 1 (got {args.batch_size})")
        problems.require(args.best_of >= 1, f"--best-of must be >= 1 (got {args.best_of})")
        max_length = DEFAULT_MAX_LENGTH if args.max_length is None else args.max_length
        sampling_from(args, max_length).check(problems)
    if args.best_of > 1:  # ranks with the report's classifier
        require_extra("report", "--best-of", "sklearn", "joblib")
    if args.output:
        check_output(args.output)  # a folder, a read-only place: said now, not after sampling
        check_inputs([("--output", args.output)], [("--model", args.model)])
    if not (args.model / "config.json").is_file():
        raise UsageError(
            f"no trained model in {args.model}; run training first "
            "('accelerate launch lyrics_gpt2/train.py') or pass --model DIR"
        )
    device = pick_device(args.device)
    tokenizer = load_tokenizer(args.model)
    genres = resolve_genres(args.genre, model_genres(tokenizer))
    artist = None if args.artist is None else resolve_artist(args.artist, model_artists(tokenizer))
    check_prompt(tokenizer, args.prompt)
    model = load_trained(args.model, device)
    prompt_len = len(prompt_ids(tokenizer, 0, args.prompt, None if artist is None else 0))
    context = model_window(model) or 1 << 30
    room = context - prompt_len
    if room < 1:
        raise UsageError(f"--prompt is {prompt_len} tokens; the model sees at most {context}")
    # --max-length may exceed the window: the sampler slides it (sampling.window_context).
    cfg = sampling_from(args, args.max_length or min(DEFAULT_MAX_LENGTH, room))
    if cfg.repetition_penalty < 1:
        print(
            f"warning: --repetition-penalty {cfg.repetition_penalty} < 1 rewards repeated "
            "tokens in transformers (1.0 = off, > 1 discourages repeats)",
            file=sys.stderr,
        )
    t0 = time.perf_counter()
    songs = generate_songs(
        model,
        tokenizer,
        genres,
        args.num_songs * args.best_of,
        cfg,
        prompt=args.prompt,
        seed=args.seed,
        batch_size=args.batch_size,
        reflow_mode=args.reflow,
        artist=artist,
    )
    if args.best_of > 1:
        songs = pick_best(songs, args.best_of, args.num_songs, args.data_dir, args.report_dir)
    elapsed = time.perf_counter() - t0
    settings = {
        "model": str(args.model),
        "genres": genres,
        **({"artist": artist} if artist is not None else {}),
        "num_songs": args.num_songs,
        "max_length": cfg.max_new_tokens,
        "temperature": cfg.temperature,
        "top_k": cfg.top_k,
        "top_p": cfg.top_p,
        "repetition_penalty": cfg.repetition_penalty,
        "penalty_window": cfg.penalty_window,
        "penalty_exempt": args.penalty_exempt,
        "best_of": args.best_of,
        "seed": args.seed,
        "prompt": args.prompt,
        "batch_size": args.batch_size,
    }
    text = render(songs, args.format, settings)
    if args.output:
        with output_errors(args.output), atomic_path(args.output) as tmp:
            tmp.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    tokens = sum(s.tokens for s in songs)
    ended = sum(s.ended for s in songs)
    where = f" -> {args.output}" if args.output else ""
    print(
        f"{len(songs)} songs ({', '.join(genres)}{'' if artist is None else ', ' + artist}), "
        f"{tokens:,} tokens in {elapsed:.1f} s "
        f"({tokens / max(elapsed, 1e-9):,.0f} tokens/s); {ended}/{len(songs)} reached "
        f"end-of-song{where}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
