"""Judge generated songs against held-out ones: genre fidelity, copying, variety, structure, rhyme.

    python -m lyrics_gpt2.report                                  # artifacts/model, 64 songs/genre
    python -m lyrics_gpt2.report --num-songs 16 --temperature 0.8 --penalty-window 64
    python -m lyrics_gpt2.report --songs songs.jsonl --out artifacts/report-other   # any generator

Writes ``OUT/report.json`` (figures per source and genre, the classifier's accuracy, the
perplexity comparison), ``OUT/report.md`` (tables, examples, the most-copied song beside its
nearest training song) and PNGs (line and song lengths, genre-swap heatmap). The classifier is
cached in OUT and the n-gram index in ``DATA/report-cache``, both keyed by the data's manifests.
``--songs FILE.jsonl`` takes one ``{"genre": ..., "lyrics": ...}`` per line (generate's
``--format jsonl`` output works as is: ``text`` and ``ended`` are read too).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems, UsageError, require_extra
from lyrics_gpt2.fileio import atomic_path, claim_folder, read_json, write_json
from lyrics_gpt2.inference.params import (
    DEFAULT_MAX_LENGTH,
    FORM_MAX_LENGTH,
    add_sampling_flags,
    sampling_from,
)
from lyrics_gpt2.modeling import (
    DEFAULT_MODEL,
    add_device_flag,
    data_dir_from_summary,
    quiet_transformers,
)
from lyrics_gpt2.report import build, render, structure
from lyrics_gpt2.report.corpus import data_digest

# What the report writes into --out (the classifier cache's name holds the data's digest).
REPORT_FILES = (
    "report.json", "report.md", "line_lengths.png", "song_lengths.png", "genre_swap.png",
    "classifier-*.joblib",
)  # fmt: skip


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.report",
        description="Evaluate generated (or given) songs against held-out songs.",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help=f"model to sample from and score perplexity with (default: {DEFAULT_MODEL}; "
        "with --songs, perplexity runs only when --model is given)",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="held-out songs and the reference corpus (default: the data folder the model's "
        "summary.json records, else artifacts/data)",
    )
    p.add_argument("--out", type=Path, default=Path("artifacts/report"), help="(%(default)s)")
    p.add_argument("--songs", type=Path, default=None, help="score this JSONL instead of sampling")
    p.add_argument("--num-songs", type=int, default=64, help="songs per genre (%(default)s)")
    p.add_argument("--genre", default="all", help="genres to generate (%(default)s)")
    p.add_argument("--seed", type=int, default=42, help="(%(default)s)")
    p.add_argument("--batch-size", type=int, default=16, help="(%(default)s)")
    p.add_argument(
        "--max-ngrams",
        type=int,
        default=50_000_000,
        help="n-gram index bound: 12 bytes each (%(default)s)",
    )
    p.add_argument("--no-perplexity", action="store_true", help="skip the perplexity comparison")
    p.add_argument("--bootstrap", type=int, default=200, help="perplexity CI resamples")
    add_sampling_flags(p)
    p.add_argument("--max-length", type=int, default=None,
                   help=f"(default {DEFAULT_MAX_LENGTH} or the model's context; {FORM_MAX_LENGTH} "
                   "for songs that follow a form drawn from the model's forms.json)")  # fmt: skip
    add_device_flag(p)
    return p


def read_songs(path: Path, genres: Sequence[str] = ()) -> list[build.Judged]:
    """The songs of a JSONL file; ``genres`` (the data's) bounds the genre of each."""
    if not path.is_file():
        raise UsageError(f"--songs {path}: no such file")
    try:
        text_in = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"--songs {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSONL"
        ) from None
    songs = []
    for n, line in enumerate(text_in.splitlines(), 1):
        if not line.strip():
            continue
        where = f"--songs {path} line {n}"
        try:
            rec = json.loads(line)
            text = rec["lyrics"] if "lyrics" in rec else rec["text"]
            genre, ended = rec["genre"], rec.get("ended")
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{where}: expected a JSON object with 'genre' and 'lyrics'") from None
        # A number or a list is not lyrics, "maybe" is not an end: refused, never coerced.
        if not isinstance(text, str):
            raise UsageError(f"{where}: lyrics must be a string (got {type(text).__name__})")
        if not isinstance(genre, str) or (genres and genre not in genres):
            raise UsageError(
                f"{where}: genre must be one of {', '.join(genres) or 'the data genres'} (got {genre!r})"
            )
        if ended not in (True, False, None):
            raise UsageError(f"{where}: ended must be true, false or absent (got {ended!r})")
        songs.append(build.Judged(genre, text, ended, rec.get("sections"), rec.get("controls")))
    if not songs:
        raise UsageError(f"--songs {path} holds no songs")
    return songs


def generate(args) -> tuple[list[build.Judged], dict]:
    from lyrics_gpt2.genres import model_genres, resolve_genres
    from lyrics_gpt2.inference.onednn import load_for_inference
    from lyrics_gpt2.inference.sampler import generate_songs
    from lyrics_gpt2.modeling import pick_device
    from lyrics_gpt2.songcraft.control import model_sections
    from lyrics_gpt2.songcraft.forms import load_forms
    from lyrics_gpt2.tokenizer import load_tokenizer

    tok = load_tokenizer(args.model)
    genres = resolve_genres(args.genre, model_genres(tok))
    model = load_for_inference(args.model, pick_device(args.device))
    # Songs as generate writes them by default: with a model's forms.json, each follows a form
    # drawn from its genre's table (the sampler slides the window past the model's context).
    forms = load_forms(args.model) if model_sections(tok) else {}
    cfg = sampling_from(args, args.max_length or FORM_MAX_LENGTH, bool(forms))
    if not forms:  # free songs stop where the model's context does (the genre token is one)
        context = getattr(model.config, "n_positions", None) or cfg.max_new_tokens + 1
        longest = args.max_length or DEFAULT_MAX_LENGTH
        cfg = replace(cfg, max_new_tokens=min(longest, context - 1))
    songs = generate_songs(
        model, tok, genres, args.num_songs, cfg, seed=args.seed, batch_size=args.batch_size,
        forms=forms,
    )  # fmt: skip
    settings = {k: getattr(cfg, k) for k in ("temperature", "top_k", "top_p", "max_new_tokens")}
    settings.update(
        repetition_penalty=cfg.repetition_penalty,
        penalty_window=cfg.penalty_window,
        penalty_exempt=args.penalty_exempt,
        seed=args.seed,
        num_songs=args.num_songs,
        **({"forms": "drawn per song from the model's forms.json"} if forms else {}),
    )
    judged = [
        build.Judged(s.genre, s.text, s.ended, s.sections,
                     {"form": list(s.drawn_form)} if s.drawn_form else None)
        for s in songs
    ]  # fmt: skip
    return judged, settings


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    require_extra("report", "python -m lyrics_gpt2.report", "sklearn", "joblib")
    quiet_transformers()
    scored_model = args.model is not None or args.songs is None
    args.model = Path(args.model or DEFAULT_MODEL)
    if args.data_dir is None:
        args.data_dir = data_dir_from_summary(args.model)
    with Problems() as problems:
        need = problems.require
        need(args.num_songs >= 1, f"--num-songs must be >= 1 (got {args.num_songs})")
        need(args.batch_size >= 1, f"--batch-size must be >= 1 (got {args.batch_size})")
        need(args.max_ngrams >= 1, f"--max-ngrams must be >= 1 (got {args.max_ngrams})")
        need(
            not scored_model or (args.model / "config.json").is_file(),
            f"no trained model in {args.model}; pass --model DIR or --songs FILE.jsonl",
        )
        sampling_from(args, args.max_length or DEFAULT_MAX_LENGTH).check(problems)
    t0 = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    folder = claim_folder(
        args.out, "report", flag="--out",
        inputs=[("--songs", args.songs), ("--data-dir", args.data_dir),
                ("--model", args.model if scored_model else None)],
        legacy=lambda real: (real / "report.json").is_file(), known=REPORT_FILES,
    )  # fmt: skip
    if args.songs is not None:
        manifest = read_json(Path(args.data_dir) / "tokenized" / "manifest.json")
        genres = sorted((manifest or {}).get("genre_tokens") or {})
        songs, settings, source = read_songs(args.songs, genres), {}, str(args.songs)
    else:
        songs, settings = generate(args)
        source = f"generated by {args.model}"
    folder.record(f"classifier-{data_digest(args.data_dir)}.joblib")
    ref = build.load_reference(args.data_dir, args.out, args.max_ngrams, log)
    held = [build.Judged(s.genre, s.text) for s in ref.held_out]
    report = {
        "generated_from": source,
        # what the songs are, in every heading: given in a file (--songs) or generated
        "songs_label": "given" if args.songs is not None else "generated",
        "model": str(args.model),
        "data_dir": str(args.data_dir),
        "data_digest": ref.digest,
        "settings": settings,
        "sources": {
            "generated": build.source_figures(ref, songs, args.seed),
            "held_out": build.source_figures(ref, held, args.seed),
        },
        "classifier": build.classifier_figures(ref),
        "index": {"n": build.NGRAM, "ngrams": len(ref.index.keys), "bytes": ref.index.nbytes},
        "most_copied": build.most_copied(ref, songs),
        "examples": [
            {"genre": g, "text": next(s.text for s in songs if s.genre == g)}
            for g in sorted({s.genre for s in songs})
        ],
        "perplexity": None,
        "sections": structure.section_figures([s.sections for s in songs]),
        "controls": structure.control_figures(
            [s.text for s in songs], [s.controls for s in songs], [s.sections for s in songs]
        ),
    }
    if scored_model and not args.no_perplexity:
        from lyrics_gpt2.modeling import base_from_summary
        from lyrics_gpt2.perplexity import evaluate_models

        report["perplexity"] = evaluate_models(
            args.model,
            base_from_summary(args.model),
            args.data_dir,
            n_boot=args.bootstrap,
            device=args.device,
        )
    report["seconds"] = round(time.perf_counter() - t0, 1)
    # The classifier cache stays between runs: a rerun replaces only what it writes again.
    folder.record(*REPORT_FILES[:5])
    pngs = render.plots(
        report,
        {
            "generated": [(s.genre, s.text) for s in songs],
            "held_out": [(s.genre, s.text) for s in held],
        },
        args.out,
    )
    write_json(args.out / "report.json", report)
    with atomic_path(args.out / "report.md") as tmp:
        tmp.write_text(render.markdown(report, pngs), encoding="utf-8")
    print(f"report: {args.out / 'report.md'} ({report['seconds']} s)")
    for line in render.headline(report):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
