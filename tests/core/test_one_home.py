"""Each shared concept lives in one function, and every caller uses that one: device choice,
the bootstrap interval, loss plots, flags -> Sampling, the report's metric list, optional extras."""

from __future__ import annotations

import argparse
import importlib.util
import math

import numpy as np
import pytest

from lyrics_gpt2.testing import exit_code


@pytest.mark.parametrize(
    "module, argv",
    [
        (
            "lyrics_gpt2.rnn.train",
            ["--arch", "char-rnn", "--data-dir", "nowhere", "--output-dir", "x"],
        ),
        ("lyrics_gpt2.rnn.generate", ["--model", "nowhere"]),
        ("lyrics_gpt2.music.train", ["--output-dir", "x"]),
        ("lyrics_gpt2.compare", ["--data-dir", "nowhere", "--models", "a"]),
    ],
)
def test_an_unknown_device_is_one_line_on_every_command_that_takes_one(
    module, argv, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    main = importlib.import_module(module).main
    assert exit_code(main, [*argv, "--device", "bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error:"), err
    assert "--device bogus" in err


def test_pick_device_is_the_one_device_check():
    from lyrics_gpt2.errors import UsageError
    from lyrics_gpt2.modeling import pick_device

    assert pick_device("cpu").type == "cpu"
    with pytest.raises(UsageError, match="not a device name"):
        pick_device("bogus")


def test_compare_and_perplexity_share_one_paired_bootstrap():
    from lyrics_gpt2.compare import breakdown
    from lyrics_gpt2.evaluation.summary import bootstrap_ratio
    from lyrics_gpt2.rnn.data import Song

    rng = np.random.default_rng(0)
    nll = rng.uniform(50, 150, size=40)
    nbytes = rng.integers(100, 300, size=40)
    songs = [Song(str(i), "t", "a", "pop" if i % 2 else "rap", "x") for i in range(40)]
    got = breakdown(nll, songs, nbytes, 500, seed=3)
    low, high = bootstrap_ratio(nll / math.log(2), nbytes, 500, 3)
    assert got["all"]["ci95"] == pytest.approx([low, high])
    assert low < got["all"]["bits_per_byte"] < high
    # Paired: another model on the same songs is resampled with the same songs.
    shifted = breakdown(nll + 10, songs, nbytes, 500, seed=3)
    low2, high2 = bootstrap_ratio((nll + 10) / math.log(2), nbytes, 500, 3)
    assert shifted["all"]["ci95"] == pytest.approx([low2, high2])
    assert bootstrap_ratio(nll[:1], nbytes[:1], 500, 3) is None


def test_every_loss_plot_is_drawn_by_draw_curves(tmp_path):
    from lyrics_gpt2.training.plots import draw_curves, plot_losses, points

    records = [{"kind": "train", "step": s, "loss": 3.0 - s / 10} for s in range(1, 6)]
    records += [{"kind": "val", "step": 5, "val_loss": 2.5, "val_bpb": 1.2}]
    assert points(records, "val", "val_bpb") == [(5, 1.2)]
    assert points(records, "train", "loss", 2.0)[0] == (1, pytest.approx(5.8))
    one = draw_curves(
        tmp_path / "loss.png", [(points(records, "train", "loss"), "t", "-")], ylabel="x"
    )
    assert one.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    names = sorted(p.name for p in plot_losses(records, tmp_path))
    assert names == ["train_loss.png", "val_loss.png", "val_loss_late.png"]


def test_the_server_and_the_commands_build_sampling_with_one_function():
    pytest.importorskip("fastapi")
    from lyrics_gpt2.inference.params import Sampling, add_sampling_flags, sampling_from
    from lyrics_gpt2.serve.schemas import SongRequest

    parser = argparse.ArgumentParser()
    add_sampling_flags(parser)
    flags = parser.parse_args(["--temperature", "0.7", "--top-k", "5", "--top-p", "0.9"])
    body = SongRequest(genre="rap", temperature=0.7, top_k=5, top_p=0.9)
    assert body.sampling(100) == sampling_from(flags, 100)
    assert sampling_from(argparse.Namespace(), 7) == Sampling(max_new_tokens=7)


def test_the_report_table_and_the_sampling_sweep_read_one_metric_list():
    from pathlib import Path

    from lyrics_gpt2.report import measures, render

    assert render.ROWS is measures.REPORT_ROWS
    assert set(measures.SHAPE_ROWS) <= set(measures.REPORT_ROWS)
    sweep = Path(__file__).resolve().parents[2] / "benchmarks" / "sampling_sweep.py"
    spec = importlib.util.spec_from_file_location("sampling_sweep", sweep)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DISTANCE_KEYS is measures.SHAPE_ROWS


@pytest.mark.parametrize(
    "module, argv, missing, extra",
    [
        ("lyrics_gpt2.serve.__main__", [], "fastapi", "serve"),
        ("lyrics_gpt2.report.__main__", [], "sklearn", "report"),
        ("lyrics_gpt2.music.train", ["--output-dir", "x"], "music21", "music"),
        ("lyrics_gpt2.generate", ["--best-of", "2"], "sklearn", "report"),
    ],
)
def test_a_missing_extra_names_the_pip_install_in_one_line(
    module, argv, missing, extra, capsys, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a)
    )
    main = importlib.import_module(module).main
    assert exit_code(main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and missing in err
    assert f'pip install "lyrics-gpt2[{extra}]"' in err
