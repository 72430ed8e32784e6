"""The generation and perplexity notebooks execute top to bottom on a tiny trained model.

01_preprocess and 02_train need the pipeline's and training's outputs; they are executed by the
end-to-end test that runs the demo path first.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["02_train.ipynb", "03_generate.ipynb", "04_perplexity.ipynb"])
def test_notebook_runs(name, tiny_trained, monkeypatch):
    data_dir, model_dir = tiny_trained
    monkeypatch.setenv("LYRICS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LYRICS_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Each notebook shows a plot or a table, not only text.
    assert any(
        "image/png" in o.get("data", {}) or "text/html" in o.get("data", {}) for o in outputs
    )
    if name == "04_perplexity.ipynb":
        assert any("diagonal wins" in o.get("text", "") for o in outputs)
