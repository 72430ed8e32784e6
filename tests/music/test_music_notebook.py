"""notebooks/05_music.ipynb executes top to bottom on a tiny music model and shows piano rolls."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from lyrics_gpt2.music import train
from lyrics_gpt2.music.roll import Note, write_midi

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_music.ipynb"


@pytest.mark.slow
def test_music_notebook_runs(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    (tmp_path / "tunes").mkdir()
    for k in range(8):  # four-bar tunes of random three-note chords, one per quarter note
        notes = [Note(int(p), float(t), 1.0) for t in range(16) for p in rng.integers(48, 72, 3)]
        write_midi(notes, tmp_path / "tunes" / f"t{k}.mid")
    out = tmp_path / "model"
    argv = ["--data-dir", str(tmp_path / "tunes"), "--output-dir", str(out)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--val-fraction", "0.4"]
    assert train.main([*argv, "--hidden-size", "8", "--layers", "1", "--max-steps", "2"]) == 0
    monkeypatch.setenv("MUSIC_MODEL_DIR", str(out))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) >= 3 and any("text/html" in o.get("data", {}) for o in outputs)
    assert (out / "notebook-tunes" / "t0.0.mid").is_file()
