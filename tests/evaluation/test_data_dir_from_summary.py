"""perplexity and report read the data folder the model's summary.json records when no
--data-dir is given (python -m lyrics_gpt2.perplexity / lyrics_gpt2.report through main())."""

from __future__ import annotations

import json
import shutil

from lyrics_gpt2.cli import run
from lyrics_gpt2.modeling import DEFAULT_DATA_DIR, data_dir_from_summary


def _model_recording(model, data, dest):
    shutil.copytree(model, dest)
    summary = json.loads((dest / "summary.json").read_text())
    (dest / "summary.json").write_text(json.dumps({**summary, "data_dir": str(data.resolve())}))
    return dest


def test_perplexity_and_report_default_to_the_recorded_data(tiny_trained, tmp_path, monkeypatch):
    from lyrics_gpt2 import perplexity
    from lyrics_gpt2.report import __main__ as report
    from lyrics_gpt2.report.corpus import load_split

    data, model = tiny_trained
    moved = _model_recording(model, data, tmp_path / "model")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no artifacts/data here: only the summary can name the data
    assert data_dir_from_summary(moved) == data.resolve()
    out = tmp_path / "ppl.json"
    argv = ["--model", str(moved), "--base", "none", "--no-swap", "--bootstrap", "0"]
    assert run(perplexity.main, [*argv, "--json", str(out)]) == 0
    assert json.loads(out.read_text())["data_dir"] == str(data.resolve())

    songs = tmp_path / "songs.jsonl"
    train = load_split(data, "train")[:6]
    songs.write_text(
        "".join(json.dumps({"genre": s.genre, "lyrics": s.text}) + "\n" for s in train)
    )
    argv = ["--model", str(moved), "--songs", str(songs), "--out", str(tmp_path / "r")]
    assert run(report.main, [*argv, "--no-perplexity"]) == 0
    assert json.loads((tmp_path / "r" / "report.json").read_text())["data_dir"] == str(
        data.resolve()
    )


def test_a_summary_naming_a_missing_folder_falls_back(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps({"data_dir": str(tmp_path / "gone")}))
    assert data_dir_from_summary(tmp_path) == DEFAULT_DATA_DIR
    assert data_dir_from_summary(tmp_path / "no-model") == DEFAULT_DATA_DIR
