"""Loss curves from metrics.jsonl (lyrics_gpt2.training.plots) and its command's errors."""

from __future__ import annotations

import json

from lyrics_gpt2.testing import exit_code
from lyrics_gpt2.training import plots


def write_metrics(path, last_step):
    lines = [{"kind": "val", "step": 0, "val_loss": 5.0}]
    for step in range(1, last_step + 1):
        lines.append({"kind": "train", "step": step, "loss": 5.0 - step / last_step})
        if step % 10 == 0:
            lines.append({"kind": "val", "step": step, "val_loss": 5.0 - step / last_step})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + "\n")


def test_three_pngs_from_a_run(tmp_path, capsys):
    write_metrics(tmp_path / "metrics.jsonl", 30)
    records = plots.read_metrics(tmp_path / "metrics.jsonl")
    assert len(records) == 1 + 30 + 3  # the blank line is skipped
    assert exit_code(plots.main, [str(tmp_path)]) == 0
    names = ["train_loss.png", "val_loss.png", "val_loss_late.png"]
    assert capsys.readouterr().out.split() == [str(tmp_path / n) for n in names]
    for name in names:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_metrics_is_one_line_exit_2(tmp_path, capsys):
    assert exit_code(plots.main, [str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no metrics.jsonl" in err
