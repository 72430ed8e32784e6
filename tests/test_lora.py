"""LoRA (lyrics_gpt2.lora): what trains, what is exported, and a resumed LoRA run.

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

from lyrics_gpt2 import lora
from lyrics_gpt2.cli import run
from lyrics_gpt2.config import TrainArgs
from lyrics_gpt2.data import collate, load_tokenized
from lyrics_gpt2.modeling import build_model
from lyrics_gpt2.optim import build_optimizer
from lyrics_gpt2.testing import write_tiny_dataset
from lyrics_gpt2.tokenizer import load_tokenizer

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
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    # Weight decay on: it must not move the frozen embedding rows either.
    opt = build_optimizer(model, TrainArgs(lr=1e-2, weight_decay=0.1, model="tiny"))
    model.train()
    for batch in batches(data_dir, 4):
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    emb = "base_model.model.transformer.wte.weight"
    assert emb in changed and any("lora_A" in n for n in changed)
    assert all("lora_" in n for n in changed - {emb})  # no other base weight moved
    wte = dict(model.named_parameters())[emb].detach()
    moved = (wte != before[emb]).any(dim=1).nonzero().flatten().tolist()
    assert moved == rows
    counts = lora.trainable_counts(model)
    assert counts["embedding_row_parameters"] == len(rows) * ARCH["n_embd"]
    assert 0 < counts["adapter_parameters"] < counts["total_parameters"] / 2


def test_merged_export_gives_the_adapted_models_logits(data_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    model, _, _ = lora_model(data_dir)
    # LoRA's B starts at zero (the adapted model equals the base); give it weights to merge.
    torch.manual_seed(1)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=0.05)
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
    assert {"adapter_config.json", "adapter_model.safetensors", lora.ROWS_FILE} <= {
        p.name for p in (tmp_path / "adapter").iterdir()
    }
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["fan_in_fan_out"] and config["r"] == 4 and config["lora_alpha"] == 8


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
    assert (ckpt / lora.ROWS_FILE).is_file()
    from safetensors import safe_open

    with safe_open(str(ckpt / "model.safetensors"), "pt") as f:
        names = list(f.keys())
    assert names and all("lora_" in k for k in names)  # no frozen weights

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
