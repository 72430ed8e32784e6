"""Pick generate's sampling defaults with the evaluation report (lyrics_gpt2.report).

    python benchmarks/sampling_sweep.py                               # artifacts/model, artifacts/data
    python benchmarks/sampling_sweep.py --model M --data-dir D --songs 32 --best-of 4
    python benchmarks/sampling_sweep.py --max-length 1024       # room for a real song's length

For each setting it samples ``--songs`` songs per genre, scores them with the report's metrics
(lyrics_gpt2.report.build.source_figures) and prints a markdown table beside the held-out
songs' figures. ``distance`` is the mean relative gap to the held-out songs over what songs look
like (DISTANCE_KEYS: words and lines per song, repeated lines, rhyme density, distinct-1/2),
averaged over genres; the recommended setting is the closest one. The share of songs that end
before ``--max-length`` is reported, not a gate: a gate at 90% rewarded short songs and picked a
penalty on every seen token, which forbids every chorus. Real songs are ~450 (pop) to ~950 (rap)
GPT-2 tokens, so ``--max-length`` defaults to 1024 (the sampler slides past the model's window).
The original notebooks' temperature 2.5 with penalty 0.8 on every token is in the grid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.inference.params import Sampling
from lyrics_gpt2.inference.sampler import generate_songs
from lyrics_gpt2.modeling import quiet_transformers
from lyrics_gpt2.report.build import Judged, best_of, load_reference, source_figures
from lyrics_gpt2.report.measures import SHAPE_ROWS
from lyrics_gpt2.songcraft.control import model_sections
from lyrics_gpt2.songcraft.forms import load_forms
from lyrics_gpt2.tokenizer import load_tokenizer

ALL = ()  # penalty on every seen token: transformers', the notebooks' and generate's default
STRUCT = (
    None  # line breaks, punctuation, genre and special tokens exempt (--penalty-exempt structure)
)
GRID = [
    ("original T2.5 r0.8 (all tokens)", Sampling(2**9, 2.5, 0, 1.0, 0.8, penalty_exempt=ALL)),
    ("T0.9 k50 p.95 r1.1 (all tokens; default)", Sampling(2**9, 0.9, 50, 0.95, 1.1)),
    ("T0.7 k50 p.95 r1.0", Sampling(2**9, 0.7, 50, 0.95, 1.0)),
    ("T0.9 k50 p.95 r1.0", Sampling(2**9, 0.9, 50, 0.95, 1.0)),
    ("T1.0 k0 p.95 r1.0", Sampling(2**9, 1.0, 0, 0.95, 1.0)),
    ("T0.9 k50 p.95 r1.1 (structure)", Sampling(2**9, 0.9, 50, 0.95, 1.1, penalty_exempt=STRUCT)),
    ("T0.8 k50 p.95 r1.1 (structure)", Sampling(2**9, 0.8, 50, 0.95, 1.1, penalty_exempt=STRUCT)),
    (
        "T0.9 k50 p.95 r1.2 w64 (structure)",
        Sampling(2**9, 0.9, 50, 0.95, 1.2, penalty_window=64, penalty_exempt=STRUCT),
    ),
    (
        "T1.0 k50 p.95 r1.1 w64 (structure)",
        Sampling(2**9, 1.0, 50, 0.95, 1.1, penalty_window=64, penalty_exempt=STRUCT),
    ),
]
DISTANCE_KEYS = SHAPE_ROWS
TARGET_KEYS = ("repeated_line_share", "words_per_song")
SHOWN = ("fidelity", "repeated_line_share", "words_per_song", "lines_per_song")
SHOWN += ("rhyme_density", "distinct_2", "ended_share")


def distance(gen: dict, held: dict) -> float:
    gaps = [
        abs(gen[g][k] - held[g][k]) / max(abs(held[g][k]), 1e-3) for g in gen for k in DISTANCE_KEYS
    ]
    return float(np.mean(gaps))


def mean_over_genres(fig: dict, key: str) -> float:
    vals = [f[key] for f in fig.values() if key in f]
    return float(np.mean(vals)) if vals else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("artifacts/model"))
    p.add_argument("--data-dir", type=Path, default=Path("artifacts/data"))
    p.add_argument("--report-dir", type=Path, default=Path("artifacts/report"))
    p.add_argument("--songs", type=int, default=32, help="songs per genre and setting")
    p.add_argument("--best-of", type=int, default=0, help="also run the pick with best-of N")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--max-length", type=int, default=1024, help="new tokens per song at most")
    p.add_argument("--only", nargs="*", default=None, help="run only the grid rows whose names "
                   "start with these (a shorter sweep)")  # fmt: skip
    p.add_argument("--forms", choices=("both", "drawn", "free"), default="both",
                   help="songs with forms drawn from the model's forms.json (generate's --form "
                   "auto), the model's own form (--form free), or each setting both ways")  # fmt: skip
    args = p.parse_args()
    quiet_transformers()
    ref = load_reference(args.data_dir, args.report_dir)
    tok, model = load_tokenizer(args.model), load_for_inference(args.model)
    genres = sorted({s.genre for s in ref.held_out})
    held = source_figures(ref, [Judged(s.genre, s.text) for s in ref.held_out], args.seed)
    max_new = args.max_length
    rows = []

    forms = load_forms(args.model) if model_sections(tok) else {}
    ways = {"both": (False, True), "drawn": (True,), "free": (False,)}[args.forms]
    ways = ways if forms else (False,)

    def run(name: str, cfg: Sampling, n_best: int = 1, drawn: bool = False) -> None:
        cfg = Sampling(**{**cfg.__dict__, "max_new_tokens": max_new})
        songs = generate_songs(model, tok, genres, args.songs * n_best, cfg, seed=args.seed,
                               forms=forms if drawn else None)  # fmt: skip
        if n_best > 1:
            picked = []
            for g in genres:
                mine = [s for s in songs if s.genre == g]
                for k in range(args.songs):
                    group = mine[k * n_best : (k + 1) * n_best]
                    picked.append(
                        group[best_of(ref.classifier, ref.index, [s.text for s in group], g)]
                    )
            songs = picked
        fig = source_figures(ref, [Judged(s.genre, s.text, s.ended) for s in songs], args.seed)
        rows.append((name, distance(fig, held), fig))
        print(f"{name}: distance {rows[-1][1]:.3f}", file=sys.stderr, flush=True)

    for name, cfg in GRID:
        if args.only is None or any(name.startswith(o) for o in args.only):
            for drawn in ways:
                run(name + (", drawn forms" if drawn else ""), cfg, drawn=drawn)
    pick = min(rows, key=lambda r: r[1])
    if args.best_of > 1:
        base = pick[0].removesuffix(", drawn forms")
        drawn = pick[0] != base
        run(f"{pick[0]} best-of {args.best_of}", dict(GRID)[base], args.best_of, drawn)
    print("| setting | distance | " + " | ".join(SHOWN) + " |")
    print("| --- | ---: |" + " ---: |" * len(SHOWN))
    print(
        "| held-out songs | 0 | "
        + " | ".join(f"{mean_over_genres(held, k):.3f}" for k in SHOWN)
        + " |"
    )
    for name, dist, fig in rows:
        mark = " **(chosen)**" if name == pick[0] else ""
        cells = " | ".join(f"{mean_over_genres(fig, k):.3f}" for k in SHOWN)
        print(f"| {name}{mark} | {dist:.3f} | {cells} |")
    print(f"\nchosen: {pick[0]} ({args.songs} songs per genre, max {max_new} new tokens)")
    # The per-genre target: repeated-line share and words per song within 30% of held-out songs.
    print("\n| setting | " + " | ".join(f"{g} {k}" for g in genres for k in TARGET_KEYS) + " |")
    print("| --- |" + " ---: |" * (len(genres) * len(TARGET_KEYS)))
    for name, _, fig in rows:
        cells = [f"{fig[g][k]:.3f} ({fig[g][k] / held[g][k] - 1:+.0%})"
                 for g in genres for k in TARGET_KEYS]  # fmt: skip
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(
        "| held-out songs | "
        + " | ".join(f"{held[g][k]:.3f}" for g in genres for k in TARGET_KEYS)
        + " |"
    )


if __name__ == "__main__":
    main()
