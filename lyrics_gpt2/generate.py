"""Write songs with a trained genre-conditioned model, many at a time.

    python -m lyrics_gpt2.generate --genre rap                      # 5 rap songs to stdout
    python -m lyrics_gpt2.generate --genre both --num-songs 20 --format jsonl --output songs.jsonl
    python -m lyrics_gpt2.generate --genre pop --prompt "I walked along the river" --seed 7
    python -m lyrics_gpt2.generate --genre rap --temperature 2.5 --repetition-penalty 0.8  # original
    python -m lyrics_gpt2.generate --genre rap --artist "Kendrick Lamar"   # data with --artist-tokens
    python -m lyrics_gpt2.generate --form "verse chorus verse chorus" --rhyme-scheme AABB \
        --syllables 8 --show-sections            # a model trained on data made with --sections

Song shape (lyrics_gpt2.songcraft.control, docs/generation.md): ``--form`` writes exactly those
sections, ``--repeat-sections copy`` (default) writes a chorus that comes back as the same lines,
``--rhyme-scheme`` and ``--syllables`` steer line ends and lengths on any model.

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
from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.inference.params import (
    DEFAULT_MAX_LENGTH,
    FORM_MAX_LENGTH,
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
    pick_device,
    quiet_transformers,
)
from lyrics_gpt2.songcraft.control import REPEAT_MODES, Controls, model_sections
from lyrics_gpt2.songcraft.forms import FORMS_FILE, load_forms
from lyrics_gpt2.songcraft.rhyme import parse_scheme
from lyrics_gpt2.songcraft.sections import TOKENS, parse_form
from lyrics_gpt2.songcraft.syllables import parse_syllables
from lyrics_gpt2.tokenizer import load_tokenizer


def song_dict(song: Song) -> dict:
    """A song as JSON writes it; ``artist`` only when it was asked for, ``sections`` only for a
    song written with section tokens."""
    out = asdict(song)
    if out["artist"] is None:
        del out["artist"]
    if out["sections"] is None:
        del out["sections"]
    if out["drawn_form"] is None:
        del out["drawn_form"]
    else:
        out["drawn_form"] = list(out["drawn_form"])
    return out


def song_controls(asked: dict, song: Song) -> dict:
    """``{"controls": ...}`` of one song: what the flags asked, with the form drawn for it."""
    if song.drawn_form:
        asked = {**asked, "form": list(song.drawn_form)}
    return {"controls": asked} if asked else {}


def with_labels(song: Song) -> str:
    """The song with a ``[Chorus]``-style line before each section (``--show-sections``)."""
    if not song.sections:
        return song.text
    return "\n\n".join(f"{TOKENS[s['kind']]}\n{s['text']}" for s in song.sections)


def render(songs: list[Song], fmt: str, settings: dict, show_sections: bool = False) -> str:
    # What each song was asked for travels with it, so the report can judge it (controls).
    asked = {k: settings[k] for k in ("form", "rhyme_scheme", "syllables") if settings.get(k)}
    if fmt == "jsonl":
        return "".join(
            json.dumps({**song_dict(s), **song_controls(asked, s)}, ensure_ascii=False) + "\n"
            for s in songs
        )  # fmt: skip
    if fmt == "json":
        payload = {"settings": settings, "songs": [song_dict(s) for s in songs]}
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    blocks = []
    for s in songs:
        end = "" if s.ended else f"  (cut at --max-length {settings['max_length']})"
        who = s.genre if s.artist is None else f"{s.genre}, {s.artist}"
        text = with_labels(s) if show_sections else s.text
        blocks.append(f"=== {who} #{s.index + 1}{end} ===\n{text}\n")
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
        f"model's context is shorter; {FORM_MAX_LENGTH} for songs that follow a form)",
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
    add_song_flags(p)
    add_device_flag(p)
    return p


def add_song_flags(p: ArgumentParser) -> None:
    """Form, repeats, rhyme and syllables (lyrics_gpt2.songcraft.control)."""
    g = p.add_argument_group("song shape")
    g.add_argument(
        "--form",
        default="auto",
        help='sections in order, e.g. "verse chorus verse chorus bridge chorus" (a model '
        "trained on data made with --sections); auto (default): each song's form drawn from the "
        "forms of the model's training songs of its genre (its forms.json), else the model's "
        "own; free: the model's own",
    )
    g.add_argument(
        "--repeat-sections",
        choices=REPEAT_MODES,
        default="copy",
        help="a chorus, hook or refrain seen before: copy = the same lines again, rewrite = "
        "written afresh with the first in context (%(default)s)",
    )
    g.add_argument(
        "--rhyme-scheme",
        default=None,
        help="line ends rhyme as asked per stanza: AABB, ABAB, ABCB, AAAA or one letter per line",
    )
    g.add_argument(
        "--syllables", default=None, help="syllables per line: 8, or one per line: 8,8,6,6"
    )
    g.add_argument(
        "--show-sections", action="store_true", help="print a [Chorus]-style line per section"
    )


FORM_MODES = ("auto", "free")  # --form words that are not a form


def controls_from(args, problems: Problems) -> Controls:
    """The Controls the song flags name; each bad one added to ``problems``."""
    form: list[str] = []
    scheme, syllables = "", []
    if args.form not in FORM_MODES:
        try:
            form = parse_form(args.form)
        except ValueError as exc:
            problems.add(f"--form: {exc}")
    if args.rhyme_scheme is not None:
        try:
            scheme = parse_scheme(args.rhyme_scheme)
        except ValueError as exc:
            problems.add(f"--rhyme-scheme: {exc}")
    if args.syllables is not None:
        try:
            syllables = parse_syllables(args.syllables)
        except ValueError as exc:
            problems.add(f"--syllables: {exc}")
    return Controls(tuple(form), args.repeat_sections, scheme, tuple(syllables))


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
        controls = controls_from(args, problems)
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
    model = load_for_inference(args.model, device)
    prompt_len = len(prompt_ids(tokenizer, 0, args.prompt, None if artist is None else 0))
    context = model_window(model) or 1 << 30
    room = context - prompt_len
    if room < 1:
        raise UsageError(f"--prompt is {prompt_len} tokens; the model sees at most {context}")
    forms = load_forms(args.model) if args.form == "auto" and model_sections(tokenizer) else {}
    # --max-length may exceed the window: the sampler slides it (sampling.window_context).
    shaped = bool(controls.form or forms)
    default_length = FORM_MAX_LENGTH if shaped else min(DEFAULT_MAX_LENGTH, room)
    cfg = sampling_from(args, args.max_length or default_length, shaped)
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
        controls=controls,
        forms=forms,
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
        **(
            {
                "form": list(controls.form),
                "repeat_sections": controls.repeat_sections,
                "rhyme_scheme": controls.rhyme_scheme,
                "syllables": list(controls.syllables),
            }
            if controls.constrains
            else {}
        ),
        **(
            {"forms": f"drawn per song from {args.model / FORMS_FILE}"}
            if forms and not controls.form
            else {}
        ),
    }
    text = render(songs, args.format, settings, args.show_sections)
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
