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
