"""Hostile training settings (issue 10, items 6 and 14): strict keys and types for presets and
``--model-config``, every problem in one line with exit code 2, through the real ``train.main``.

    .venv/bin/python -m pytest tests/hostile/test_train_config.py -q
"""

from __future__ import annotations

import json

import pytest

from lyrics_gpt2 import train
from lyrics_gpt2.modeling import build_model
from lyrics_gpt2.testing import exit_code, train_tiny_tokenizer
from lyrics_gpt2.training.config import parse_train_args


def _preset(tmp_path, data) -> str:
    path = tmp_path / "my.json"
    path.write_text(json.dumps(data))
    return str(path)


CASES = {
    "model-config typo": (["--model-config", "n_layers=1"], "n_layers", "n_layer"),
    "model-config unknown": (["--model-config", "foo=1"], "foo", "valid keys"),
    "model-config wrong type": (["--model-config", "n_layer=abc"], "n_layer must be", "abc"),
    "preset wrong type": ({"batch_size": "abc"}, "batch-size must be an integer", "abc"),
    "preset bool as int": ({"epochs": True}, "epochs must be an integer", "True"),
    "preset is a list": ([1, 2], "must be a JSON object", "list"),
    "preset gpt2_config typo": (
        {"model": "tiny", "gpt2_config": {"n_layers": 1}},
        "n_layers",
        "valid keys",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_setting_is_one_line_exit_2(case, tmp_path, capsys):
    given, *named = CASES[case]
    out = tmp_path / "model"
    argv = ["--data-dir", str(tmp_path / "no-data"), "--output-dir", str(out)]
    if isinstance(given, list) and given and isinstance(given[0], str):
        argv = ["--preset", "tiny", *given, *argv]
    else:
        argv = ["--preset", _preset(tmp_path, given), *argv]
    assert exit_code(train.main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for word in named:
        assert word in err[0]
    assert not out.exists()  # refused before anything was written


def test_all_problems_are_named_at_once(tmp_path, capsys):
    preset = _preset(tmp_path, {"batch_size": "abc", "lr": "fast"})
    argv = ["--preset", preset, "--data-dir", str(tmp_path), "--output-dir", str(tmp_path / "m")]
    assert exit_code(train.main, argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "batch-size" in line and "lr must be a number" in line


def test_preset_own_architecture_is_honoured(tmp_path):
    """A preset naming "model": "tiny" with its own gpt2_config builds that architecture."""
    preset = _preset(tmp_path, {"model": "tiny", "gpt2_config": {"n_layer": 1, "n_embd": 32}})
    args = parse_train_args(["--preset", preset, "--model-config", "n_head=4"])
    assert args.model_config == {"n_layer": 1, "n_embd": 32, "n_head": 4}
    tok = train_tiny_tokenizer(["la la la", "yo yo yo"], ["pop", "rap"], vocab_size=300)
    model, _ = build_model(args.model, tok, model_config=args.model_config)
    assert (model.config.n_layer, model.config.n_embd, model.config.n_head) == (1, 32, 4)


def test_builtin_preset_keeps_flag_overrides_only():
    """The built-in tiny preset's own architecture is not copied into model_config."""
    args = parse_train_args(["--preset", "tiny", "--model-config", "n_layer=1"])
    assert args.model_config == {"n_layer": 1}
