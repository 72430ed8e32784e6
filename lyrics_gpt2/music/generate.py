"""Write new tunes with a trained music model: MIDI files and a piano-roll PNG per tune.

    python -m lyrics_gpt2.music.generate --model artifacts/music/bach --output-dir artifacts/music/tunes
    python -m lyrics_gpt2.music.generate --model artifacts/music/bach --prime-tune bach/bwv66.6 \\
        --prime-bars 2 --bars 8 --temperature 0.8 --num-tunes 3 --seed 7 --output-dir artifacts/music/tunes
    python -m lyrics_gpt2.music.generate ... --prime-tune my_tune.mid      # prime with a file

Each frame's pitches are drawn as independent Bernoulli variables with p = sigmoid(logit / T)
(``--temperature`` T); T = 0 switches each pitch on exactly when its logit is above 0
(probability above 0.5), which is deterministic. ``--prime-tune`` (a music21 corpus name such
as ``bach/bwv66.6`` or a .mid/.abc file) feeds the first ``--prime-bars`` bars of that tune
(its time signature, else 4/4; notes outside the model's pitch range are dropped, and said) and
the model continues for ``--bars`` bars. ``--meter`` sets the bar length in quarter notes (the
prime's, else 4): the bars' length, and what a meter-conditioned model is told. The same
``--seed`` gives the same tunes.

Writes ``tune-NN.mid`` (one piano track at ``--bpm``) and ``tune-NN.png`` per tune, and
``tunes.json`` with the settings and each tune's note check. The check says clearly when a tune
is silent (no note at all) or presses nearly all keys (on average more than half of the pitch
range in a sounding frame): signs of a model that has not learned or a temperature that is off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems, UsageError, require_extra
from lyrics_gpt2.fileio import claim_folder, write_json
from lyrics_gpt2.music.roll import Note, notes_to_roll, plot_roll, roll_to_notes, write_midi


@torch.no_grad()
def sample_tunes(
    model,
    num_tunes: int,
    frames: int,
    temperature: float,
    seed: int,
    prime: np.ndarray | None = None,
    bar: float = 4.0,
) -> np.ndarray:
    """[num_tunes, primed + frames, pitches] uint8: the prime (if any) and what follows.
    ``bar`` (quarter notes) is the meter a meter-conditioned model is given."""
    model.eval()
    device = next(model.parameters()).device
    P = model.config.pitches
    cond = torch.full((num_tunes,), model.config.meter_index(float(bar)), device=device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    state = model.init_state(num_tunes, device)
    prime = np.zeros((0, P), dtype=np.uint8) if prime is None else prime
    out = [torch.from_numpy(prime.astype(np.float32))[None].expand(num_tunes, -1, -1)]
    x = torch.zeros(num_tunes, 1, P, device=device)  # silence before the first frame
    if len(prime):
        inputs = torch.cat([x, out[0][:, :-1].to(device)], dim=1)
        _, state = model(inputs, state, cond)
        x = out[0][:, -1:].to(device)
    for _ in range(frames):
        logits, state = model(x, state, cond)
        z = logits[:, -1].float().cpu()
        if temperature == 0:
            frame = (z > 0).float()
        else:
            frame = torch.bernoulli(torch.sigmoid(z / temperature), generator=gen)
        out.append(frame[:, None])
        x = frame[:, None].to(device)
    return torch.cat(out, dim=1).numpy().astype(np.uint8)


def check_tune(roll: np.ndarray, low: int) -> dict:
    """Note count, range, keys per sounding frame, and a warning when it is silent or dense."""
    P = roll.shape[1]
    notes = roll_to_notes(roll, 1, low)
    keys = roll.sum(axis=1)
    sounding = keys > 0
    check = {
        "notes": len(notes),
        "lowest": min((n.pitch for n in notes), default=None),
        "highest": max((n.pitch for n in notes), default=None),
        "keys_per_sounding_frame": float(keys[sounding].mean()) if sounding.any() else 0.0,
        "silent_frames": float(1 - sounding.mean()) if len(roll) else 1.0,
        "warning": None,
    }
    if not notes:
        check["warning"] = "SILENT: the tune has no notes"
    elif check["keys_per_sounding_frame"] > P / 2:
        check["warning"] = (
            f"PRESSES NEARLY ALL KEYS: {check['keys_per_sounding_frame']:.0f} of {P} pitches "
            "per sounding frame"
        )
    return check


def read_prime(name: str, spq: int, low: int, high: int, bars: float):
    """(prime roll, bar length, notes dropped as out of range) of a file or a corpus tune."""
    from lyrics_gpt2.music.corpus import read_tunes, score_notes

    path = Path(name)
    if path.is_file():
        tunes = [t for t in read_tunes(path, name) if t[1]]
        if not tunes:
            raise UsageError(f"--prime-tune {name} holds no notes")
        _, notes, bar = tunes[0]
    else:
        from music21 import corpus

        try:
            score = corpus.parse(name)
        except Exception:  # music21 raises its own kinds for a missing work
            raise UsageError(
                f"--prime-tune {name!r} is neither a file nor a tune of music21's corpus "
                "(e.g. bach/bwv66.6)"
            ) from None
        notes, bar = score_notes(score)
    bar = bar or 4.0
    end = bars * bar
    # Cut at the prime's end: a note lasting for ever must not make the roll that long.
    kept = [Note(n.pitch, n.onset, min(n.duration, end - n.onset)) for n in notes if n.onset < end]
    dropped = sum(not low <= n.pitch <= high for n in kept)
    roll = notes_to_roll(kept, spq, low, high)[: round(end * spq)]
    return roll, bar, dropped


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.music.generate", description=__doc__.split("\n")[0]
    )
    a = p.add_argument
    a("--model", type=Path, required=True, help="a folder written by music.train")
    a("--output-dir", type=Path, required=True, help="where the .mid and .png files go")
    a("--prime-tune", default=None, help="a corpus name (bach/bwv66.6) or a .mid/.abc file")
    a("--prime-bars", type=float, default=2, help="bars of the prime tune fed first (%(default)s)")
    a("--bars", type=float, default=8, help="bars to generate after the prime (%(default)s)")
    a("--temperature", type=float, default=1.0, help="0 = threshold at 0.5 (%(default)s)")
    a("--num-tunes", type=int, default=1, help="(%(default)s)")
    a("--seed", type=int, default=0, help="(%(default)s)")
    a("--bpm", type=float, default=100, help="quarter notes per minute in the MIDI (%(default)s)")
    a("--meter", type=float, default=None, help="bar length in quarter notes (3 = 3/4); "
      "default: the prime tune's, else 4")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from lyrics_gpt2.music.model import load_music

    args = build_parser().parse_args(argv)
    require_extra("music", "python -m lyrics_gpt2.music.generate", "music21", "mido")
    with Problems() as problems:
        problems.require(
            args.temperature >= 0, f"--temperature must be >= 0 (got {args.temperature})"
        )
        problems.require(args.num_tunes >= 1, f"--num-tunes must be >= 1 (got {args.num_tunes})")
        problems.require(args.bars > 0, f"--bars must be > 0 (got {args.bars})")
        problems.require(args.prime_bars > 0, f"--prime-bars must be > 0 (got {args.prime_bars})")
        problems.require(args.bpm > 0, f"--bpm must be > 0 (got {args.bpm})")
        if args.meter is not None:
            problems.require(args.meter > 0, f"--meter must be > 0 (got {args.meter})")
    prime_file = args.prime_tune if args.prime_tune and os.path.lexists(args.prime_tune) else None
    folder = claim_folder(
        args.output_dir, "music.generate",
        inputs=[("--model", args.model), ("--prime-tune", prime_file)],
        legacy=lambda real: (real / "tunes.json").is_file(),
        known=("tune-*.mid", "tune-*.png", "tunes.json"),
    )  # fmt: skip
    model = load_music(args.model)
    c = model.config
    prime, bar = None, 4.0
    if args.prime_tune is not None:
        prime, bar, dropped = read_prime(args.prime_tune, c.steps_per_quarter, c.low, c.high,
                                         args.prime_bars)  # fmt: skip
        if dropped:
            print(
                f"prime: {dropped} notes outside pitches {c.low}..{c.high} left out",
                file=sys.stderr,
            )
    bar = args.meter or bar
    if c.meters and bar not in c.meters:
        print(f"the model saw no bar of {bar:g} quarter notes (it knows {c.meters}); it is "
              "given its 'other meter' slot", file=sys.stderr)  # fmt: skip
    frames = round(args.bars * bar * c.steps_per_quarter)
    rolls = sample_tunes(model, args.num_tunes, frames, args.temperature, args.seed, prime, bar)
    folder.clear()  # an earlier run's tunes (only what it listed): never a mix of two runs
    stems = [f"tune-{k:02d}" for k in range(1, len(rolls) + 1)]
    folder.record(*(s + x for s in stems for x in (".mid", ".png")), "tunes.json")
    primed = 0 if prime is None else len(prime)
    report = []
    for k, roll in enumerate(rolls, 1):
        stem = args.output_dir / f"tune-{k:02d}"
        write_midi(
            roll_to_notes(roll, c.steps_per_quarter, c.low), stem.with_suffix(".mid"), args.bpm
        )
        title = f"tune {k}, temperature {args.temperature}, seed {args.seed}"
        if primed:
            title += f", first {primed / c.steps_per_quarter:g} quarters from {args.prime_tune}"
        plot_roll(roll, c.low, c.steps_per_quarter, stem.with_suffix(".png"), title)
        check = check_tune(roll[primed:], c.low)
        report.append({"midi": str(stem.with_suffix(".mid")), **check})
        line = (
            f"tune {k}: {check['notes']} notes generated, pitches {check['lowest']}..{check['highest']}, "
            f"{check['keys_per_sounding_frame']:.1f} keys per sounding frame, "
            f"{check['silent_frames']:.0%} silent frames -> {stem}.mid, {stem}.png"
        )
        print(line + (f"  WARNING {check['warning']}" if check["warning"] else ""))
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    write_json(args.output_dir / "tunes.json", {"settings": settings, "tunes": report})
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
