"""The exported model folder's tokenizer loads unchanged in transformers 5 (this venv) and 4.x
(vLLM and tools pinned to it): tokenizer_config.json names GPT2TokenizerFast and lists the genre
tokens under additional_special_tokens. The 4.x check runs where LYRICS_GPT2_TRANSFORMERS4_PYTHON
names a Python with transformers<5 (skipped otherwise)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

TEXTS = ["[Genre: Rap] yo  money\n\nhello <|endoftext|> ünïcode 😀", "  spaces\tand [Genre: Pop]"]
ENCODE = """
import json, sys
from transformers import AutoTokenizer
t = AutoTokenizer.from_pretrained(sys.argv[1])
texts = json.loads(sys.argv[2])
print(json.dumps({"ids": [t(x)["input_ids"] for x in texts], "special": t.all_special_tokens,
                  "eos": t.eos_token, "pad": t.pad_token}))
"""


def encoded(python: str, folder) -> dict:
    done = subprocess.run([python, "-c", ENCODE, str(folder), json.dumps(TEXTS)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_saved_config_names_a_class_both_transformers_have_and_lists_genre_tokens(tiny_trained):
    config = json.loads((tiny_trained[1] / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "GPT2TokenizerFast"
    assert {"[Genre: Pop]", "[Genre: Rap]"} <= set(config["additional_special_tokens"])
    assert not isinstance(config.get("extra_special_tokens"), list)


def test_transformers_5_gives_the_ids_of_tokenizer_json_itself(tiny_trained):
    import sys

    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(tiny_trained[1] / "tokenizer.json"))
    got = encoded(sys.executable, tiny_trained[1])
    assert got["ids"] == [raw.encode(t).ids for t in TEXTS]
    assert {"[Genre: Pop]", "[Genre: Rap]", "<|endoftext|>"} <= set(got["special"])
    assert got["eos"] == got["pad"] == "<|endoftext|>"


def test_transformers_4_loads_the_same_tokenizer(tiny_trained):
    python = os.environ.get("LYRICS_GPT2_TRANSFORMERS4_PYTHON")
    if not python:
        pytest.skip("set LYRICS_GPT2_TRANSFORMERS4_PYTHON to a Python with transformers<5")
    import sys

    old, new = encoded(python, tiny_trained[1]), encoded(sys.executable, tiny_trained[1])
    assert old == new
