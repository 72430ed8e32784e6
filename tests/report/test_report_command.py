"""python -m lyrics_gpt2.report through the real command on the tiny model: generated mode,
--songs mode with a "model" that returns training songs (flagged as copies), bad input."""

from __future__ import annotations

import json
import random

import pytest

from lyrics_gpt2.report.classifier import GenreClassifier
from lyrics_gpt2.report.corpus import load_split
from lyrics_gpt2.testing import tiny_songs


def test_classifier_knows_a_genres_vocabulary(tiny_trained):
    data, _ = tiny_trained
    train = load_split(data, "train")
    clf = GenreClassifier.fit([s.text for s in train], [s.genre for s in train])
    rng = random.Random(5)
    assert clf.predict(tiny_songs("rap", 3, rng)) == ["rap"] * 3
    assert clf.predict(tiny_songs("pop", 3, rng)) == ["pop"] * 3
    assert (clf.proba_of(["money cash hustle"], ["rap"]) > 0.5).all()


def test_report_generated_mode(tiny_trained, cli, tmp_path):
    data, model = tiny_trained
    out = tmp_path / "report"
    args = ["--model", model, "--data-dir", data, "--out", out, "--num-songs", "4"]
    res = cli("lyrics_gpt2.report", *args, "--max-length", "40", "--bootstrap", "10")
    assert res.returncode == 0, res.stderr
    assert "report:" in res.stdout and "fidelity" in res.stdout
    report = json.loads((out / "report.json").read_text())
    for source in ("generated", "held_out"):
        assert set(report["sources"][source]) == {"pop", "rap"}
    gen = report["sources"]["generated"]["rap"]
    assert gen["songs"] == 4 and 0 <= gen["ended_share"] <= 1
    assert "ended_share" not in report["sources"]["held_out"]["rap"]
    assert report["classifier"]["accuracy"] > 0.9
    assert report["perplexity"]["tuned"]["all"]["perplexity"] > 1
    for name in ("report.md", "line_lengths.png", "song_lengths.png", "genre_swap.png"):
        assert (out / name).is_file(), name
    md = (out / "report.md").read_text()
    assert "| fidelity |" in md
    # Every held-out figure carries its n; under 20 songs of a genre, no ceiling, no comparison.
    held_n = {g: f["songs"] for g, f in report["sources"]["held_out"].items()}
    assert f"on {report['classifier']['held_out_songs']} held-out songs (" in md
    if min(held_n.values()) < 20:
        assert "No ceiling for fidelity" in md and "the ceiling for fidelity" not in md
        assert "under 20 songs of a genre" in res.stdout
    assert report["songs_label"] == "generated" and "Most-copied given" not in md
    # The second run reuses the cached classifier and index.
    res = cli("lyrics_gpt2.report", *args, "--max-length", "40", "--no-perplexity")
    assert res.returncode == 0 and "training the genre" not in res.stderr
    # generate --best-of ranks candidates with the classifier this report saved.
    gen = ["--model", model, "--data-dir", data, "--report-dir", out, "--max-length", "40"]
    res = cli(
        "lyrics_gpt2.generate", *gen, "--best-of", "3", "--num-songs", "2", "--format", "jsonl"
    )
    assert res.returncode == 0, res.stderr
    songs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(s["genre"], s["index"]) for s in songs] == [
        (g, i) for g in ("rap", "pop") for i in range(2)
    ]
    assert "training the genre" not in res.stderr


def test_report_flags_a_model_that_returns_training_songs(tiny_trained, cli, tmp_path):
    data, _ = tiny_trained
    songs = tmp_path / "copies.jsonl"
    train = load_split(data, "train")
    songs.write_text(
        "".join(json.dumps({"genre": s.genre, "lyrics": s.text}) + "\n" for s in train)
    )
    out = tmp_path / "r"
    res = cli("lyrics_gpt2.report", "--songs", songs, "--data-dir", data, "--out", out)
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "report.json").read_text())
    for g in ("pop", "rap"):
        copied, held = report["sources"]["generated"][g], report["sources"]["held_out"][g]
        assert copied["copied_ngram_share"] > 0.95
        assert held["copied_ngram_share"] < 0.05
        assert copied["max_copied_words"] > 3 * max(held["max_copied_words"], 1)
    assert report["most_copied"]["max_copied_words"] >= 8
    assert report["perplexity"] is None  # no model folder given
    # Songs from a file are "given", not "generated".
    md = (out / "report.md").read_text()
    assert report["songs_label"] == "given"
    assert "## Most-copied given song" in md and "| given |" in md
    assert "generated song" not in md and "given songs)" in res.stdout


def _report(held: int) -> dict:
    fig = {"songs": 30, "fidelity": 0.9, "copied_ngram_share": 0.1, "repeated_line_share": 0.2}
    return {
        "generated_from": "x", "data_dir": "d", "songs_label": "generated",
        "classifier": {"model": "m", "trained_on": "t", "accuracy": 1.0, "held_out_songs": 2 * held},
        "sources": {"generated": {"pop": fig, "rap": fig},
                    "held_out": {g: {**fig, "songs": held} for g in ("pop", "rap")}},
    }  # fmt: skip


def test_report_prints_no_ceiling_or_comparison_on_fewer_than_20_songs_per_genre():
    from lyrics_gpt2.report import render

    few, enough = _report(1), _report(25)
    md = render.markdown(few, [])
    assert "accuracy 1.000 on 2 held-out songs (pop 1, rap 1). No ceiling for fidelity" in md
    assert "held-out (n=" not in md and "No held-out column: 1 held-out pop songs" in md
    assert "(held-out" not in "\n".join(render.headline(few))
    md = render.markdown(enough, [])
    assert "-- the ceiling for fidelity" in md and "| metric | generated | held-out (n=25) |" in md
    assert "(held-out 0.900, n=25)" in "\n".join(render.headline(enough))


def test_song_length_plot_marks_one_song_instead_of_a_histogram(tmp_path, monkeypatch):
    import matplotlib.axes

    from lyrics_gpt2.report import render

    drawn = []
    real = matplotlib.axes.Axes.hist
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "hist",
        lambda ax, x, *a, **k: drawn.append(len(x)) or real(ax, x, *a, **k),
    )
    songs = {
        "generated": [("pop", "la la la\nhey there you\n") for _ in range(8)],
        "held_out": [("pop", "one held out song\nonly one")],
    }
    assert render.plots(_report(1), songs, tmp_path) == ["line_lengths.png", "song_lengths.png"]
    # line lengths: 16 and 2 values; song lengths: 8 values and 1 (marked, not a histogram)
    assert min(drawn) >= render.MIN_HISTOGRAM and (tmp_path / "song_lengths.png").is_file()


@pytest.mark.parametrize(
    "content, message",
    [(None, "no such file"), ("not json\n", "line 1"), ("", "no songs")],
)
def test_report_bad_songs_file(tiny_trained, cli, tmp_path, content, message):
    path = tmp_path / "s.jsonl"
    if content is not None:
        path.write_text(content)
    res = cli("lyrics_gpt2.report", "--songs", path, "--data-dir", tiny_trained[0])
    assert res.returncode == 2 and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
