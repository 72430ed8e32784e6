"""Training names rows and songs as what they are, and says before it starts when the epochs end
it before ``--max-steps`` (python -m lyrics_gpt2.train through its main())."""

from __future__ import annotations

import json

from lyrics_gpt2.cli import run
from lyrics_gpt2.testing import write_tiny_dataset


def test_rows_and_songs_are_named_and_epochs_ending_first_are_said(tmp_path, capsys):
    from datasets import load_from_disk

    from lyrics_gpt2.train import main

    # Songs cut into pieces: rows outnumber songs, so counting rows as songs would show.
    data = write_tiny_dataset(tmp_path / "data", piece_tokens=6)
    out = tmp_path / "model"
    argv = ["--preset", "tiny", "--model-config", "n_layer=1,n_embd=16,n_head=2"]
    argv += ["--data-dir", str(data), "--output-dir", str(out), "--batch-size", "64"]
    argv += ["--epochs", "1", "--max-steps", "500"]
    assert run(main, argv) == 0
    printed = capsys.readouterr()
    text = printed.out + printed.err
    summary = json.loads((out / "summary.json").read_text())
    dd = load_from_disk(str(data / "tokenized"))
    rows, songs = len(dd["train"]), sum(p == 0 for p in dd["train"]["piece"])
    assert songs < rows
    assert summary["train_rows"] == rows and summary["train_songs"] == songs
    assert summary["val_rows"] == len(dd["validation"])
    assert f"on {rows} rows ({songs} songs) for {summary['steps']} steps" in text
    note = f"note: --epochs 1 ends training after {summary['steps']} steps, before --max-steps 500"
    assert note in text and text.index(note) < text.index(f"on {rows} rows")
    assert summary["steps"] < 500
