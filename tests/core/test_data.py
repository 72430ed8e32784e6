"""The tokenized-data contract (lyrics_gpt2/data.py): the features, the manifest, loading, and
batches: collate trims to the longest song and takes mask and labels from `length`; Collator
widens to a multiple; EpochShuffle depends only on seed and epoch."""

from __future__ import annotations

import json

import pytest
import torch

from lyrics_gpt2.data import COLUMNS, IGNORE_INDEX, Manifest, collate, features, load_tokenized
from lyrics_gpt2.errors import UsageError

EOS = 50256  # GPT-2's end-of-text, also used as pad


def test_trimmed_masked_and_eos_kept_when_pad_equals_eos():
    rows = [
        {"input_ids": [7, 1, 2, EOS] + [EOS] * 6, "length": 4},
        {"input_ids": [9, 3, EOS] + [EOS] * 7, "length": 3},
    ]
    batch = collate(rows, pad_token_id=EOS)
    assert batch["input_ids"].shape == (2, 4)
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    # End-of-text is a target in both songs; only the real padding is ignored.
    assert batch["labels"].tolist() == [[7, 1, 2, EOS], [9, 3, EOS, IGNORE_INDEX]]


def test_full_length_song_has_no_padding():
    rows = [{"input_ids": list(range(1, 6)), "length": 5}]
    batch = collate(rows, pad_token_id=0)
    assert torch.equal(batch["labels"], batch["input_ids"])
    assert batch["attention_mask"].all()


def test_features_are_the_columns_in_order_with_the_stored_types():
    f = features("uint16")
    assert tuple(f) == COLUMNS
    schema = f.arrow_schema
    assert str(schema.field("input_ids").type) == "list<item: uint16>"
    assert str(features("int32").arrow_schema.field("input_ids").type) == "list<item: int32>"
    assert COLUMNS == ("input_ids", "length", "genre", "id", "piece", "artist")
    assert [str(schema.field(c).type) for c in COLUMNS[1:]] == [
        "int32",
        "string",
        "string",
        "int32",
        "string",
    ]


def test_manifest_reads_the_keys_readers_need_and_names_missing_ones(tmp_path):
    raw = {
        "seq_len": 40,
        "pad_token_id": 7,
        "eos_token_id": 7,
        "vocab_size": 300,
        "genre_token_ids": {"pop": 298, "rap": 299},
        "genre_tokens": {"pop": "[Genre: Pop]", "rap": "[Genre: Rap]"},
        "counts": {"anything": 1},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    m = Manifest.read(path)
    assert (m.seq_len, m.pad_token_id, m.eos_token_id, m.vocab_size) == (40, 7, 7, 300)
    assert m.genre_token_ids == {"pop": 298, "rap": 299}
    assert m.genre_tokens["rap"] == "[Genre: Rap]" and m.raw == raw
    assert Manifest.read(tmp_path / "absent.json") is None
    assert (
        Manifest.from_dict({"seq_len": 4, "pad_token_id": 0, "eos_token_id": 0}).vocab_size is None
    )
    with pytest.raises(UsageError, match=r"manifest.json lacks pad_token_id, eos_token_id"):
        Manifest.from_dict({"seq_len": 4}, path)


def test_load_tokenized_says_what_to_run_when_missing(tmp_path):
    with pytest.raises(UsageError, match=r"no tokenized data.*pipeline\.preprocess"):
        load_tokenized(tmp_path)


def test_padding_ids_never_matter_but_the_eos_target_does():
    from transformers import GPT2Config, GPT2LMHeadModel

    from lyrics_gpt2.data import Collator

    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=40, n_positions=32, n_embd=16, n_layer=1, n_head=2)
    )
    model.eval()
    eos = 3
    songs = [[30, 5, 6, 7, eos], [31, 8, 9, 10, 11, 12, 13, eos]]

    def rows(pad, last=eos):
        return [
            {"input_ids": [*s[:-1], last] + [pad] * (16 - len(s)), "length": len(s)} for s in songs
        ]

    def loss(batch):
        with torch.no_grad():
            return float(model(**batch).loss)

    base = loss(Collator(eos, 16)(rows(eos)))
    assert loss(Collator(0, 16)(rows(eos))) == pytest.approx(base, abs=1e-6)
    assert loss(Collator(eos, 16, multiple=16)(rows(17))) == pytest.approx(base, abs=1e-6)
    assert loss(Collator(eos, 16)(rows(eos, last=25))) != pytest.approx(base, abs=1e-4)
    batch = Collator(eos, 16, multiple=8)(rows(eos))
    assert batch["input_ids"].shape[1] == 8 and int((batch["labels"] == 3).sum()) == 2


def test_epoch_shuffle_depends_only_on_seed_and_epoch():
    from lyrics_gpt2.data import EpochShuffle

    a, b = EpochShuffle(50, seed=1), EpochShuffle(50, seed=1)
    b.set_epoch(3)
    b.set_epoch(1)
    a.set_epoch(1)
    assert list(a) == list(b) and sorted(a) == list(range(50))
    a.set_epoch(2)
    assert list(a) != list(b)


def test_epoch_shuffle_is_torch_randperm_without_holding_a_list_of_ints():
    """The order is torch.randperm's (runs resumed from older checkpoints replay it), but an
    epoch is not held as a list of Python ints (~40 bytes a row: ~225 MB at the full dump's
    5.6M training rows)."""
    import tracemalloc

    import torch

    from lyrics_gpt2.data import EpochShuffle

    sampler = EpochShuffle(200_003, seed=4)
    sampler.set_epoch(2)
    g = torch.Generator().manual_seed(4 * 100_003 + 2)
    assert list(sampler) == torch.randperm(200_003, generator=g).tolist()
    tracemalloc.start()
    try:
        order = iter(EpochShuffle(2_000_000, seed=0))
        first = next(order)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert isinstance(first, int) and held < 20 * 2**20  # a list of 2M ints: ~75 MB
