"""What training writes besides checkpoints (lyrics_gpt2.training.outputs): metrics.jsonl and the folder."""

from __future__ import annotations

import json

import torch

from lyrics_gpt2.training.outputs import MetricsLog, save_hf_folder


def test_exported_weights_drop_the_torch_compile_prefix():
    from transformers import GPT2Config, GPT2LMHeadModel

    from lyrics_gpt2.training.outputs import plain_state_dict

    model = GPT2LMHeadModel(GPT2Config(vocab_size=30, n_positions=8, n_embd=8, n_layer=1, n_head=2))
    compiled = torch.compile(model)  # lazy: nothing is compiled until it is called
    assert any(k.startswith("_orig_mod.") for k in compiled.state_dict())
    assert plain_state_dict(compiled.state_dict()).keys() == model.state_dict().keys()


def test_metrics_log_keeps_lines_through_the_resumed_step(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path, enabled=True, keep_through_step=None)
    for step in (1, 2, 3):
        log.write({"kind": "train", "step": step})
    log.close()
    resumed = MetricsLog(path, enabled=True, keep_through_step=2)
    resumed.write({"kind": "train", "step": 3, "again": True})
    resumed.close()
    steps = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["step"] for r in steps] == [1, 2, 3] and steps[-1]["again"]
    MetricsLog(tmp_path / "other.jsonl", enabled=False, keep_through_step=None).write({"step": 1})
    assert not (tmp_path / "other.jsonl").exists()


def test_saved_folder_loads_with_generation_defaults(tiny_trained, tmp_path):
    from transformers import AutoModelForCausalLM, GenerationConfig

    from lyrics_gpt2.inference.params import Sampling
    from lyrics_gpt2.tokenizer import load_tokenizer

    _, model_dir = tiny_trained
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    save_hf_folder(model, load_tokenizer(model_dir), tmp_path / "out", seq_len=64)
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".export")]
    gen = GenerationConfig.from_pretrained(tmp_path / "out")
    assert gen.top_k == Sampling().top_k and gen.max_new_tokens == 64
    again = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
