"""Tokenizers (lyrics_gpt2/tokenizer.py): loading, the from-scratch byte-level BPE, the genre tokens,
and the vocabulary checks that training, perplexity and the tokenize stage share."""

from __future__ import annotations

import pytest

from lyrics_gpt2 import tokenizer as tokenizers
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.genres import GENRE_TOKENS

TEXTS = ["love me tender\nlove me true", "money on my mind\n\nmoney in the bank"] * 10


def test_parse_bpe_spec():
    assert tokenizers.parse_bpe_spec("bpe:8000") == 8000
    assert tokenizers.parse_bpe_spec(" bpe:300 ") == 300
    assert tokenizers.parse_bpe_spec("gpt2") is None
    assert tokenizers.parse_bpe_spec("bpe:many") is None


def test_train_bpe_round_trips_bytes_and_has_eos():
    tok = tokenizers.train_bpe(TEXTS, 300)
    assert tok.eos_token == tok.bos_token == tokenizers.EOS
    assert tokenizers.MIN_VOCAB <= len(tok) <= 300
    for text in [*TEXTS[:2], "unseen ünïcode 🎵\n  spaces"]:
        assert tok.decode(tok(text)["input_ids"]) == text


def test_add_genre_tokens_single_ids_and_pad_is_eos():
    tok = tokenizers.train_bpe(TEXTS, 300)
    before = len(tok)
    ids = tokenizers.add_genre_tokens(tok, ["pop", "rap"])
    assert list(ids) == ["pop", "rap"] and len(tok) == before + 2
    for g, i in ids.items():
        assert tok(GENRE_TOKENS[g])["input_ids"] == [i]
        assert tok(f"la {GENRE_TOKENS[g]} la")["input_ids"].count(i) == 1
    assert tok.pad_token_id == tok.eos_token_id
    # Adding more keeps the earlier ones (the stage adds every genre present at once).
    more = tokenizers.add_genre_tokens(tok, ["rock"])
    assert tok.convert_tokens_to_ids(GENRE_TOKENS["pop"]) == ids["pop"]
    assert more["rock"] == before + 2


def test_add_genre_tokens_needs_an_eos():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"a": 0}, "a")))
    with pytest.raises(UsageError, match="no end-of-text token"):
        tokenizers.add_genre_tokens(tok, ["pop"])


def test_load_tokenizer_and_has_tokenizer(tmp_path):
    tok = tokenizers.train_bpe(TEXTS, 300)
    tokenizers.add_genre_tokens(tok, ["pop"])
    tok.save_pretrained(tmp_path / "tok")
    loaded = tokenizers.load_tokenizer(tmp_path / "tok")
    assert loaded.get_vocab() == tok.get_vocab()
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "config.json").write_text("{}")
    assert tokenizers.has_tokenizer(tmp_path / "tok") and tokenizers.has_tokenizer("gpt2")
    assert not tokenizers.has_tokenizer(tmp_path / "weights")
    with pytest.raises(UsageError, match="no tokenizer in"):
        tokenizers.load_tokenizer(tmp_path / "weights")


def test_load_source_tokenizer(gpt2_tokenizer_dir, tmp_path):
    tok = tokenizers.load_source_tokenizer(str(gpt2_tokenizer_dir))
    assert tok.is_fast and len(tok) == 50257
    with pytest.raises(UsageError, match=r"needs the Hugging Face hub.*gpt2_vocab"):
        tokenizers.load_source_tokenizer("gpt2")
    with pytest.raises(UsageError, match="cannot load tokenizer"):
        tokenizers.load_source_tokenizer(str(tmp_path))


def test_mismatched_tokens_and_the_vocab_prefix_check(gpt2_tokenizer_dir, tmp_path):
    gpt2 = tokenizers.load_tokenizer(gpt2_tokenizer_dir)
    data_tok = tokenizers.load_tokenizer(gpt2_tokenizer_dir)
    tokenizers.add_genre_tokens(data_tok, ["pop", "rap"])
    # The data's tokenizer extends GPT-2's: GPT-2's ids all agree; the other way round, the
    # genre tokens are missing from GPT-2, which counts only when missing is not ok.
    assert tokenizers.mismatched_tokens(gpt2, data_tok) == []
    assert sorted(tokenizers.mismatched_tokens(data_tok, gpt2)) == ["[Genre: Pop]", "[Genre: Rap]"]
    assert tokenizers.mismatched_tokens(data_tok, gpt2, missing_ok=True) == []
    small = tokenizers.train_bpe(TEXTS, 300)
    assert len(tokenizers.mismatched_tokens(small, gpt2, missing_ok=True)) > 100

    tokenizers.check_vocab_prefix(str(gpt2_tokenizer_dir), data_tok)
    tokenizers.check_vocab_prefix(str(tmp_path), data_tok)  # no tokenizer there: nothing to check
    with pytest.raises(UsageError, match="another vocabulary"):
        tokenizers.check_vocab_prefix(str(gpt2_tokenizer_dir), small)


def test_check_data_vocab():
    tok = tokenizers.train_bpe(TEXTS, 300)
    ids = tokenizers.add_genre_tokens(tok, ["pop", "rap"])
    tokens = {g: GENRE_TOKENS[g] for g in ids}
    tokenizers.check_data_vocab(tok, len(tok), ids, tokens, "DIR/tokenizer")
    tokenizers.check_data_vocab(tok, None, {}, {}, "DIR/tokenizer")
    with pytest.raises(UsageError, match="tokenized with 5 tokens but DIR/tokenizer holds"):
        tokenizers.check_data_vocab(tok, 5, ids, tokens, "DIR/tokenizer")
    swapped = {"pop": ids["rap"], "rap": ids["pop"]}
    with pytest.raises(UsageError, match="genre pop is id"):
        tokenizers.check_data_vocab(tok, len(tok), swapped, tokens, "DIR/tokenizer")


def _all_fixture_texts() -> list[str]:
    """Every field of every test fixture and of the bundled sample (lyrics, titles, names)."""
    import csv
    import gzip
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    csv.field_size_limit(1 << 30)
    texts = []
    paths = [*sorted((repo / "tests" / "fixtures").glob("*.csv")), repo / "data" / "sample.csv.gz"]
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as f:
            texts.extend(field for row in csv.reader(f) for field in row if field)
    return texts


def test_tiktoken_encoder_gives_the_hf_tokenizers_ids(gpt2_tokenizer_dir, tmp_path):
    from tokenizers import Tokenizer

    # The staged tokenizer of the stage: GPT-2 plus genre tokens, saved again.
    tok = tokenizers.load_source_tokenizer(str(gpt2_tokenizer_dir))
    tokenizers.add_genre_tokens(tok, ["pop", "rap"])
    tok.save_pretrained(tmp_path / "staged")
    path = tmp_path / "staged" / "tokenizer.json"
    fast = tokenizers.Encoder(path)
    assert fast.kind == "tiktoken"
    reference = Tokenizer.from_file(str(path))
    texts = _all_fixture_texts()
    assert len(texts) > 50_000
    texts += ["  leading spaces\n\n\n  and\r\n CRLF \t tabs", "I'm we've they'll 'd 123 4567", ""]
    expected = [e.ids for e in reference.encode_batch(texts, add_special_tokens=False)]
    assert fast.encode_batch(texts) == expected
    assert tokenizers.Encoder(path, use_tiktoken=False).encode_batch(texts[:200]) == expected[:200]
    # Bytes per token: the ids of a text add up to its UTF-8 length.
    text = "café 🎵 déjà vu\n"
    assert fast.token_bytes[fast.encode_batch([text])[0]].sum() == len(text.encode())


def test_encoder_uses_the_rust_tokenizer_for_other_vocabularies(tmp_path):
    tok = tokenizers.train_bpe(TEXTS, 300)
    tok.save_pretrained(tmp_path / "bpe")
    enc = tokenizers.Encoder(tmp_path / "bpe" / "tokenizer.json")
    assert enc.kind == "tokenizers"
    assert enc.encode_batch(TEXTS[:2]) == [tok(t)["input_ids"] for t in TEXTS[:2]]
    assert enc.token_bytes is not None  # byte-level: long songs can still be cut at lines
