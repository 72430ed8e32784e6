"""Training settings: every preset loads and validates; flags beat presets; bad values are
collected into one error."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.modeling import architecture, resolve_model
from lyrics_gpt2.training.config import (
    PRESETS_DIR,
    TrainArgs,
    load_preset,
    parse_train_args,
    preset_names,
)


def test_the_documented_presets_exist():
    assert {"tiny", "gpt2", "gpt2-scratch"} <= set(preset_names())


@pytest.mark.parametrize("name", sorted(p.stem for p in PRESETS_DIR.glob("*.json")))
def test_every_preset_loads_and_validates(name):
    raw = load_preset(name)
    assert raw.get("description"), "a preset says what it is for"
    args = parse_train_args(["--preset", name])
    assert args.preset == name
    for key, value in raw.items():
        if key not in ("description", "gpt2_config"):
            assert getattr(args, key) == value
    arch = architecture(args.model)
    if arch is not None:  # from scratch: the architecture builds a real GPT-2 config
        from transformers import GPT2Config

        cfg = GPT2Config(**arch)
        assert cfg.n_embd % cfg.n_head == 0
        assert resolve_model(args.model).kind == "scratch"
    else:
        assert resolve_model(args.model).kind == "hub"


def test_every_field_has_one_line_of_help_and_a_flag():
    from lyrics_gpt2.training.config import build_parser

    help_text = build_parser("train", "").format_help()
    for f in dataclasses.fields(TrainArgs):
        doc = f.metadata["help"]
        assert doc and "\n" not in doc
        assert f"--{f.name.replace('_', '-')}" in help_text


def test_flags_override_the_preset_which_overrides_defaults():
    args = parse_train_args(["--preset", "tiny", "--lr", "0.02", "--model-config", "n_layer=1"])
    assert args.lr == 0.02
    assert args.batch_size == load_preset("tiny")["batch_size"]
    assert args.model_config == {"n_layer": 1}
    assert parse_train_args([]).eval_every == 1000  # the sparse default
    assert parse_train_args(["--max-steps", "none"]).max_steps is None
    assert parse_train_args(["--compile"]).compile is True


def test_validate_collects_every_problem_at_once():
    with pytest.raises(UsageError) as err:
        TrainArgs(batch_size=0, lr=-1, min_lr_ratio=2, eval_every=-5, dropout=1.5).validate()
    message = str(err.value)
    for flag in ("--batch-size", "--lr", "--min-lr-ratio", "--eval-every", "--dropout"):
        assert flag in message


def test_preset_file_with_unknown_keys_is_refused(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"description": "x", "batchsize": 3}))
    with pytest.raises(UsageError, match="batchsize"):
        parse_train_args(["--preset", str(path)])
    with pytest.raises(UsageError, match="no preset"):
        parse_train_args(["--preset", "nonexistent"])


def test_bad_flag_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        parse_train_args(["--model-config", "n_layer"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_lora_and_gpu_flags_are_checked_together():
    args = parse_train_args(["--lora", "8", "--lora-targets", "c_attn", "--pad-vocab", "64"])
    assert (args.lora, args.lora_alpha, args.lora_target_list) == (8, None, ["c_attn"])
    with pytest.raises(UsageError) as err:
        TrainArgs(
            lora=-1, lora_alpha=0, lora_dropout=1.0, lora_targets="c_attn,q_proj", pad_vocab=0,
            log_every=0,
        ).validate()  # fmt: skip
    message = str(err.value)
    for flag in ("--lora ", "--lora-alpha", "--lora-dropout", "unknown: q_proj", "--pad-vocab",
                 "--log-every"):  # fmt: skip
        assert flag in message
    assert load_preset("gpt2")["pad_vocab"] == 64
