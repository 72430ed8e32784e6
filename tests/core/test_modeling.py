"""Building a model to train and loading a trained one (lyrics_gpt2.modeling)."""

from __future__ import annotations

import pytest
import torch

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.fileio import write_json
from lyrics_gpt2.inference.params import Sampling, generation_defaults
from lyrics_gpt2.modeling import (
    base_from_summary,
    build_model,
    load_trained,
    resolve_model,
)
from lyrics_gpt2.tokenizer import load_tokenizer


def test_new_token_rows_start_at_the_mean_embedding():
    from transformers import GPT2Config, GPT2LMHeadModel

    from lyrics_gpt2.modeling import resize_embeddings

    model = GPT2LMHeadModel(GPT2Config(vocab_size=30, n_positions=8, n_embd=8, n_layer=1, n_head=2))
    old = model.get_input_embeddings().weight.detach().clone()
    resize_embeddings(model, 33)
    new = model.get_input_embeddings().weight.detach()
    assert torch.equal(new[:30], old)
    assert torch.allclose(new[30:], old.mean(0).expand(3, -1))
    assert model.get_output_embeddings().weight.shape[0] == 33


def test_model_names_resolve_folder_then_preset_then_hub(tmp_path):
    assert resolve_model(str(tmp_path)).kind == "local"
    assert resolve_model("tiny").kind == "scratch"
    assert resolve_model("gpt2").kind == "hub"


def test_build_from_preset_fits_the_tokenizer(tiny_trained):
    data_dir, _ = tiny_trained
    tok = load_tokenizer(data_dir / "tokenizer")
    model, source = build_model("tiny", tok, model_config={"n_positions": 64}, dropout=0.0)
    assert source.kind == "scratch"
    assert model.get_input_embeddings().num_embeddings == len(tok)
    assert model.config.eos_token_id == tok.eos_token_id and model.config.embd_pdrop == 0.0
    with pytest.raises(UsageError, match="has 64 positions but the data has seq_len 128"):
        build_model("tiny", tok, model_config={"n_positions": 64}, seq_len=128)
    with pytest.raises(UsageError, match="not divisible by n_head"):
        build_model("tiny", tok, model_config={"n_embd": 33})


def test_load_trained_is_in_eval_mode_and_refuses_missing_folders(tiny_trained, tmp_path):
    _, model_dir = tiny_trained
    model = load_trained(model_dir, "cpu")
    assert not model.training and next(model.parameters()).device == torch.device("cpu")
    with pytest.raises(UsageError, match="no model at"):
        load_trained(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="cannot load a model"):
        load_trained(tmp_path / "empty")


def test_base_from_summary_reads_what_training_writes(tiny_trained, tmp_path):
    _, model_dir = tiny_trained
    assert base_from_summary(model_dir) == str((model_dir / "untuned").resolve())
    write_json(tmp_path / "summary.json", {"base_model": "gpt2", "untuned_model": None})
    assert base_from_summary(tmp_path) == "gpt2"


def test_generation_defaults_are_the_sampler_defaults(tiny_trained):
    _, model_dir = tiny_trained
    tok = load_tokenizer(model_dir)
    d, s = generation_defaults(tok, 64), Sampling()
    assert (d["top_k"], d["top_p"], d["temperature"]) == (s.top_k, s.top_p, s.temperature)
    assert d["repetition_penalty"] == s.repetition_penalty >= 1
    assert d["max_new_tokens"] == 64 and d["eos_token_id"] == tok.eos_token_id


def test_base_from_summary_variants(tmp_path):
    (tmp_path / "untuned").mkdir()
    for summary, expected in [
        ({"untuned_model": "untuned"}, str(tmp_path / "untuned")),
        ({"base_model": "gpt2"}, "gpt2"),
        # Keys training never wrote are not guessed at any more.
        ({"base": {"path": str(tmp_path / "untuned")}}, None),
        ({"init_from": "gpt2"}, None),
        ({"steps": 3}, None),
    ]:
        write_json(tmp_path / "summary.json", summary)
        assert base_from_summary(tmp_path) == expected
