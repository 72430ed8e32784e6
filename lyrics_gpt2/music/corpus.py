"""Tunes into piano rolls: music21's bundled corpus by name, or a folder of .mid / .abc files.

    python -m lyrics_gpt2.music.train --corpus bach ...          # reads through this module
    from lyrics_gpt2.music.corpus import load_rolls, split_tunes
    rolls = load_rolls("bach", grid="16th")                       # cached after the first run
    train_idx, val_idx = split_tunes(rolls.names, 0.1)

Sources (all offline: the corpus ships inside the music21 wheel):

- ``bach``: the four-part chorales of music21's corpus (``bach/bwv*.mxl``, 407 files; the
  Well-Tempered Clavier prelude bwv846 and the Roman-numeral analyses are left out). The JSB
  Chorales benchmark was made from these chorales. Versions of one chorale (``bwv18.5-lz``,
  ``bwv18.5-w``) fall on the same side of the split.
- ``folk``: the Essen folk song collection as music21 bundles it (``essenFolksong/*.abc``, 31
  files holding a few thousand one-voice tunes); each tune of a file is its own tune.
- a folder: every ``.mid``/``.midi`` (read with mido), ``.abc``, ``.xml``/``.mxl``/``.musicxml``
  (music21) file below it, in sorted path order; a tune is named by its path in the folder
  (``#k`` added for the k-th tune of a many-tune ABC file).

The pitch range is the lowest to the highest pitch of all tunes read (so no note is dropped); it
is stored in the model's config and a tune primed later keeps only the notes inside it. Tunes
without notes are skipped. The split is by tune: a tune is validation when the first 8 hex
digits of the SHA-1 of its name, read as a fraction of 2**32, fall below ``val_fraction`` --
the same on every machine and Python (``hash()`` is salted per process). Parsing ~400 chorales
with music21 takes about a minute; the rolls are cached as
``CACHE/{source}-{grid}[-max{N}].npz`` (a folder's key also hashes its file names, sizes and
times), written atomically.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.music.roll import GRIDS, Note, check_length, notes_to_roll, read_midi

CORPORA = ("bach", "folk")
MIDI_SUFFIXES = (".mid", ".midi")
MUSIC21_SUFFIXES = (".abc", ".xml", ".mxl", ".musicxml")


@dataclass
class Rolls:
    """Tunes as one frame matrix: tune i is ``frames[starts[i]:starts[i + 1]]``."""

    frames: np.ndarray  # uint8 [total frames, pitches]
    starts: np.ndarray  # int64 [tunes + 1]
    names: list[str]
    bars: np.ndarray  # float [tunes]: bar length in quarter notes (4.0 when the tune says none)
    low: int
    high: int
    steps_per_quarter: int

    def __len__(self) -> int:
        return len(self.names)

    def tune(self, i: int) -> np.ndarray:
        return self.frames[self.starts[i] : self.starts[i + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def subset(self, idx) -> Rolls:
        parts = [self.tune(i) for i in idx]
        starts = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=starts[1:])
        frames = np.concatenate(parts) if parts else self.frames[:0]
        return Rolls(
            frames, starts, [self.names[i] for i in idx], self.bars[list(idx)], self.low,
            self.high, self.steps_per_quarter,
        )  # fmt: skip


def score_notes(score) -> tuple[list[Note], float | None]:
    """Notes (ties joined) and the bar length of a music21 score."""
    from music21 import harmony

    flat = score.stripTies().flatten()
    notes = []
    for el in flat.notes:
        if isinstance(el, harmony.ChordSymbol) or el.quarterLength <= 0:  # chord names, graces
            continue
        for p in el.pitches:
            notes.append(Note(int(p.midi), float(el.offset), float(el.quarterLength)))
    ts = flat.getElementsByClass("TimeSignature").first()
    bar = float(ts.barDuration.quarterLength) if ts is not None else None
    return sorted(notes, key=lambda n: (n.onset, n.pitch)), bar


def read_tunes(path: Path, name: str) -> list[tuple[str, list[Note], float | None]]:
    """[(name, notes, bar)] of one file: one tune, or several for a many-tune ABC file."""
    if path.suffix.lower() in MIDI_SUFFIXES:
        try:
            notes, bar = read_midi(path)
        except Exception as e:  # mido raises OSError, EOFError, KeyError... for a broken file
            raise UsageError(f"cannot read MIDI file {path}: {reason(e)}") from None
        return [(name, notes, bar)]
    from music21 import converter, stream

    try:
        parsed = converter.parse(str(path))
    except Exception as e:  # music21 raises many kinds for a malformed file
        raise UsageError(f"cannot read {path}: {reason(e)}") from None
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)
        return [(f"{name}#{k}", *score_notes(s)) for k, s in enumerate(scores)]
    return [(name, *score_notes(parsed))]


def reason(exc: BaseException) -> str:
    """What is wrong, never empty: mido's EOFError for a cut file carries no message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not text and isinstance(exc, EOFError):
        text = "the file ends in the middle of a message (cut short?)"
    return f"{type(exc).__name__}: {text}" if text else f"{type(exc).__name__} (not a valid file)"


def corpus_files(source: str) -> list[tuple[str, Path]]:
    """[(name, path)] of a bundled corpus, or of a folder's music files."""
    if source in CORPORA:
        from music21 import corpus

        if source == "bach":
            paths = [
                p
                for p in corpus.getComposer("bach")
                if p.suffix == ".mxl" and re.fullmatch(r"bwv[\d.]+(-\w+)?", p.stem)
                and p.stem != "bwv846"
            ]  # fmt: skip
            return [(f"bach/{p.stem}", p) for p in sorted(paths)]
        paths = [p for p in corpus.getPaths(fileExtensions=("abc",)) if "essenFolksong" in p.parts]
        return [(f"essenFolksong/{p.stem}", p) for p in sorted(paths)]
    folder = Path(source)
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    suffixes = MIDI_SUFFIXES + MUSIC21_SUFFIXES
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise UsageError(f"{folder} holds no .mid, .midi, .abc, .xml, .mxl or .musicxml files")
    return [(str(p.relative_to(folder)), p) for p in files]


def cache_name(source: str, grid: str, max_tunes: int | None) -> str:
    tail = f"-max{max_tunes}" if max_tunes else ""
    if source in CORPORA:
        return f"{source}-{grid}{tail}.npz"
    h = hashlib.sha1(str(Path(source).resolve()).encode())
    for name, p in corpus_files(source):
        st = p.stat()
        h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return f"folder-{h.hexdigest()[:12]}-{grid}{tail}.npz"


def parse_rolls(source: str, grid: str, max_tunes: int | None = None, progress=True) -> Rolls:
    """Read every tune of ``source`` (up to ``max_tunes``) into rolls on ``grid``."""
    from tqdm import tqdm

    spq = GRIDS[grid]
    tunes = []
    skipped: list[str] = []  # one bad file or tune is skipped and counted, never stops the rest
    files = corpus_files(source)
    for name, path in tqdm(files, desc=f"reading {source}", unit="file", disable=not progress,
                           file=sys.stderr, mininterval=5):  # fmt: skip
        try:
            read = [t for t in read_tunes(path, name) if t[1]]
        except UsageError as e:
            skipped.append(str(e))
            continue
        for tune in read:
            try:  # before any roll is allocated
                check_length(tune[1], spq, f"tune {tune[0]}")
            except UsageError as e:
                skipped.append(str(e))
                continue
            tunes.append(tune)
        if max_tunes and len(tunes) >= max_tunes:
            tunes = tunes[:max_tunes]
            break
    if skipped:
        print(f"skipped {len(skipped)} unreadable or too long file(s)/tune(s) of {source}, "
              f"e.g. {skipped[0]}", file=sys.stderr)  # fmt: skip
    if not tunes:
        why = f" ({len(skipped)} skipped, e.g. {skipped[0]})" if skipped else ""
        raise UsageError(f"{source} holds no tunes with notes{why}")
    low = min(n.pitch for _, notes, _ in tunes for n in notes)
    high = max(n.pitch for _, notes, _ in tunes for n in notes)
    parts = [notes_to_roll(notes, spq, low, high) for _, notes, _ in tunes]
    starts = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=starts[1:])
    bars = np.asarray([bar or 4.0 for _, _, bar in tunes], dtype=np.float64)
    return Rolls(np.concatenate(parts), starts, [t[0] for t in tunes], bars, low, high, spq)


def load_rolls(
    source: str,
    grid: str = "16th",
    cache_dir: str | Path | None = None,
    max_tunes: int | None = None,
    progress: bool = True,
) -> Rolls:
    """:func:`parse_rolls`, through the cache in ``cache_dir`` when one is given."""
    if grid not in GRIDS:
        raise UsageError(f"unknown grid {grid!r}; choose one of {', '.join(GRIDS)}")
    if cache_dir is None:
        return parse_rolls(source, grid, max_tunes, progress)
    path = Path(cache_dir) / cache_name(source, grid, max_tunes)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return Rolls(
                    z["frames"], z["starts"], z["names"].tolist(), z["bars"], int(z["low"]),
                    int(z["high"]), int(z["spq"]),
                )  # fmt: skip
        except Exception as e:  # a cut or foreign .npz: zipfile, numpy and KeyError kinds
            # The cache is ours and derived: rebuilt, not a reason to stop.
            print(
                f"the cache {path} is damaged ({type(e).__name__}); rebuilding it", file=sys.stderr
            )
    rolls = parse_rolls(source, grid, max_tunes, progress)
    from lyrics_gpt2.fileio import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(
            f, frames=rolls.frames, starts=rolls.starts, names=np.asarray(rolls.names),
            bars=rolls.bars, low=rolls.low, high=rolls.high, spq=rolls.steps_per_quarter,
        )  # fmt: skip
    print(f"cached {len(rolls)} tunes in {path}", file=sys.stderr)
    return rolls


def is_validation(name: str, val_fraction: float) -> bool:
    if name.startswith("bach/"):  # a chorale's versions (bwv18.5-lz, bwv18.5-w) stay together
        name = name.split("-")[0]
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) / 2**32 < val_fraction


def split_tunes(names: list[str], val_fraction: float) -> tuple[list[int], list[int]]:
    """(training indices, validation indices), by a stable hash of each tune's name."""
    val = [i for i, n in enumerate(names) if is_validation(n, val_fraction)]
    chosen = set(val)
    return [i for i in range(len(names)) if i not in chosen], val


def read_split(source: str, grid: str, cache_dir, max_tunes, val_fraction: float):
    """(all rolls, training rolls, validation rolls) of a source."""
    rolls = load_rolls(source, grid, cache_dir, max_tunes)
    train_idx, val_idx = split_tunes(rolls.names, val_fraction)
    if not train_idx or not val_idx:
        raise UsageError(
            f"{len(rolls)} tunes gave {len(train_idx)} for training and {len(val_idx)} for "
            "validation; add tunes or change --val-fraction"
        )
    return rolls, rolls.subset(train_idx), rolls.subset(val_idx)


def tunes_of_run(summary: dict, low: int, high: int) -> tuple[Rolls, Rolls]:
    """The training and validation tunes of a model (pitches ``low..high``), from its
    summary.json: the same source, grid, cache and split as its training run."""
    a = summary["args"]
    _, train, val = read_split(a["source"], a["grid"], a["cache_dir"], a["max_tunes"],
                               a["val_fraction"])  # fmt: skip
    if (train.low, train.high) != (low, high):
        raise UsageError(
            f"the tunes of {a['source']} now span pitches {train.low}..{train.high}, the model "
            f"{low}..{high}; they changed since training"
        )
    return train, val
