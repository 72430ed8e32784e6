"""The music path on tiny generated tunes: rolls, MIDI, loss, sampling, evaluation, commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lyrics_gpt2.cli import run
from lyrics_gpt2.music import evaluate, generate, train
from lyrics_gpt2.music.corpus import load_rolls, split_tunes
from lyrics_gpt2.music.model import MusicConfig, RollLSTM, RollPlan, load_music
from lyrics_gpt2.music.roll import Note, notes_to_roll, read_midi, roll_to_notes, write_midi

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = ["--hidden-size", "16", "--layers", "1", "--batch-size", "4", "--bptt", "16"]
ABC = """X:1
T:Tiny
M:4/4
L:1/8
K:C
CDEF GABc|c2B2 A2G2|
"""


def chorale(seed: int, bars: int = 4) -> list[Note]:
    """Three voices moving by small steps on quarter and eighth notes."""
    rng = np.random.default_rng(seed)
    notes, voices = [], [48, 55, 64]
    for v, start in enumerate(voices):
        pitch, t = start, 0.0
        while t < 4 * bars:
            d = float(rng.choice([0.5, 1.0, 1.0, 2.0]))
            notes.append(Note(int(pitch), t, min(d, 4 * bars - t)))
            pitch += int(rng.integers(-2, 3))
            t += d
        del v
    return sorted(notes, key=lambda n: (n.onset, n.pitch))


@pytest.fixture(scope="module")
def tunes_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tunes")
    for k in range(10):
        write_midi(chorale(k), folder / f"tune-{k}.mid")
    (folder / "folk").mkdir()
    (folder / "folk" / "tiny.abc").write_text(ABC)
    return folder


@pytest.fixture(scope="module")
def model_dir(tunes_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("music-model")
    cache = tmp_path_factory.mktemp("cache")
    argv = ["--data-dir", str(tunes_dir), "--output-dir", str(out), "--cache-dir", str(cache)]
    argv += [*SMALL, "--val-fraction", "0.3", "--max-steps", "30", "--eval-every", "10"]
    assert train.main([*argv, "--lr", "0.01"]) == 0
    return out


def train_losses(out):
    records = map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
    return [r["loss"] for r in records if r["kind"] == "train"]


# ---- rolls and MIDI ----
def test_midi_roll_midi_round_trip_keeps_notes_on_the_grid(tmp_path):
    notes = [Note(60, 0.0, 1.0), Note(64, 0.0, 0.5), Note(67, 0.25, 1.75), Note(62, 2.5, 0.25)]
    write_midi(notes, tmp_path / "a.mid")
    read, bar = read_midi(tmp_path / "a.mid")
    assert read == sorted(notes, key=lambda n: (n.onset, n.pitch)) and bar is None
    roll = notes_to_roll(read, 4, 55, 70)
    assert roll.shape == (11, 16) and roll.sum() == 4 + 2 + 7 + 1
    write_midi(roll_to_notes(roll, 4, 55), tmp_path / "b.mid")
    assert read_midi(tmp_path / "b.mid")[0] == read
    # off the grid: onsets and ends snap to the nearest sixteenth; out of range is left out
    off = notes_to_roll([Note(60, 0.3, 0.45), Note(90, 0.0, 1.0)], 4, 55, 70)
    assert roll_to_notes(off, 4, 55) == [Note(60, 0.25, 0.5)]
    # an eighth-note grid halves the frames
    assert notes_to_roll(read, 2, 55, 70).shape[0] == 6


def test_a_folder_of_midi_and_abc_becomes_cached_rolls_with_a_stable_split(
    tunes_dir, tmp_path, monkeypatch
):
    rolls = load_rolls(str(tunes_dir), "16th", tmp_path, progress=False)
    assert len(rolls) == 11 and rolls.names[0] == "folk/tiny.abc"
    # the ABC tune: C D E F G A B c as eighths (2 frames each), then c2 B2 A2 G2
    abc = rolls.tune(0)
    assert len(abc) == 32 and abc.sum(axis=1).max() == 1
    assert roll_to_notes(abc, 4, rolls.low)[:2] == [Note(60, 0.0, 0.5), Note(62, 0.5, 0.5)]
    assert rolls.low == min(min(n.pitch for n in chorale(k)) for k in range(10))
    # the second load comes from the cache, without parsing a file
    monkeypatch.setattr("lyrics_gpt2.music.corpus.parse_rolls", lambda *a: 1 / 0)
    again = load_rolls(str(tunes_dir), "16th", tmp_path, progress=False)
    assert again.names == rolls.names and np.array_equal(again.frames, rolls.frames)
    train_idx, val_idx = split_tunes(rolls.names, 0.3)
    assert sorted(train_idx + val_idx) == list(range(11)) and val_idx
    # SHA-1 of the name, not Python's salted hash(): fixed values on every machine
    names = ["bach/bwv66.6", "a", "b", "c", "d", "e", "f"]
    assert split_tunes(names, 0.5) == ([0, 1, 2, 3], [4, 5, 6])
    # versions of one chorale share a side (hashed alone, these three would not)
    assert split_tunes(["bach/bwv18.5-lz", "bach/bwv18.5-w", "bach/bwv18.5"], 0.5)[1] == [0, 1, 2]


def test_windows_feed_the_previous_frame_and_reset_at_tune_starts(tunes_dir, tmp_path):
    rolls = load_rolls(str(tunes_dir), "16th", tmp_path, progress=False).subset([1, 2])
    plan = RollPlan(rolls, batch=1, bptt=16, seed=0, epoch=0)
    tune0, tune1 = int(plan.song[0, 0]), int(plan.song[0, len(plan) - 1])
    x, y, valid, reset, _ = plan.roll_window(0)
    frames = rolls.tune(tune0)
    assert reset[0] and valid.all() and not x[0, 0].any()
    assert np.array_equal(y[0], frames[:16]) and np.array_equal(x[0, 1:], frames[:15])
    x, y, _, reset, _ = plan.roll_window(1)
    assert not reset[0] and np.array_equal(x[0], frames[15:31])
    assert tune1 != tune0 and len(plan) == sum(-(-n // 16) for n in rolls.lengths())


# ---- model, loss, training ----
def test_the_loss_is_bce_summed_over_pitches_averaged_over_frames():
    torch.manual_seed(0)
    model = RollLSTM(MusicConfig(60, 63, 4, hidden_size=8, layers=1, dropout=0.0))
    x = torch.bernoulli(torch.full((2, 5, 4), 0.5))
    y = torch.bernoulli(torch.full((2, 5, 4), 0.5))
    valid = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    total, _ = model.window_nll(x, y, valid, model.init_state(2))
    logits, _ = model(x, model.init_state(2))
    p = torch.sigmoid(logits)
    by_hand = -(y * p.log() + (1 - y) * (1 - p).log()).sum(-1)[valid].sum()
    assert total.item() == pytest.approx(by_hand.item(), rel=1e-5)


def test_training_lowers_the_loss_and_resume_reproduces_it(model_dir, tunes_dir, tmp_path):
    losses = train_losses(model_dir)
    assert len(losses) == 30 and np.mean(losses[-10:]) < 0.9 * np.mean(losses[:5])
    summary = json.loads((model_dir / "summary.json").read_text())
    records = map(json.loads, (model_dir / "metrics.jsonl").read_text().splitlines())
    val = [r["val_nll"] for r in records if r["kind"] == "val"]
    assert len(val) == 4 and val[-1] < 0.9 * val[0]  # from the repeat-like start, 10% better
    assert [r["name"] for r in summary["evaluation"]][1:] == [
        "repeat previous frame (eps 0.01)",
        "pitch frequency (train)",
    ]
    assert summary["best_val_nll"] == pytest.approx(summary["evaluation"][0]["nll"])
    for name in ("config.json", "model.safetensors", "loss.png", "summary.json"):
        assert (model_dir / name).is_file(), name
    model = load_music(model_dir)
    assert model.config.low <= 45 and not model.training
    # the shared loop: a run stopped and resumed takes the same steps as one run
    argv = ["--data-dir", str(tunes_dir), "--cache-dir", str(tmp_path / "c"), *SMALL]
    argv += ["--val-fraction", "0.3", "--eval-every", "3", "--checkpoint-every", "3"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert train.main([*argv, "--output-dir", str(whole), "--max-steps", "6"]) == 0
    assert train.main([*argv, "--output-dir", str(split), "--max-steps", "3"]) == 0
    assert train.main([*argv, "--output-dir", str(split), "--max-steps", "6", "--resume"]) == 0
    assert train_losses(whole) == train_losses(split)


def test_meter_conditioning_reads_each_tunes_bar_length(tunes_dir, tmp_path, capsys):
    out = tmp_path / "meter"
    argv = ["--data-dir", str(tunes_dir), "--output-dir", str(out), *SMALL, "--max-steps", "2"]
    argv += ["--cache-dir", str(tmp_path / "c"), "--val-fraction", "0.3", "--condition", "meter"]
    assert train.main(argv) == 0
    model = load_music(out)
    # the MIDI tunes carry no time signature (4 quarters assumed), the ABC tune says M:4/4
    assert model.config.meters == [4.0] and model.config.cond_size == 2
    assert model.config.meter_index(4.0) == 0 and model.config.meter_index(3.0) == 1
    x = torch.bernoulli(torch.full((2, 6, model.config.pitches), 0.3))
    a, _ = model(x, model.init_state(2), torch.tensor([0, 0]))
    b, _ = model(x, model.init_state(2), torch.tensor([0, 1]))
    assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["evaluation"][0]["name"] == "music-lstm | meter"
    gen = ["--model", str(out), "--output-dir", str(tmp_path / "t"), "--bars", "1"]
    assert generate.main([*gen, "--meter", "3"]) == 0
    assert "saw no bar of 3 quarter notes" in capsys.readouterr().err
    notes, _ = read_midi(tmp_path / "t" / "tune-01.mid")
    assert notes and max(n.onset + n.duration for n in notes) <= 3.0  # one bar of 3/4


# ---- sampling and written tunes ----
def test_temperature_zero_is_deterministic_and_seeds_repeat(model_dir, tunes_dir):
    model = load_music(model_dir)
    a = generate.sample_tunes(model, 2, 32, 0.0, seed=1)
    b = generate.sample_tunes(model, 2, 32, 0.0, seed=2)
    assert np.array_equal(a, b) and np.array_equal(a[0], a[1])
    c = generate.sample_tunes(model, 2, 32, 1.0, seed=3)
    d = generate.sample_tunes(model, 2, 32, 1.0, seed=3)
    e = generate.sample_tunes(model, 2, 32, 1.0, seed=4)
    assert np.array_equal(c, d) and not np.array_equal(c, e)
    prime = load_rolls(str(tunes_dir), "16th", None, progress=False).tune(3)[:16]
    primed = generate.sample_tunes(model, 1, 8, 1.0, seed=0, prime=prime)
    assert primed.shape == (1, 24, model.config.pitches) and np.array_equal(primed[0, :16], prime)


def test_generate_writes_midi_that_loads_back_with_the_same_notes(model_dir, tunes_dir, tmp_path):
    out = tmp_path / "tunes"
    argv = ["--model", str(model_dir), "--output-dir", str(out), "--num-tunes", "2"]
    argv += ["--prime-tune", str(tunes_dir / "tune-4.mid"), "--prime-bars", "1", "--bars", "2"]
    assert generate.main([*argv, "--seed", "5"]) == 0
    config = load_music(model_dir).config
    report = json.loads((out / "tunes.json").read_text())
    assert len(report["tunes"]) == 2 and (out / "tune-01.png").is_file()
    rolls = generate.sample_tunes(
        load_music(model_dir), 2, 32, 1.0, 5,
        generate.read_prime(str(tunes_dir / "tune-4.mid"), 4, config.low, config.high, 1)[0],
    )  # fmt: skip
    for k, roll in enumerate(rolls, 1):
        notes, _ = read_midi(out / f"tune-{k:02d}.mid")
        assert notes == roll_to_notes(roll, 4, config.low)
        back = notes_to_roll(notes, 4, config.low, config.high)
        assert np.array_equal(back, roll[: len(back)]) and not roll[len(back) :].any()


def test_the_note_check_names_silent_and_crowded_tunes():
    assert generate.check_tune(np.zeros((8, 10), np.uint8), 60)["warning"].startswith("SILENT")
    full = generate.check_tune(np.ones((8, 10), np.uint8), 60)
    assert full["warning"].startswith("PRESSES NEARLY ALL KEYS") and full["notes"] == 10
    ok = np.zeros((8, 10), np.uint8)
    ok[:, [2, 5]] = 1
    check = generate.check_tune(ok, 60)
    assert check["warning"] is None and (check["lowest"], check["highest"]) == (62, 65)


# ---- evaluation ----
def test_scores_use_bay_accuracy_and_finite_baselines():
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.uint8)
    s = evaluate.repeat_scores([y], eps=0.1)
    # predictions: silence, then frame 0, then frame 1 -> TP 2, FP 1, FN 2
    assert s["accuracy"] == pytest.approx(2 / 5)
    right, wrong = np.log(0.9), np.log(0.1)
    assert s["nll"] == pytest.approx(-(4 * right + 3 * wrong + 2 * right) / 3)
    f = evaluate.frequency_scores([np.ones((2, 3), np.uint8)], [y])
    assert np.isfinite(f["nll"]) and f["frames"] == 3


def test_evaluate_command_prints_the_table(model_dir, tmp_path, capsys):
    assert evaluate.main(["--model", str(model_dir), "--json", str(tmp_path / "e.json")]) == 0
    table = capsys.readouterr().out
    assert "music-lstm" in table and "repeat previous frame" in table
    rows = json.loads((tmp_path / "e.json").read_text())
    summary = json.loads((model_dir / "summary.json").read_text())
    assert [r["nll"] for r in rows] == pytest.approx([r["nll"] for r in summary["evaluation"]])


# ---- bad input ----
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--val-fraction", "1.5", "--bptt", "0"], "--bptt must be >= 1 (got 0); --val-fraction"),
        (["--data-dir", "/nonexistent/tunes"], "--data-dir /nonexistent/tunes is not a folder"),
        (["--grid", "32nd"], "invalid choice: '32nd'"),
        (["--resume"], "nothing to resume"),
    ],
)
def test_train_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    try:
        code = run(train.main, ["--output-dir", str(tmp_path / "m"), *argv])
    except SystemExit as e:  # argparse's own errors (cli.ArgumentParser: one line, code 2)
        code = e.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_train_refuses_an_empty_folder_and_a_split_without_validation(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    base = ["--output-dir", str(tmp_path / "m"), "--cache-dir", str(tmp_path / "c")]
    assert run(train.main, [*base, "--data-dir", str(tmp_path / "empty")]) == 2
    assert "holds no .mid" in capsys.readouterr().err
    (tmp_path / "one").mkdir()
    write_midi(chorale(0), tmp_path / "one" / "a.mid")
    write_midi(chorale(1), tmp_path / "one" / "b.mid")
    assert run(train.main, [*base, "--data-dir", str(tmp_path / "one")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the reading progress lines
    assert last.startswith("error: 2 tunes gave 2 for training and 0 for validation")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--temperature", "-1", "--num-tunes", "0"], "--temperature must be >= 0"),
        (["--prime-tune", "no/such-tune"], "neither a file nor a tune of music21's corpus"),
        (["--bars", "0"], "--bars must be > 0"),
    ],
)
def test_generate_bad_input_exits_2_with_one_line(model_dir, tmp_path, capsys, argv, message):
    base = ["--model", str(model_dir), "--output-dir", str(tmp_path / "out")]
    assert run(generate.main, [*base, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_a_folder_without_a_music_model_exits_2(tmp_path, capsys):
    assert run(evaluate.main, ["--model", str(tmp_path)]) == 2
    assert "holds no music model" in capsys.readouterr().err
    argv = ["--model", str(tmp_path), "--output-dir", str(tmp_path / "o")]
    assert run(generate.main, argv) == 2
    assert "holds no music model" in capsys.readouterr().err
