"""Music files as attack surface: a 45-byte MIDI whose one note lasts 268 million quarter notes,
an ABC tune as long, a cut MIDI file, a damaged cache, damaged weights, a resumed finished run.
Each is refused or skipped with a reason (counted, before any roll is allocated), never a
traceback, and one bad file never stops the good ones.

    .venv/bin/python -m pytest tests/hostile/test_music_files.py -q
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import mido
import pytest

from lyrics_gpt2.music import evaluate as music_evaluate
from lyrics_gpt2.music import generate as music_generate
from lyrics_gpt2.music import train as music_train
from lyrics_gpt2.music.corpus import load_rolls
from lyrics_gpt2.music.roll import MAX_FRAMES, Note, write_midi
from lyrics_gpt2.testing import exit_code
from tests.hostile.conftest import one_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = ["--hidden-size", "8", "--layers", "1", "--batch-size", "2", "--bptt", "8"]


def endless_note(path: Path) -> Path:
    """One note whose note-off comes 268,435,455 ticks later, at one tick per quarter note."""
    mid = mido.MidiFile(ticks_per_beat=1)
    track = mido.MidiTrack()
    track.append(mido.Message("note_on", note=60, velocity=64, time=0))
    track.append(mido.Message("note_off", note=60, velocity=0, time=0x0FFFFFFF))
    mid.tracks.append(track)
    mid.save(str(path))
    return path


def good_tune(k: int) -> list[Note]:
    return [Note(60 + (k + i) % 7, i * 0.5, 0.5) for i in range(16)]


@pytest.fixture(scope="module")
def tunes(tmp_path_factory) -> Path:
    """Ten good tunes, the endless note, a long ABC tune and a cut MIDI file."""
    folder = tmp_path_factory.mktemp("tunes")
    for k in range(10):
        write_midi(good_tune(k), folder / f"good-{k}.mid")
    endless_note(folder / "endless.mid")
    (folder / "long.abc").write_text("X:1\nT:long\nM:4/4\nL:1/4\nK:C\nC70000|\n")
    (folder / "cut.mid").write_bytes((folder / "good-0.mid").read_bytes()[:30])
    return folder


def test_the_endless_note_is_a_45_byte_file(tmp_path):
    assert endless_note(tmp_path / "e.mid").stat().st_size <= 45


def test_bad_files_are_skipped_and_counted_before_any_roll_is_allocated(tunes, capsys):
    tracemalloc.start()
    rolls = load_rolls(str(tunes), "16th", progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(rolls) == 10 and all(n.startswith("good-") for n in rolls.names)
    assert peak < 64 << 20, f"{peak / 2**20:.0f} MiB"  # the endless roll alone would be 13 GiB
    err = capsys.readouterr().err
    assert "skipped 3 unreadable or too long" in err


@pytest.mark.parametrize(
    "name, reason",
    [
        ("endless.mid", f"more than the {MAX_FRAMES:,} a tune may have"),
        ("long.abc", "280,000 frames"),
        ("cut.mid", "cannot read MIDI file"),
    ],
)
def test_a_folder_of_only_one_bad_file_says_what_is_wrong(tunes, tmp_path, capsys, name, reason):
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / name).write_bytes((tunes / name).read_bytes())
    out = tmp_path / "out"
    argv = ["--data-dir", str(folder), "--output-dir", str(out), "--cache-dir", str(tmp_path / "c")]
    assert exit_code(music_train.main, [*argv, *SMALL, "--max-steps", "1"]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("error: ") and "holds no tunes with notes (1 skipped" in line, line
    assert reason in line, line
    assert not line.rstrip().endswith(":"), "the reason after the colon is never empty"


@pytest.fixture(scope="module")
def trained(tunes, tmp_path_factory) -> tuple[Path, Path]:
    """(model folder, cache folder): trained on the good tunes despite the bad ones, 2 steps."""
    root = tmp_path_factory.mktemp("music-run")
    out, cache = root / "model", root / "cache"
    argv = ["--data-dir", str(tunes), "--output-dir", str(out), "--cache-dir", str(cache)]
    argv += [*SMALL, "--val-fraction", "0.3", "--max-steps", "2", "--eval-every", "100"]
    assert exit_code(music_train.main, argv) == 0
    return out, cache


def test_one_bad_file_never_stops_the_good_ones(trained):
    summary = json.loads((trained[0] / "summary.json").read_text())
    assert summary["train_tunes"] + summary["val_tunes"] == 10


def test_a_resumed_finished_run_trains_no_step_past_max_steps(trained, tunes, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(trained[0], out)
    argv = ["--data-dir", str(tunes), "--output-dir", str(out), "--cache-dir", str(trained[1])]
    argv += [*SMALL, "--val-fraction", "0.3", "--max-steps", "2", "--eval-every", "100"]
    for _ in range(2):
        assert exit_code(music_train.main, [*argv, "--resume"]) == 0
        assert json.loads((out / "summary.json").read_text())["steps"] == 2
    steps = [json.loads(ln)["step"] for ln in (out / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 2


def test_a_damaged_cache_is_rebuilt(trained, tunes, tmp_path, capsys):
    cache = tmp_path / "cache"
    first = load_rolls(str(tunes), "16th", cache, progress=False)
    (npz,) = cache.glob("*.npz")
    npz.write_bytes(npz.read_bytes()[:100])
    capsys.readouterr()
    again = load_rolls(str(tunes), "16th", cache, progress=False)
    assert again.names == first.names
    assert "is damaged" in capsys.readouterr().err


def test_truncated_music_weights_are_one_line(trained, tmp_path, capsys):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(trained[0], model)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:50])
    assert exit_code(music_evaluate.main, ["--model", str(model)]) == 2
    one_line(capsys.readouterr().err, "cannot load the music model", str(model))


def test_an_endless_prime_tune_is_cut_at_the_prime(trained, tunes, tmp_path, capsys):
    out = tmp_path / "tunes"
    argv = ["--model", str(trained[0]), "--prime-tune", str(tunes / "endless.mid")]
    assert exit_code(music_generate.main, [*argv, "--bars", "1", "--output-dir", str(out)]) == 0
    assert (out / "tune-01.mid").is_file()
