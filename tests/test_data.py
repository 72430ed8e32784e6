"""collate: the batch is trimmed to its longest song; the mask and labels come from `length`."""

from __future__ import annotations

import torch

from lyrics_gpt2.data import IGNORE_INDEX, collate

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
