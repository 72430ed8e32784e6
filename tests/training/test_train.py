"""Training end to end on CPU through the real entry point, plus the loss and resume mechanics.

The subprocess tests run ``accelerate launch lyrics_gpt2/train.py`` (and once plain ``python``)
on the tiny corpus of ``lyrics_gpt2.testing`` with the tiny preset shrunk further by flags.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from lyrics_gpt2.cli import run
from lyrics_gpt2.testing import subprocess_env, write_tiny_dataset

REPO = Path(__file__).resolve().parents[2]
SCRIPT = str(REPO / "lyrics_gpt2" / "train.py")
# Tiny preset, shrunk: 1 layer, 32 wide; a few dozen steps take seconds on one core.
SMALL = [
    "--preset",
    "tiny",
    "--model-config",
    "n_layer=1,n_embd=32,n_head=2",
    "--lr",
    "3e-3",
    "--epochs",
    "20",
]


def env() -> dict[str, str]:
    return subprocess_env(OMP_NUM_THREADS="1", TQDM_DISABLE="1")


def launch(*args: str, processes: int = 1, launcher: str = "accelerate"):
    if launcher == "python":
        cmd = [sys.executable, SCRIPT]
    elif processes == 1:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1"]
        cmd += ["--mixed_precision", "no", "--dynamo_backend", "no", "--num_machines", "1", SCRIPT]
    else:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file"]
        cmd += [str(REPO / "configs" / "accelerate" / "cpu-ddp.yaml"), SCRIPT]
    proc = subprocess.run(
        [*cmd, *args], capture_output=True, text=True, env=env(), cwd=REPO, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def losses(out: Path, kind: str = "train") -> dict[int, float]:
    key = "loss" if kind == "train" else "val_loss"
    return {r["step"]: r[key] for r in metrics(out) if r["kind"] == kind}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny") / "data")


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "model"
    launch(
        *SMALL,
        *("--data-dir", str(data_dir), "--output-dir", str(out)),
        *("--max-steps", "40", "--batch-size", "8", "--eval-every", "20"),
        *("--checkpoint-every", "20"),
    )
    return out


@pytest.mark.slow
def test_loss_falls_and_outputs_are_complete(trained):
    train, val = losses(trained), losses(trained, "val")
    assert sorted(val) == [0, 20, 40]
    assert len(train) == 40
    first, last = (
        np.mean([train[s] for s in range(1, 6)]),
        np.mean([train[s] for s in range(36, 41)]),
    )
    assert last < first - 0.5
    assert val[40] < val[0] - 0.5
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["final_val_loss"] == pytest.approx(val[40])
    assert summary["final_val_perplexity"] == pytest.approx(math.exp(val[40]))
    assert summary["base_model_kind"] == "scratch"
    # Relative to the model folder (issue 10, item 17), so the two can move together.
    assert summary["base_model"] == "untuned" and summary["base_model_fingerprint"]
    assert (trained / summary["base_model"]).resolve() == (trained / "untuned").resolve()
    assert summary["tokens_seen"] == sum(r["tokens"] for r in metrics(trained) if "tokens" in r)
    assert 0 < summary["padding_share"] < 1
    for name in ("train_loss.png", "val_loss.png", "val_loss_late.png"):
        assert (trained / name).read_bytes()[:4] == b"\x89PNG"
    record = next(r for r in metrics(trained) if r["kind"] == "train")
    assert {"step", "loss", "lr", "tokens_per_s"} <= set(record)
    # Checkpoints are kept for resuming; none is left half-written.
    assert [p.name for p in (trained / "checkpoints").iterdir()] == ["step-00000020"]


@pytest.mark.slow
def test_saved_folder_generates_with_pipeline(trained, data_dir):
    from transformers import AutoModelForCausalLM, pipeline

    gen = pipeline("text-generation", model=str(trained), device="cpu")
    text = gen("[Genre: Rap]", max_new_tokens=12)[0]["generated_text"]
    assert text.startswith("[Genre: Rap]") and len(text) > len("[Genre: Rap]")
    cfg = gen.model.generation_config
    assert cfg.do_sample and cfg.repetition_penalty >= 1.0 and 0.5 <= cfg.temperature <= 1.0
    manifest = json.loads((data_dir / "tokenized" / "manifest.json").read_text())
    assert cfg.max_new_tokens == manifest["seq_len"]
    assert cfg.eos_token_id == manifest["eos_token_id"]
    assert gen.tokenizer.convert_tokens_to_ids("[Genre: Pop]") == manifest["genre_token_ids"]["pop"]
    # The untrained weights of the from-scratch model load too, for "untuned" perplexity.
    untuned = AutoModelForCausalLM.from_pretrained(trained / "untuned")
    assert untuned.get_input_embeddings().weight.shape[0] == manifest["vocab_size"]


@pytest.mark.slow
def test_resume_reproduces_uninterrupted_losses(data_dir, tmp_path, capsys):
    """Dropout on, 3 batches per step and epochs of 14 batches: a checkpoint mid-epoch at step 7,
    copied to a fresh folder and resumed, must replay steps 8-15 exactly."""
    flags = [*SMALL, "--data-dir", str(data_dir), "--batch-size", "7", "--grad-accum", "3"]
    flags += ["--dropout", "0.1", "--max-steps", "15", "--epochs", "3", "--eval-every", "5"]
    flags += ["--checkpoint-every", "7", "--keep-checkpoints", "5"]
    full = tmp_path / "full"
    launch(*flags, "--output-dir", str(full), launcher="python")
    ckpt = full / "checkpoints" / "step-00000007"
    state = json.loads((ckpt / "train_state.json").read_text())
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (7, 1, 6)

    resumed = tmp_path / "resumed"
    shutil.copytree(ckpt, resumed / "checkpoints" / ckpt.name)
    launch(*flags, "--output-dir", str(resumed), "--resume", "latest")
    a, b = losses(full), losses(resumed)
    assert sorted(b) == list(range(8, 16))
    np.testing.assert_allclose([b[s] for s in b], [a[s] for s in b], rtol=1e-6)
    np.testing.assert_allclose(losses(resumed, "val")[15], losses(full, "val")[15], rtol=1e-6)
    # A resume with another batch size is refused: its data position would mean nothing.
    code, err = main_exit(capsys, *flags, "--output-dir", str(resumed), "--resume", "latest",
                          "--batch-size", "5")  # fmt: skip
    assert code == 2 and "batch_size 7 -> 5" in err


@pytest.mark.slow
def test_two_process_ddp(data_dir, tmp_path, trained):
    out = tmp_path / "ddp"
    launch(
        *SMALL,
        *("--data-dir", str(data_dir), "--output-dir", str(out)),
        *("--max-steps", "6", "--batch-size", "4", "--eval-every", "3", "--checkpoint-every", "3"),
        processes=2,
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["num_processes"] == 2
    # Same seed, same initial weights: the step-0 validation loss, gathered per token over both
    # processes, equals the single-process run's.
    assert losses(out, "val")[0] == pytest.approx(losses(trained, "val")[0], rel=1e-6)
    assert {"random_states_0.pkl", "random_states_1.pkl"} <= {
        p.name for p in (out / "checkpoints" / "step-00000003").iterdir()
    }
    assert losses(out, "val")[6] < losses(out, "val")[0]


@pytest.mark.slow
def test_logged_training_loss_counts_real_tokens_and_eos_only(trained, data_dir):
    """The first logged loss equals a hand-made per-token mean over each song of the first batch
    taken alone (no padding anywhere), end-of-text included, from the saved untrained weights."""
    from transformers import AutoModelForCausalLM

    from lyrics_gpt2.data import EpochShuffle, load_tokenized

    model = AutoModelForCausalLM.from_pretrained(trained / "untuned").eval()
    dataset, manifest = load_tokenized(data_dir)
    sampler = EpochShuffle(len(dataset["train"]), seed=42)  # the tiny preset's seed, epoch 0
    first_batch = list(sampler)[:8]
    nll, count, ends = 0.0, 0, 0
    with torch.no_grad():
        for i in first_batch:
            row = dataset["train"][i]
            song = row["input_ids"][: row["length"]]
            ends += song[-1] == manifest.eos_token_id
            logp = torch.log_softmax(model(torch.tensor([song])).logits[0].double(), dim=-1)
            nll -= sum(float(logp[t, song[t + 1]]) for t in range(len(song) - 1))
            count += len(song) - 1
    assert ends >= 4  # end-of-text is a target wherever the song fits
    lengths = [dataset["train"][i]["length"] for i in first_batch]
    assert len(set(lengths)) > 1  # so the batch was padded
    assert losses(trained)[1] == pytest.approx(nll / count, rel=1e-5)


def test_fine_tunes_a_local_model_lacking_the_genre_tokens(data_dir, tmp_path, capsys):
    """A local folder (e.g. GPT-2 saved offline) with the base vocabulary only: the genre rows are
    added, the run finishes, and the folder is recorded as the base model."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(data_dir / "tokenizer")
    base = tmp_path / "base"
    cfg = GPT2Config(vocab_size=len(tokenizer) - 2, n_positions=64, n_embd=16, n_layer=1, n_head=2)
    GPT2LMHeadModel(cfg).save_pretrained(base)
    out = tmp_path / "out"
    code, err = main_exit(
        capsys, "--model", str(base), "--data-dir", str(data_dir), "--output-dir", str(out),
        "--max-steps", "2", "--batch-size", "4", "--eval-max-songs", "4", "--lr", "1e-3",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["base_model"] == "../base" and summary["base_model_kind"] == "local"
    assert (out / summary["base_model"]).resolve() == base.resolve()
    assert summary["untuned_model"] is None and not (out / "untuned").exists()
    assert json.loads((out / "config.json").read_text())["vocab_size"] == len(tokenizer)


def test_local_model_with_another_vocabulary_is_refused(data_dir, tmp_path, capsys):
    import random

    from transformers import GPT2Config, GPT2LMHeadModel

    from lyrics_gpt2.testing import tiny_songs, train_tiny_tokenizer

    other = train_tiny_tokenizer(tiny_songs("rock", 40, random.Random(1)), ["rock"], 300)
    local = tmp_path / "other"
    cfg = GPT2Config(vocab_size=len(other), n_positions=64, n_embd=8, n_layer=1, n_head=2)
    GPT2LMHeadModel(cfg).save_pretrained(local)
    other.save_pretrained(local)
    code, err = main_exit(capsys, *model_on_data(local, data_dir, tmp_path))
    assert code == 2 and "another vocabulary" in err


# ------------------------------------------------------------------------------- bad input
def model_on_data(model, data_dir, tmp_path) -> list[str]:
    return ["--model", str(model), "--data-dir", str(data_dir), "--output-dir", str(tmp_path / "o")]


def main_exit(capsys, *argv: str) -> tuple[int, str]:
    from lyrics_gpt2.train import main

    code = run(main, list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def test_missing_data_dir(tmp_path, capsys):
    code, err = main_exit(capsys, *SMALL, "--data-dir", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err and "\n" not in err


def test_manifest_vocab_disagreeing_with_tokenizer(data_dir, tmp_path, capsys):
    bad = tmp_path / "data"
    shutil.copytree(data_dir, bad)
    manifest_path = bad / "tokenized" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["vocab_size"] += 5
    manifest_path.write_text(json.dumps(manifest))
    code, err = main_exit(
        capsys, *SMALL, "--data-dir", str(bad), "--output-dir", str(tmp_path / "out")
    )
    assert code == 2 and "vocabulary mismatch" in err


def test_empty_split(tmp_path, capsys):
    data = write_tiny_dataset(tmp_path / "data", val_per_genre=0)
    code, err = main_exit(
        capsys, *SMALL, "--data-dir", str(data), "--output-dir", str(tmp_path / "out")
    )
    assert code == 2 and "validation split" in err and "empty" in err


def test_unreachable_hub_id_hints_at_a_local_folder(data_dir, tmp_path, capsys):
    code, err = main_exit(
        capsys, "--model", "no-such-org/no-such-model", "--data-dir", str(data_dir),
        "--output-dir", str(tmp_path / "out"),
    )  # fmt: skip
    assert code == 2 and "--model DIR" in err and "\n" not in err


def test_model_with_more_tokens_than_the_data_tokenizer(data_dir, tmp_path, capsys):
    from transformers import GPT2Config, GPT2LMHeadModel

    local = tmp_path / "big"
    GPT2LMHeadModel(
        GPT2Config(vocab_size=5000, n_positions=64, n_embd=8, n_layer=1, n_head=2)
    ).save_pretrained(local)
    code, err = main_exit(capsys, *model_on_data(local, data_dir, tmp_path))
    assert code == 2 and "5000 token embeddings" in err


@pytest.mark.slow
def test_refuses_to_mix_a_fresh_run_into_old_checkpoints(trained, data_dir, capsys):
    code, err = main_exit(capsys, *SMALL, "--data-dir", str(data_dir), "--output-dir", str(trained))
    assert code == 2 and "--resume latest" in err
