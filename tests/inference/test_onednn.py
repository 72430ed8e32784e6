"""GPT-2's linear layers on oneDNN's packed kernels (lyrics_gpt2.inference.onednn): the same
logits as PyTorch's default kernels, what load_for_inference packs, what it leaves alone."""

from __future__ import annotations

import pytest
import torch

from lyrics_gpt2.inference import onednn
from lyrics_gpt2.inference.batch import Batch
from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.sampler import row_generator

pytestmark = pytest.mark.skipif(not onednn.available(), reason="this PyTorch has no oneDNN")


def _pair():
    """Two copies of one config-built GPT-2 with random weights: default kernels, packed."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=300, n_positions=64)
    torch.manual_seed(0)
    plain = GPT2LMHeadModel(config).eval()
    torch.manual_seed(0)
    packed = GPT2LMHeadModel(config).eval()
    # 4 Conv1D per block (c_attn, c_proj, c_fc, mlp c_proj) and the head
    assert onednn.pack_linears(packed) == 2 * 4 + 1
    return plain, packed


@torch.no_grad()
def test_packed_logits_match_the_default_kernels():
    plain, packed = _pair()
    ids = torch.randint(0, 300, (3, 17))
    mask = torch.ones_like(ids)
    mask[0, :5] = 0
    a = plain(input_ids=ids, attention_mask=mask).logits
    b = packed(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), (a - b).abs().max()
    assert type(packed.lm_head).__name__ == "PackedLinear"
    # the input embedding the head was tied to is still there, unchanged
    assert torch.equal(plain.transformer.wte.weight, packed.transformer.wte.weight)


@torch.no_grad()
def test_the_batch_loop_draws_the_same_songs_packed():
    plain, packed = _pair()
    cfg = Sampling(max_new_tokens=24, temperature=0.9, top_k=40, repetition_penalty=1.0)
    songs = []
    for model in (plain, packed):
        batch = Batch(model, eos_id=299, pad_id=299)
        rows = [Row([7, 8, 9][: i + 1], cfg, row_generator(3, i)) for i in range(3)]
        batch.add(rows)
        while batch.rows:
            batch.step()
        songs.append([row.new for row in rows])
    assert songs[0] == songs[1]


def test_load_for_inference_packs_on_a_cpu_and_the_switch_turns_it_off(tiny_trained, monkeypatch):
    _, model_dir = tiny_trained
    model = onednn.load_for_inference(model_dir, "cpu")
    kinds = {type(m).__name__ for m in model.modules()}
    assert "PackedLinear" in kinds and "Conv1D" not in kinds
    monkeypatch.setenv(onednn.ENV, "0")
    model = onednn.load_for_inference(model_dir, "cpu")
    kinds = {type(m).__name__ for m in model.modules()}
    assert "PackedLinear" not in kinds and "Conv1D" in kinds


def test_models_it_cannot_serve_are_left_alone():
    plain, _ = _pair()
    assert onednn.pack_linears(plain.train()) == 0  # training: gradients needed
    assert onednn.pack_linears(plain.eval().to(torch.bfloat16)) == 0
    assert not any(type(m).__name__ == "PackedLinear" for m in plain.modules())


def test_the_server_samples_with_the_packed_model(tiny_trained):
    import torch

    from lyrics_gpt2.serve.settings import build_engine, build_parser

    _, model_dir = tiny_trained
    threads = torch.get_num_threads()
    try:
        engine = build_engine(build_parser().parse_args(["--model", str(model_dir)]))
    finally:
        torch.set_num_threads(threads)
    assert any(type(m).__name__ == "PackedLinear" for m in engine.model.modules())
