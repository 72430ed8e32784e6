"""A tiny trained model folder for tests, notebooks and benchmarks, in seconds on a CPU.

``train_tiny_model(DATA_DIR, OUT)`` trains a small GPT-2 on ``DATA_DIR/tokenized`` (the data
contract of lyrics_gpt2.data) with a plain torch loop and writes what training writes: ``OUT``
(config, weights, generation config, tokenizer), ``OUT/untuned`` (the same architecture with its
initial weights) and ``OUT/summary.json`` naming it. It is not the training command (see
lyrics_gpt2/train.py); it only gives generation and perplexity a real model to work on.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lyrics_gpt2.data import collate, load_tokenized
from lyrics_gpt2.fileio import write_json
from lyrics_gpt2.tokenizer import load_tokenizer


def train_tiny_model(
    data_dir: str | Path,
    out: str | Path,
    steps: int = 80,
    batch_size: int = 16,
    n_embd: int = 64,
    n_layer: int = 2,
    lr: float = 3e-3,
    seed: int = 0,
) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    out = Path(out)
    dataset, manifest = load_tokenized(data_dir)
    tokenizer = load_tokenizer(Path(data_dir) / "tokenizer")
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=manifest.seq_len,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=2,
        bos_token_id=manifest.eos_token_id,
        eos_token_id=manifest.eos_token_id,
        pad_token_id=manifest.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.save_pretrained(out / "untuned")
    train = dataset["train"].with_format("numpy")
    rows = [{"input_ids": r["input_ids"], "length": r["length"]} for r in train]
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        pick = torch.randint(len(rows), (batch_size,), generator=gen).tolist()
        batch = collate([rows[i] for i in pick], manifest.pad_token_id)
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_json(
        out / "summary.json",
        {"untuned_model": "untuned", "steps": steps, "final_train_loss": float(loss.detach())},
    )
    return out
