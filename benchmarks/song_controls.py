"""Songs on request, measured: unconstrained sampling against each control, same model, seeds and
run (targets: requested rhyme pairs >= 97% at <= 2x the time per song; lines within one syllable
>= 90%; choruses after the first equal to it 100%).

    python benchmarks/song_controls.py --model artifacts/model --num-songs 16
    python benchmarks/song_controls.py --model artifacts/model --form "verse chorus verse chorus"

Prints one markdown table: rhyme accuracy on the AABB pairs (judged on every song, so the
unconstrained row is the chance level), lines within one syllable of --syllables, chorus copies,
repeated-line share, seconds per song. Each share carries its 95% Wilson interval.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lyrics_gpt2.genres import model_genres, resolve_genres
from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.inference.params import Sampling
from lyrics_gpt2.inference.sampler import generate_songs
from lyrics_gpt2.modeling import quiet_transformers
from lyrics_gpt2.report.measures import repeated_line_share
from lyrics_gpt2.report.structure import chorus_copies, wilson
from lyrics_gpt2.songcraft.control import Controls, model_sections
from lyrics_gpt2.songcraft.rhyme import scheme_accuracy
from lyrics_gpt2.songcraft.sections import parse_form
from lyrics_gpt2.songcraft.syllables import syllable_accuracy
from lyrics_gpt2.tokenizer import load_tokenizer


def _share(hits: int, n: int) -> str:
    if not n:
        return "-"
    lo, hi = wilson(hits, n)
    return f"{hits / n:.1%} ({hits}/{n}; {lo:.0%}-{hi:.0%})"


def _copies(songs) -> tuple[int, int]:
    return chorus_copies([s.sections for s in songs])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="artifacts/model")
    p.add_argument("--genre", default="both")
    p.add_argument("--num-songs", type=int, default=16, help="per genre")
    p.add_argument("--max-length", type=int, default=400)
    p.add_argument("--scheme", default="AABB")
    p.add_argument("--syllables", type=int, default=8)
    p.add_argument("--form", default="verse chorus verse chorus", help="used when the model has "
                   "section tokens")  # fmt: skip
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2, help="timed passes over the runs, "
                   "interleaved; the median time per song is shown")  # fmt: skip
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    quiet_transformers()
    tok = load_tokenizer(args.model)
    model = load_for_inference(args.model, torch.device("cpu"))
    genres = resolve_genres(args.genre, model_genres(tok))
    cfg = Sampling(max_new_tokens=args.max_length)
    form = tuple(parse_form(args.form)) if model_sections(tok) else ()
    runs = {
        "unconstrained": Controls(),
        f"--rhyme-scheme {args.scheme}": Controls(rhyme_scheme=args.scheme),
        f"--syllables {args.syllables}": Controls(syllables=(args.syllables,)),
        f"--rhyme-scheme {args.scheme} --syllables {args.syllables}": Controls(
            rhyme_scheme=args.scheme, syllables=(args.syllables,)
        ),
    }
    if form:
        runs[f'--form "{args.form}" --rhyme-scheme {args.scheme}'] = Controls(
            form=form, rhyme_scheme=args.scheme
        )
    print(f"model {args.model}, {len(genres)} x {args.num_songs} songs, --max-length "
          f"{args.max_length}, {args.threads} threads, median of {args.repeats} interleaved "
          f"passes after a warm-up\n")  # fmt: skip
    print("| run | rhyme pairs (AABB) | lines within 1 syllable | chorus copies equal | "
          "repeated lines | ended | tokens per song | s per song | ms per token |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    # A warm-up first (the first forward passes allocate and pick kernels), then the runs
    # interleaved --repeats times: one slow moment of a shared machine then hits every run alike.
    warm = Sampling(max_new_tokens=32)
    generate_songs(model, tok, genres, 1, warm, seed=0, controls=Controls(rhyme_scheme="AA"))
    times: dict[str, list[float]] = {name: [] for name in runs}
    results = {}
    for _ in range(args.repeats):
        for name, controls in runs.items():
            t0 = time.perf_counter()
            results[name] = generate_songs(model, tok, genres, args.num_songs, cfg, seed=1,
                                           controls=controls)  # fmt: skip
            times[name].append((time.perf_counter() - t0) / len(results[name]))
    base = statistics.median(times["unconstrained"])
    base_tokens = sum(s.tokens for s in results["unconstrained"]) / len(results["unconstrained"])
    base_per_token = base / base_tokens
    for name, songs in results.items():
        per_song = statistics.median(times[name])
        texts = [s.text for s in songs]
        rhyme = _share(*scheme_accuracy(texts, args.scheme))
        syll = _share(*syllable_accuracy(texts, [args.syllables]))
        copies = _share(*_copies(songs))
        rep = sum(repeated_line_share(t) for t in texts) / len(texts)
        ended = sum(s.ended for s in songs) / len(songs)
        tokens = sum(s.tokens for s in songs) / len(songs)
        per_token = per_song / tokens
        print(f"| {name} | {rhyme} | {syll} | {copies} | {rep:.3f} | {ended:.0%} | {tokens:.0f} | "
              f"{per_song:.2f} ({per_song / base:.2f}x) | {per_token * 1e3:.2f} "
              f"({per_token / base_per_token:.2f}x) |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
