"""The genre vocabulary (lyrics_gpt2.genres): aliases, control tokens, and a model's genres."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.genres import (
    GENRE_TOKENS,
    TAGS,
    genre_token,
    model_genres,
    normalize_genre,
    resolve_genres,
)


def test_aliases_map_onto_genius_tags():
    assert normalize_genre(" Hip-Hop ") == "rap" and normalize_genre("R&B") == "rb"
    assert normalize_genre("polka") is None
    assert set(GENRE_TOKENS) == set(TAGS) and genre_token("rb") == "[Genre: R&B]"
    with pytest.raises(ValueError, match="unknown genre"):
        genre_token("polka")


@pytest.fixture(scope="module")
def tokenizer(tiny_trained):
    data_dir, _ = tiny_trained
    tok = AutoTokenizer.from_pretrained(data_dir / "tokenizer")
    tok.add_special_tokens({"additional_special_tokens": ["[Genre: Polka]", "[Genre: R&B]"]})
    return tok


def test_model_genres_in_tag_order_then_new_ones(tokenizer):
    found = model_genres(tokenizer)
    assert list(found) == ["pop", "rap", "rb", "polka"]
    assert found["polka"] == tokenizer.convert_tokens_to_ids("[Genre: Polka]")


def test_resolve_genres(tokenizer):
    known = model_genres(tokenizer)
    assert resolve_genres("both", known) == ["rap", "pop"]
    assert resolve_genres("Hip-Hop, rap, polka", known) == ["rap", "polka"]
    assert resolve_genres("all", known) == ["pop", "rap", "rb", "polka"]
    with pytest.raises(UsageError, match=r"no genre rock.*valid --genre values: pop, rap"):
        resolve_genres("rock", known)
    with pytest.raises(UsageError, match="no genre metal \\(= rock\\)"):
        resolve_genres("metal", known)
    with pytest.raises(UsageError, match="cannot be conditioned"):
        resolve_genres("rap", {})
