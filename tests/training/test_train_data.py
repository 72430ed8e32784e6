"""What the training loop reads (lyrics_gpt2.training.data): checked splits and the two loaders."""

from __future__ import annotations

import shutil

import pytest

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.testing import write_tiny_dataset
from lyrics_gpt2.training.config import TrainArgs
from lyrics_gpt2.training.data import get_dataloaders, load_data


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_tiny_dataset(tmp_path_factory.mktemp("train-data") / "data")


def test_splits_carry_ids_and_lengths_only_and_validation_can_be_capped(data_dir):
    data = load_data(data_dir, eval_max_songs=3)
    assert set(data.train.column_names) == {"input_ids", "length"}
    assert len(data.validation) == 3 and len(data.train) > 3
    assert data.seq_len == data.manifest.seq_len
    assert data.tokenizer.eos_token_id == data.manifest.eos_token_id


def test_loaders_shuffle_by_seed_and_trim_batches_to_the_longest_song(data_dir):
    data = load_data(data_dir)
    args = TrainArgs(batch_size=4, seed=3, model="tiny")
    train, val, sampler = get_dataloaders(data, args)
    assert len(sampler) == len(data.train)
    first = next(iter(train))
    assert first["input_ids"].shape[0] == 4
    assert first["input_ids"].shape[1] == int(first["attention_mask"].sum(1).max())
    again = next(iter(get_dataloaders(data, args)[0]))
    assert first["input_ids"].equal(again["input_ids"])  # same seed, same first batch
    assert len(val) == -(-len(data.validation) // 4)


def test_a_folder_without_tokenized_data_is_one_usage_error(tmp_path, data_dir):
    with pytest.raises(UsageError, match="does not exist"):
        load_data(tmp_path / "missing")
    broken = tmp_path / "data"
    shutil.copytree(data_dir, broken)
    shutil.rmtree(broken / "tokenizer")
    with pytest.raises(UsageError, match="no tokenizer"):
        load_data(broken)


def test_whole_splits_take_their_song_count_from_the_manifest(data_dir, tmp_path):
    """Stage tokenize's manifest counts each split's songs; a whole split takes that number
    (counting the full dump's training split through datasets cost ~260 MB), a capped one is
    counted."""
    import json

    from datasets import load_from_disk

    from lyrics_gpt2.training.data import count_songs

    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    ds = load_from_disk(str(copy / "tokenized"))
    path = copy / "tokenized" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["splits"] = {name: len(ds[name]) for name in ds}
    manifest["split"] = {"songs": {"train": 12345, "validation": 999}}  # not what is there
    path.write_text(json.dumps(manifest))
    data = load_data(copy, eval_max_songs=3)
    assert data.songs["train"] == 12345  # read from the manifest, not counted
    assert data.songs["validation"] == count_songs(ds["validation"].select(range(3))) <= 3
    manifest["splits"]["train"] += 1  # the manifest describes another split: counted
    path.write_text(json.dumps(manifest))
    assert load_data(copy).songs["train"] == count_songs(ds["train"]) != 12345
