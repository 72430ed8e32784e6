"""Continuing a finished model (--model DIR), gradient checkpointing and the padded vocabulary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from lyrics_gpt2.cli import run
from lyrics_gpt2.modeling import base_from_summary, build_model, pad_embeddings, unpad_embeddings
from lyrics_gpt2.testing import write_tiny_dataset
from lyrics_gpt2.tokenizer import load_tokenizer
from lyrics_gpt2.training.model_setup import checkpointing_enabled, enable_gradient_checkpointing

ARCH = {"n_layer": 2, "n_embd": 32, "n_head": 2, "n_positions": 64}


def main_exit(capsys, *argv: str) -> tuple[int, str]:
    from lyrics_gpt2.train import main

    code = run(main, list(argv))
    return code, capsys.readouterr().err.strip()


def val_losses(out: Path) -> dict[int, float]:
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return {r["step"]: r["val_loss"] for r in map(json.loads, lines) if r["kind"] == "val"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("options") / "data")


def a_batch(data_dir: Path, size: int = 6):
    from lyrics_gpt2.data import collate, load_tokenized

    dataset, manifest = load_tokenized(data_dir)
    rows = [dataset["train"].with_format("numpy")[i] for i in range(size)]
    return collate([{k: r[k] for k in ("input_ids", "length")} for r in rows],
                   manifest.pad_token_id)  # fmt: skip


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(data_dir):
    tok = load_tokenizer(data_dir / "tokenizer")
    torch.manual_seed(0)
    plain, _ = build_model("tiny", tok, model_config=ARCH, dropout=0.1)
    ckpt, _ = build_model("tiny", tok, model_config=ARCH, dropout=0.1)
    ckpt.load_state_dict(plain.state_dict())
    enable_gradient_checkpointing(ckpt)
    assert checkpointing_enabled(ckpt) and not checkpointing_enabled(plain)
    batch = a_batch(data_dir)
    results = []
    for model in (plain, ckpt):
        model.train()
        torch.manual_seed(5)  # same dropout masks; the recomputation restores the RNG state
        loss = model(**batch).loss
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in model.named_parameters()}))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.equal(loss_a, loss_b)
    for name, grad in grads_a.items():
        torch.testing.assert_close(grads_b[name], grad, rtol=1e-5, atol=1e-7)


def test_padded_vocabulary_never_scores_or_samples_a_pad_row(data_dir):
    tok = load_tokenizer(data_dir / "tokenizer")
    vocab = len(tok)
    torch.manual_seed(0)
    model, _ = build_model("tiny", tok, model_config=ARCH, dropout=0.0)
    plain_loss = model(**a_batch(data_dir)).loss
    pad_embeddings(model, vocab, 64)
    rows = model.get_input_embeddings().weight.shape[0]
    assert rows % 64 == 0 and rows > vocab
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied
    out = model(**a_batch(data_dir))
    assert torch.isneginf(out.logits[..., vocab:]).all()
    # Pad rows take no probability mass: the loss is the unpadded model's.
    torch.testing.assert_close(out.loss, plain_loss)
    model.eval()
    sampled = model.generate(
        torch.full((16, 1), tok.eos_token_id), attention_mask=torch.ones(16, 1, dtype=torch.long),
        do_sample=True, top_k=0, temperature=5.0, max_new_tokens=60, min_new_tokens=60,
        pad_token_id=tok.eos_token_id,
    )  # fmt: skip
    assert int(sampled.max()) < vocab
    unpad_embeddings(model, vocab)
    assert model.get_input_embeddings().weight.shape[0] == vocab == model.config.vocab_size
    assert model.get_output_embeddings()._forward_hooks == {}


@pytest.mark.slow
def test_continuing_a_finished_model_starts_from_its_weights(data_dir, tmp_path, capsys):
    common = ["--preset", "tiny", "--data-dir", str(data_dir), "--batch-size", "8"]
    common += ["--eval-every", "0", "--checkpoint-every", "0", "--lr", "3e-3"]
    parent = tmp_path / "parent"
    code, err = main_exit(
        capsys, *common, "--model-config", "n_layer=1,n_embd=32,n_head=2,n_positions=64",
        "--output-dir", str(parent), "--max-steps", "12", "--pad-vocab", "64",
    )  # fmt: skip
    assert code == 0, err
    child = tmp_path / "child"
    code, err = main_exit(
        capsys, *common, "--model", str(parent), "--output-dir", str(child), "--max-steps", "4",
        "--warmup-steps", "2",
    )  # fmt: skip
    assert code == 0, err
    parent_summary = json.loads((parent / "summary.json").read_text())
    summary = json.loads((child / "summary.json").read_text())
    assert val_losses(child)[0] == pytest.approx(parent_summary["final_val_loss"], rel=1e-5)
    assert summary["parent"]["path"] == str(parent.resolve())
    assert summary["parent"]["final_val_loss"] == parent_summary["final_val_loss"]
    assert summary["steps"] == 4  # its own schedule, not the parent's
    # The base is still the original untuned model, for the perplexity command too.
    assert (child / summary["base_model"]).resolve() == (parent / "untuned").resolve()
    assert Path(base_from_summary(child)).resolve() == (parent / "untuned").resolve()

    # Data of another tokenizer (one more genre token) is refused in one line.
    other = write_tiny_dataset(tmp_path / "other", genres=("pop", "rap", "rock"))
    code, err = main_exit(
        capsys, "--preset", "tiny", "--data-dir", str(other), "--model", str(parent),
        "--output-dir", str(tmp_path / "refused"), "--max-steps", "1",
    )  # fmt: skip
    assert code == 2 and "\n" not in err and "tokeniz" in err


def test_base_from_summary_follows_a_recorded_parent(tiny_trained, tmp_path):
    """A child that recorded its parent folder as base still reaches the parent's own base."""
    from lyrics_gpt2.fileio import write_json
    from lyrics_gpt2.training.outputs import summary_base

    _, parent = tiny_trained
    child = tmp_path / "child"
    child.mkdir()
    write_json(child / "summary.json", {"base_model": str(parent)})
    assert base_from_summary(child) == str((parent / "untuned").resolve())
    recorded = summary_base(child, str(parent), "local")
    assert (child / recorded["base_model"]).resolve() == (parent / "untuned").resolve()
    shutil.rmtree(child)
