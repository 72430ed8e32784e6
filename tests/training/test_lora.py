"""LoRA (lyrics_gpt2.training.lora): what trains, what is exported, and a resumed LoRA run.

The unit tests build a small GPT-2 from the tiny corpus's tokenizer and step AdamW by hand; the
end-to-end test runs the real training entry point in-process (``train.main``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lyrics_gpt2.cli import run
from lyrics_gpt2.data import collate, load_tokenized
from lyrics_gpt2.modeling import build_model
from lyrics_gpt2.testing import write_tiny_dataset
from lyrics_gpt2.tokenizer import load_tokenizer
from lyrics_gpt2.training import lora
from lyrics_gpt2.training.config import TrainArgs
from lyrics_gpt2.training.optim import build_optimizer

ARCH = {"n_layer": 2, "n_embd": 32, "n_head": 2, "n_positions": 64}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("lora") / "data")


def batches(data_dir: Path, n: int, size: int = 8):
    dataset, manifest = load_tokenized(data_dir)
    rows = list(dataset["train"].with_format("numpy"))
    gen = torch.Generator().manual_seed(0)
    for _ in range(n):
        pick = torch.randint(len(rows), (size,), generator=gen).tolist()
        yield collate([{k: rows[i][k] for k in ("input_ids", "length")} for i in pick],
                      manifest.pad_token_id)  # fmt: skip


def lora_model(data_dir: Path, rank: int = 4):
    tok = load_tokenizer(data_dir / "tokenizer")
    torch.manual_seed(0)
    model, _ = build_model("tiny", tok, model_config=ARCH, dropout=0.0)
    rows = sorted(load_tokenized(data_dir)[1].genre_token_ids.values())
    return lora.apply_lora(model, rank=rank, dropout=0.0, trainable_rows=rows), rows, tok


def test_only_adapters_and_genre_rows_train(data_dir):
    model, rows, _ = lora_model(data_dir)
    emb = "base_model.model.transformer.wte.token_adapter.base_layer.weight"
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    before_wte = model.get_input_embeddings().weight.detach().clone()
    opt = build_optimizer(model, TrainArgs(lr=1e-2, weight_decay=0.1, model="tiny"))
    model.train()
    for batch in batches(data_dir, 4):
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    row_param = "base_model.model.transformer.wte.token_adapter.trainable_tokens_delta.default"
    assert row_param in changed and any("lora_A" in n for n in changed)
    assert changed <= {row_param} | {n for n in changed if "lora_" in n}
    # The whole tied matrix is frozen: no gradient, no AdamW moments of its size (the memory).
    wte = dict(model.named_parameters())[emb]
    assert not wte.requires_grad and torch.equal(wte, before_wte)
    vocab = wte.shape[0]
    moments = [t for st in opt.state.values() for t in st.values() if t.dim() == 2]
    assert moments and all(t.shape[0] != vocab for t in moments)
    # Folded in, only the genre rows of the (tied) matrix differ from the base.
    merged = model.merge_and_unload()
    assert merged.lm_head.weight is merged.transformer.wte.weight
    moved = (merged.transformer.wte.weight != before_wte).any(dim=1).nonzero().flatten().tolist()
    assert moved == rows


def test_trainable_counts_and_padded_vocab_mask(data_dir):
    from lyrics_gpt2.modeling import pad_embeddings

    tok = load_tokenizer(data_dir / "tokenizer")
    model, _ = build_model("tiny", tok, model_config=ARCH, dropout=0.0)
    pad_embeddings(model, len(tok), 64)
    rows = sorted(load_tokenized(data_dir)[1].genre_token_ids.values())
    model = lora.apply_lora(model, rank=4, dropout=0.0, trainable_rows=rows)
    counts = lora.trainable_counts(model)
    assert counts["embedding_row_parameters"] == len(rows) * ARCH["n_embd"]
    assert 0 < counts["adapter_parameters"] < counts["total_parameters"] / 2
    # PEFT's head wrapper bypasses the Linear the pad mask hooked; the mask must still hold.
    logits = model(input_ids=next(batches(data_dir, 1))["input_ids"]).logits
    assert logits.shape[-1] % 64 == 0 and logits.shape[-1] > len(tok)
    assert (
        torch.isinf(logits[..., len(tok) :]).all() and torch.isfinite(logits[..., : len(tok)]).all()
    )


def test_merged_export_gives_the_adapted_models_logits(data_dir, tmp_path):
    from peft import PeftModel
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    model, rows, tok = lora_model(data_dir)
    # LoRA's B starts at zero and the rows at their base values (the adapted model equals the
    # base); move both, so the merge and the tied head's use of the rows are put to the test.
    torch.manual_seed(1)
    for name, p in model.named_parameters():
        if "lora_B" in name or "trainable_tokens_delta" in name:
            torch.nn.init.normal_(p, std=0.5 if "delta" in name else 0.05)
    batch = next(batches(data_dir, 1))
    model.eval()
    with torch.no_grad():
        adapted = model(input_ids=batch["input_ids"]).logits
    merged = lora.export(model, tmp_path)
    merged.save_pretrained(tmp_path / "merged")
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=batch["input_ids"]).logits, adapted, atol=1e-5)
        loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
        assert torch.allclose(loaded(input_ids=batch["input_ids"]).logits, adapted, atol=1e-5)
    adapter = tmp_path / "adapter"
    assert {p.name for p in adapter.iterdir()} >= {
        "adapter_config.json",
        "adapter_model.safetensors",
    }
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as f:
        shapes = {k: f.get_slice(k).get_shape() for k in list(f.keys())}
    deltas = [v for k, v in shapes.items() if "trainable_tokens_delta" in k]
    assert deltas == [[len(rows), ARCH["n_embd"]]]  # the rows, not the whole matrix
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["fan_in_fan_out"] and config["r"] == 4 and config["lora_alpha"] == 8
    # The adapter folder on the same base model (rebuilt with the same seed) gives the same.
    torch.manual_seed(0)
    base, _ = build_model("tiny", tok, model_config=ARCH, dropout=0.0)
    with torch.no_grad():
        again = PeftModel.from_pretrained(base, str(adapter)).eval()
        assert torch.allclose(again(input_ids=batch["input_ids"]).logits, adapted, atol=1e-5)


# --------------------------------------------------------------------- the real entry point
def train(capsys, *argv: str) -> None:
    from lyrics_gpt2.train import main

    code = run(main, list(argv))
    err = capsys.readouterr().err
    assert code == 0, err[-2000:]


def losses(out: Path) -> dict[int, float]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return {r["step"]: r["loss"] for r in map(json.loads, lines) if r["kind"] == "train"}


@pytest.mark.slow
def test_lora_run_exports_merged_weights_and_resumes_exactly(data_dir, tmp_path, capsys):
    """Adapter dropout on: a checkpoint at step 4, copied and resumed, replays steps 5-8."""
    from transformers import pipeline

    flags = ["--preset", "tiny", "--model-config", "n_layer=1,n_embd=32,n_head=2,n_positions=64"]
    flags += ["--data-dir", str(data_dir), "--batch-size", "6", "--max-steps", "8", "--lr", "1e-2"]
    flags += ["--lora", "4", "--lora-dropout", "0.2", "--eval-every", "4", "--pad-vocab", "64"]
    flags += ["--checkpoint-every", "4", "--keep-checkpoints", "3"]
    full = tmp_path / "full"
    train(capsys, *flags, "--output-dir", str(full), "--log-every", "3")
    ckpt = full / "checkpoints" / "step-00000004"
    from safetensors import safe_open

    with safe_open(str(ckpt / "model.safetensors"), "pt") as f:
        names = list(f.keys())
        rows = [f.get_slice(k).get_shape() for k in names if "trainable_tokens_delta" in k]
    # Adapters and the genre rows only: no frozen weights, no whole embedding matrix.
    assert names and all("lora_" in k or "trainable_tokens_delta" in k for k in names)
    genres = len(load_tokenized(data_dir)[1].genre_token_ids)
    assert rows == [[genres, 32]]  # one row per genre token, width 32

    resumed = tmp_path / "resumed"
    shutil.copytree(ckpt, resumed / "checkpoints" / ckpt.name)
    train(capsys, *flags, "--output-dir", str(resumed), "--resume", "latest", "--log-every", "1")
    a, b = losses(full), losses(resumed)
    assert sorted(a) == list(range(1, 9)) and sorted(b) == list(range(5, 9))
    np.testing.assert_allclose([b[s] for s in b], [a[s] for s in b], rtol=1e-6)

    summary = json.loads((full / "summary.json").read_text())
    assert summary["lora"]["rank"] == 4 and summary["lora"]["alpha"] == 8
    assert summary["lora"]["targets"] == ["c_attn", "c_proj", "c_fc"]
    assert 0 < summary["trainable_parameters"] < summary["total_parameters"]
    assert (full / "adapter" / "adapter_model.safetensors").is_file()
    tok = load_tokenizer(data_dir / "tokenizer")
    # Merged, pad rows dropped: a plain GPT-2 of the tokenizer's size.
    assert json.loads((full / "config.json").read_text())["vocab_size"] == len(tok)
    gen = pipeline("text-generation", model=str(full), device="cpu")
    assert gen("[Genre: Rap]", max_new_tokens=5)[0]["generated_text"].startswith("[Genre: Rap]")
