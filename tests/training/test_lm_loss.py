"""The sliced output layer and loss (lyrics_gpt2.evaluation.lm_loss) against the model's own loss: the same
values and gradients, with padding, pad rows (--pad-vocab) and LoRA's wrapped output layer."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lyrics_gpt2.data import IGNORE_INDEX
from lyrics_gpt2.evaluation.lm_loss import final_hidden, sliced_loss, sliced_nll
from lyrics_gpt2.evaluation.scoring import score_songs, song_nll
from lyrics_gpt2.modeling import pad_embeddings

VOCAB = 503


def tiny_model(seed: int = 0) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=VOCAB, n_positions=64, n_embd=32, n_layer=2, n_head=2)
    config.resid_pdrop = config.embd_pdrop = config.attn_pdrop = 0.0  # the two runs must agree
    return GPT2LMHeadModel(config).train()


def batch(seed: int = 1) -> dict[str, torch.Tensor]:
    """Three rows of different lengths, right-padded; position 0 and padding are not targets."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, VOCAB, (3, 40), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 25:] = 0
    mask[2, 9:] = 0
    labels = ids.masked_fill(mask == 0, IGNORE_INDEX)
    labels[:, 0] = IGNORE_INDEX
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
def test_the_sliced_loss_and_its_gradients_equal_the_models_own(chunk):
    b = batch()
    plain = tiny_model()
    want = plain(**b).loss
    want.backward()
    sliced = tiny_model()
    hidden, head = final_hidden(sliced, b["input_ids"], b["attention_mask"])
    got = sliced_loss(hidden, head, b["labels"], chunk)
    got.backward()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    want_g, got_g = grads(plain), grads(sliced)
    assert want_g.keys() == got_g.keys() and "transformer.wte.weight" in got_g
    for name in want_g:
        torch.testing.assert_close(got_g[name], want_g[name], rtol=1e-5, atol=1e-7, msg=name)


def test_pad_rows_of_the_output_layer_take_no_probability_in_the_sliced_loss():
    b = batch()
    plain, sliced = tiny_model(), tiny_model()
    for model in (plain, sliced):
        pad_embeddings(model, VOCAB, 64)  # 503 -> 512 rows, the extra 9 masked to -inf
    want = plain(**b).loss
    hidden, head = final_hidden(sliced, b["input_ids"], b["attention_mask"])
    got = sliced_loss(hidden, head, b["labels"], 16)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    want.backward()
    got.backward()
    torch.testing.assert_close(
        sliced.transformer.wte.weight.grad, plain.transformer.wte.weight.grad, rtol=1e-5, atol=1e-7
    )


def test_lora_genre_rows_learn_through_the_sliced_loss_as_through_the_models_own():
    from lyrics_gpt2.training import lora

    b = batch()
    models = [
        lora.apply_lora(tiny_model(), rank=4, dropout=0.0, trainable_rows=[500, 501])
        for _ in range(2)
    ]
    want = models[0](**b).loss
    want.backward()
    hidden, head = final_hidden(models[1], b["input_ids"], b["attention_mask"])
    got = sliced_loss(hidden, head, b["labels"], 11)
    got.backward()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    want_g, got_g = grads(models[0]), grads(models[1])
    assert want_g.keys() == got_g.keys()
    assert any("token_adapter" in n for n in got_g), "the genre rows must get a gradient"
    for name in want_g:
        torch.testing.assert_close(got_g[name], want_g[name], rtol=1e-5, atol=1e-7, msg=name)


def test_sliced_scoring_gives_each_rows_nll_as_the_full_logits_do():
    b = batch()
    model = tiny_model().eval()
    with torch.no_grad():
        logits = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
        want_nll, want_count = song_nll(logits, b["labels"])
        hidden, head = final_hidden(model, b["input_ids"], b["attention_mask"])
    per_position = sliced_nll(hidden, head, b["labels"], 5)
    assert per_position.shape == (3, 39)
    assert torch.all(per_position[b["labels"][:, 1:] == IGNORE_INDEX] == 0)
    torch.testing.assert_close(
        per_position.sum(1, dtype=torch.float64), want_nll, rtol=1e-6, atol=0
    )
    scores = score_songs(model, [b])
    torch.testing.assert_close(torch.from_numpy(scores.nll), want_nll, rtol=1e-6, atol=0)
    assert scores.tokens.tolist() == want_count.tolist() == [39, 24, 8]


def test_no_slice_of_logits_is_wider_than_the_chunk():
    """The memory bound: the output layer never sees more than ``chunk`` positions at once."""
    b = batch()
    model = tiny_model()
    widths: list[int] = []
    model.lm_head.register_forward_hook(lambda _m, args, _out: widths.append(args[0].shape[-2]))
    hidden, head = final_hidden(model, b["input_ids"], b["attention_mask"])
    assert widths == [1]  # the model's own logits: one position per row
    widths.clear()
    sliced_loss(hidden, head, b["labels"], 13).backward()
    # 3 x 40 positions in slices of 13: 10 slices, of which 4 hold only padding (positions
    # 65-77 between row 1's end and row 2's start, and 91-119 past row 2's 9 tokens): skipped.
    assert widths == [13] * 6


# ----------------------------------------------------------------- the training command's use
def train_run(tmp_path, data_dir, name: str, *extra: str) -> list[dict]:
    from lyrics_gpt2.cli import run
    from lyrics_gpt2.train import main

    out = tmp_path / name
    argv = ["--preset", "tiny", "--data-dir", str(data_dir), "--output-dir", str(out)]
    argv += ["--model-config", "n_layer=1,n_embd=32,n_head=2,n_positions=64", "--batch-size", "4"]
    argv += ["--max-steps", "4", "--eval-every", "2", "--checkpoint-every", "0", "--log-every", "1"]
    argv += ["--eval-max-songs", "8"]
    assert run(main, [*argv, *extra]) == 0
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from lyrics_gpt2.testing import write_tiny_dataset

    return write_tiny_dataset(tmp_path_factory.mktemp("lm-loss") / "data")


def test_training_with_sliced_loss_follows_the_same_losses_as_with_the_models_own(
    tmp_path, data_dir
):
    whole = train_run(tmp_path, data_dir, "whole", "--loss-chunk", "0")
    sliced = train_run(tmp_path, data_dir, "sliced", "--loss-chunk", "5")
    default = train_run(tmp_path, data_dir, "default")  # CPU: sliced, 256 positions
    kinds = [(r["kind"], r["step"]) for r in whole]
    assert (
        kinds
        == [(r["kind"], r["step"]) for r in sliced]
        == [(r["kind"], r["step"]) for r in default]
    )
    assert ("val", 0) in kinds and ("train", 4) in kinds
    for a, b, c in zip(whole, sliced, default, strict=True):
        key = "loss" if a["kind"] == "train" else "val_loss"
        assert a[key] == pytest.approx(b[key], rel=1e-4) == pytest.approx(c[key], rel=1e-4)


def test_no_eval_at_start_leaves_out_the_step_0_validation_only(tmp_path, data_dir):
    records = train_run(tmp_path, data_dir, "late", "--no-eval-at-start")
    assert [r["step"] for r in records if r["kind"] == "val"] == [2, 4]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("requested", "device", "compiled", "chunk"),
    [(None, "cpu", False, 256), (None, "cuda", False, 0), (None, "cpu", True, 0),
     (0, "cpu", False, 0), (64, "cuda", True, 64)],
)  # fmt: skip
def test_the_default_slices_on_cpu_and_keeps_the_gpu_recipe_whole(
    requested, device, compiled, chunk
):
    from lyrics_gpt2.evaluation.lm_loss import choose_chunk

    assert choose_chunk(requested, device, compiled) == chunk


def test_a_negative_loss_chunk_is_refused_in_one_line(tmp_path, capsys):
    from lyrics_gpt2.cli import run
    from lyrics_gpt2.train import main

    code = run(
        main, ["--preset", "tiny", "--loss-chunk", "-1", "--output-dir", str(tmp_path / "m")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--loss-chunk must not be negative" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_gradient_checkpointing_and_the_sliced_loss_give_the_models_own_gradients():
    from lyrics_gpt2.training.model_setup import enable_gradient_checkpointing

    b = batch()
    plain, sliced = tiny_model(), tiny_model()
    enable_gradient_checkpointing(sliced)
    want = plain(**b).loss
    want.backward()
    hidden, head = final_hidden(sliced, b["input_ids"], b["attention_mask"])
    got = sliced_loss(hidden, head, b["labels"], 17)
    got.backward()
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)
    want_g, got_g = grads(plain), grads(sliced)
    assert want_g.keys() == got_g.keys()
    for name in want_g:
        torch.testing.assert_close(got_g[name], want_g[name], rtol=1e-5, atol=1e-7, msg=name)
