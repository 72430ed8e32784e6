"""Piano rolls: notes on a fixed time grid, and MIDI files in and out (mido).

    from lyrics_gpt2.music.roll import notes_to_roll, roll_to_notes, read_midi, write_midi
    roll = notes_to_roll(read_midi("tune.mid"), steps_per_quarter=4, low=36, high=84)
    write_midi(roll_to_notes(roll, 4, 36), "copy.mid")

A roll is a uint8 matrix [frames, pitches]: 1 where the pitch sounds during the frame. A frame is
one step of the grid, counted in quarter notes (beats), never in seconds: tempo is ignored when
reading and a fixed ``bpm`` is written. Grids (``GRIDS``): ``16th`` = 4 frames per quarter note
(the default), ``8th`` = 2 (the Nottingham benchmark's grid), ``quarter`` = 1 (the JSB Chorales
benchmark's grid). Column ``j`` is MIDI pitch ``low + j``.

A tune longer than ``MAX_FRAMES`` frames is refused (:class:`TuneTooLong`) before its roll is
allocated: a 45-byte MIDI file can hold one note lasting 268 million quarter notes.

A note from ``onset`` lasting ``duration`` quarters fills frames ``round(onset * spq)`` to
``round((onset + duration) * spq) - 1`` (at least one frame). Back to notes, each run of on-frames
of a pitch is one note: a plain roll has no onsets, so a pitch struck again without a gap merges
with the note before it (the published benchmarks' rolls have the same limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lyrics_gpt2.errors import UsageError

GRIDS = {"16th": 4, "8th": 2, "quarter": 1}
# The longest tune read, in frames: 16,384 quarter notes on the 16th grid (over two hours at
# 120 bpm; a Bach chorale has ~250 frames), at most 16 MB as a 128-pitch uint8 roll.
MAX_FRAMES = 1 << 16


class TuneTooLong(UsageError):
    """A tune whose roll would exceed :data:`MAX_FRAMES` frames; nothing was allocated."""


def tune_frames(notes: list[Note], steps_per_quarter: int) -> int:
    """The frames a roll of ``notes`` needs (computed without allocating it)."""
    return max(
        (max(round(n.onset * steps_per_quarter) + 1,
             round((n.onset + n.duration) * steps_per_quarter)) for n in notes),
        default=0,
    )  # fmt: skip


def check_length(notes: list[Note], steps_per_quarter: int, what: str) -> None:
    """Raise :class:`TuneTooLong` when ``notes`` need more than MAX_FRAMES frames."""
    frames = tune_frames(notes, steps_per_quarter)
    if frames > MAX_FRAMES:
        raise TuneTooLong(
            f"{what} lasts {frames:,} frames ({frames / steps_per_quarter:,.0f} quarter notes), "
            f"more than the {MAX_FRAMES:,} a tune may have; cut it or leave it out"
        )


@dataclass(frozen=True)
class Note:
    pitch: int  # MIDI number, 60 = middle C
    onset: float  # quarter notes from the start
    duration: float  # quarter notes


def notes_to_roll(notes: list[Note], steps_per_quarter: int, low: int, high: int) -> np.ndarray:
    """[frames, high - low + 1] uint8; notes outside ``low..high`` are left out; a tune over
    MAX_FRAMES frames raises :class:`TuneTooLong` first."""
    check_length(notes, steps_per_quarter, "the tune")
    frames = 0
    spans = []
    for n in notes:
        start = round(n.onset * steps_per_quarter)
        end = max(start + 1, round((n.onset + n.duration) * steps_per_quarter))
        frames = max(frames, end)
        if low <= n.pitch <= high:
            spans.append((n.pitch - low, start, end))
    roll = np.zeros((frames, high - low + 1), dtype=np.uint8)
    for col, start, end in spans:
        roll[start:end, col] = 1
    return roll


def roll_to_notes(roll: np.ndarray, steps_per_quarter: int, low: int) -> list[Note]:
    """Each run of on-frames of a pitch as one note, sorted by onset then pitch."""
    on = np.asarray(roll, dtype=bool)
    padded = np.zeros((on.shape[0] + 2, on.shape[1]), dtype=np.int8)
    padded[1:-1] = on
    edges = np.diff(padded, axis=0)  # +1 where a run starts, -1 one past where it ends
    notes = []
    for col in range(on.shape[1]):
        starts = np.flatnonzero(edges[:, col] == 1)
        ends = np.flatnonzero(edges[:, col] == -1)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            notes.append(Note(low + col, s / steps_per_quarter, (e - s) / steps_per_quarter))
    return sorted(notes, key=lambda n: (n.onset, n.pitch))


def read_midi(path: str | Path) -> tuple[list[Note], float | None]:
    """The notes of every track and channel except drums (channel 10), and the bar length in
    quarter notes from the first time signature (None when the file has none)."""
    import mido

    mid = mido.MidiFile(str(path))
    tpq = mid.ticks_per_beat
    notes: list[Note] = []
    bar = None
    for track in mid.tracks:
        tick = 0
        sounding: dict[tuple[int, int], list[int]] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "time_signature" and bar is None:
                bar = msg.numerator * 4 / msg.denominator
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault(key, []).append(tick)
            elif sounding.get(key):  # note_off, or note_on with velocity 0
                start = sounding[key].pop(0)
                notes.append(Note(msg.note, start / tpq, (tick - start) / tpq))
    return sorted(notes, key=lambda n: (n.onset, n.pitch)), bar


def write_midi(notes: list[Note], dest: str | Path, bpm: float = 100, tpq: int = 480) -> None:
    """One track, piano, at ``bpm`` quarter notes per minute; written atomically."""
    import mido

    from lyrics_gpt2.fileio import atomic_path

    events = []  # (tick, order, message): note-offs (order 0) before note-ons at the same tick
    for n in notes:
        start = round(n.onset * tpq)
        end = max(start + 1, round((n.onset + n.duration) * tpq))
        events.append((start, 1, mido.Message("note_on", note=n.pitch, velocity=80)))
        events.append((end, 0, mido.Message("note_off", note=n.pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))])
    last = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - last))
        last = tick
    mid = mido.MidiFile(ticks_per_beat=tpq)
    mid.tracks.append(track)
    with atomic_path(Path(dest)) as tmp:
        mid.save(str(tmp))


def plot_roll(
    roll: np.ndarray, low: int, steps_per_quarter: int, dest: str | Path, title: str = ""
) -> None:
    """The roll as a PNG: time (quarter notes) across, pitch up, primed frames shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lyrics_gpt2.fileio import atomic_path

    frames, pitches = roll.shape
    fig, ax = plt.subplots(figsize=(min(12, 2 + frames / 24), 3.2))
    ax.imshow(
        roll.T,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        interpolation="nearest",
        extent=(0, frames / steps_per_quarter, low - 0.5, low + pitches - 0.5),
    )
    ax.set_xlabel("quarter notes")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(Path(dest)) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
