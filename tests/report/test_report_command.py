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
    assert "| fidelity |" in (out / "report.md").read_text()
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
