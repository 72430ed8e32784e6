"""Finding, resuming and refusing checkpoints (lyrics_gpt2.training.checkpoints), without training."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import write_json
from lyrics_gpt2.training.checkpoints import (
    RESUME_KEYS,
    STATE_FILE,
    TrainState,
    list_checkpoints,
    read_resumable,
    resolve_resume,
)

SETTINGS = {k: 1 for k in RESUME_KEYS}


def fake_checkpoint(out, step, settings=SETTINGS):
    path = out / "checkpoints" / f"step-{step:08d}"
    write_json(path / STATE_FILE, asdict(TrainState(step=step, settings=dict(settings))))
    return path


def test_only_complete_checkpoints_are_listed_oldest_first(tmp_path):
    assert list_checkpoints(tmp_path) == []
    late, early = fake_checkpoint(tmp_path, 200), fake_checkpoint(tmp_path, 30)
    (tmp_path / "checkpoints" / ".step-00000300.tmp").mkdir()  # an interrupted save
    (tmp_path / "checkpoints" / "step-00000400").mkdir()  # no state file: incomplete
    assert list_checkpoints(tmp_path) == [early, late]
    assert resolve_resume("latest", tmp_path) == late
    assert resolve_resume(str(early), tmp_path) == early


def test_resume_errors_name_the_way_out(tmp_path):
    with pytest.raises(UsageError, match="drop --resume"):
        resolve_resume("latest", tmp_path)
    with pytest.raises(UsageError, match="not a checkpoint folder"):
        resolve_resume(str(tmp_path), tmp_path)


def test_resume_with_other_settings_names_every_difference(tmp_path):
    path = fake_checkpoint(tmp_path, 10)
    assert TrainState(**read_resumable(path, SETTINGS)).step == 10
    changed = {**SETTINGS, "batch_size": 4, "seed": 7}
    with pytest.raises(UsageError) as err:
        read_resumable(path, changed)
    assert "batch_size 1 -> 4" in str(err.value) and "seed 1 -> 7" in str(err.value)
    (path / STATE_FILE).write_text("{not json")
    with pytest.raises(UsageError, match="unreadable"):
        read_resumable(path, SETTINGS)
