"""The tiny dataset used by training/generation tests honours the tokenized-data contract."""

from __future__ import annotations

from transformers import AutoTokenizer

from lyrics_gpt2.data import collate, features, load_tokenized
from lyrics_gpt2.genres import GENRE_TOKENS
from lyrics_gpt2.testing import write_tiny_dataset


def test_tiny_dataset_follows_contract(tmp_path):
    write_tiny_dataset(tmp_path, seq_len=48)
    ds, manifest = load_tokenized(tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path / "tokenizer")
    assert set(ds) == {"train", "validation"}
    assert ds["train"].features == ds["validation"].features == features("uint16")
    assert len(tok) == manifest.vocab_size
    for genre, token in manifest.genre_tokens.items():
        assert token == GENRE_TOKENS[genre]
        assert tok(token)["input_ids"] == [manifest.genre_token_ids[genre]]
    row = ds["train"][0]
    assert len(row["input_ids"]) == 48
    assert row["input_ids"][0] == manifest.genre_token_ids[row["genre"]]
    short = next(r for r in ds["train"] if r["length"] < 48)
    assert short["input_ids"][short["length"] - 1] == manifest.eos_token_id
    assert not set(ds["train"]["artist"]) & set(ds["validation"]["artist"])
    batch = collate(ds["train"].select(range(4)).to_list(), manifest.pad_token_id)
    assert batch["input_ids"].shape[1] == max(ds["train"].select(range(4))["length"])


def test_tiny_model_folder_is_what_training_writes(tiny_trained):
    from transformers import AutoModelForCausalLM, GenerationConfig

    from lyrics_gpt2.fileio import read_json
    from lyrics_gpt2.modeling import base_from_summary

    _, model_dir = tiny_trained
    for folder in (model_dir, model_dir / "untuned"):
        for name in (
            "config.json",
            "model.safetensors",
            "generation_config.json",
            "tokenizer.json",
        ):
            assert (folder / name).is_file(), folder / name
    summary = read_json(model_dir / "summary.json")
    assert summary["base_model_kind"] == "scratch" and summary["steps"] == 80
    assert base_from_summary(model_dir) == str((model_dir / "untuned").resolve())
    assert GenerationConfig.from_pretrained(model_dir).do_sample
    tuned = AutoModelForCausalLM.from_pretrained(model_dir).transformer.wte.weight
    untuned = AutoModelForCausalLM.from_pretrained(model_dir / "untuned").transformer.wte.weight
    assert tuned.shape == untuned.shape and not tuned.equal(untuned)


def test_subprocess_env_puts_this_checkout_first(monkeypatch):
    import os
    import subprocess
    import sys

    from lyrics_gpt2.testing import REPO, subprocess_env

    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = subprocess_env(EXTRA="1")
    assert env["PYTHONPATH"].split(os.pathsep) == [str(REPO), "/elsewhere"] and env["EXTRA"] == "1"
    where = subprocess.run(
        [sys.executable, "-c", "import lyrics_gpt2; print(lyrics_gpt2.__file__)"],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(REPO))


def test_exit_code_is_what_the_shell_would_see():
    from lyrics_gpt2.cli import ArgumentParser
    from lyrics_gpt2.errors import UsageError
    from lyrics_gpt2.testing import exit_code

    def main(argv):
        args = ArgumentParser(prog="x").parse_args(argv) if argv != ["bad"] else None
        if args is None:
            raise UsageError("bad input")
        return 0

    assert exit_code(main, []) == 0
    assert exit_code(main, ["bad"]) == 2
    assert exit_code(main, ["--nope"]) == 2
