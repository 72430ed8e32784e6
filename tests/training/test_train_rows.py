"""Training's row reader (lyrics_gpt2.training.rows): row for row what datasets reads, from
splits stage tokenize wrote in many shards of many record batches and from plain
``save_to_disk`` folders, capped validation, DataLoader workers, and no shard left mapped."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.testing import write_tiny_dataset
from lyrics_gpt2.training.config import TrainArgs
from lyrics_gpt2.training.data import count_songs, get_dataloaders, load_data
from lyrics_gpt2.training.rows import SplitRows
from tests.pipeline.test_tokenize_stage import SMALL, random_chunks, run_stage, write_chunks


@pytest.fixture(scope="module")
def staged(tmp_path_factory, gpt2_tokenizer_dir) -> Path:
    """Stage tokenize's output (the real GPT-2 BPE, songs split into pieces) in shards of at
    most 20 KB and record batches of 7 rows: several shards, each of several batches."""
    from datasets import config

    out = tmp_path_factory.mktemp("staged")
    write_chunks(out, random_chunks(seed=5, n_chunks=3, per_chunk=150))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "MAX_SHARD_SIZE", "20KB")
        mp.setattr(config, "DEFAULT_MAX_BATCH_SIZE", 7)
        run_stage(out, gpt2_tokenizer_dir, *SMALL)
    return out


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A folder written by plain ``DatasetDict.save_to_disk`` (lyrics_gpt2.testing)."""
    return write_tiny_dataset(tmp_path_factory.mktemp("saved") / "data", piece_tokens=20)


def datasets_rows(data_dir: Path, split: str):
    """The rows as training read them before: datasets' numpy format over ids and lengths."""
    from datasets import load_from_disk

    ds = load_from_disk(str(data_dir / "tokenized"))[split]
    return ds, ds.select_columns(["input_ids", "length"]).with_format("numpy")


def assert_same_rows(rows, want, n: int) -> None:
    assert len(rows) == n
    for i in range(n):
        got, expected = rows[i], want[i]
        assert got.keys() == expected.keys()
        assert got["input_ids"].dtype == expected["input_ids"].dtype
        assert np.array_equal(got["input_ids"], expected["input_ids"]), i
        assert type(got["length"]) is type(expected["length"])
        assert got["length"] == expected["length"], i


@pytest.mark.parametrize("source", ["staged", "saved"])
@pytest.mark.parametrize("split", ["train", "validation"])
def test_every_row_is_the_row_datasets_reads(request, source, split):
    data_dir = request.getfixturevalue(source)
    ds, want = datasets_rows(data_dir, split)
    rows = SplitRows.open(data_dir / "tokenized" / split)
    assert_same_rows(rows, want, len(ds))
    assert rows[-1]["length"] == want[len(ds) - 1]["length"]
    with pytest.raises(IndexError):
        rows[len(ds)]
    assert rows.count_songs() == count_songs(ds) < len(ds)  # songs of several pieces


def test_stage_tokenize_wrote_many_shards_of_many_batches(staged):
    """What the reader is tested on above: otherwise the batch and shard seams go untested."""
    shards = sorted((staged / "tokenized" / "train").glob("data-*.arrow"))
    assert len(shards) > 2
    for shard in shards:
        with pa.OSFile(str(shard)) as f:
            sizes = [batch.num_rows for batch in pa.ipc.open_stream(f)]
        assert len(sizes) > 2 and max(sizes) == 7


def test_capped_validation_is_its_first_rows_and_counts_their_songs(staged):
    ds, want = datasets_rows(staged, "validation")
    data = load_data(staged, eval_max_songs=9)
    assert_same_rows(data.validation, want, 9)
    with pytest.raises(IndexError):
        data.validation[9]
    assert data.songs["validation"] == count_songs(ds.select(range(9)))
    assert data.validation.count_songs() == data.songs["validation"]
    assert len(data.train) == len(datasets_rows(staged, "train")[0])
    assert data.validation.head(3).head(100)[2]["length"] == want[2]["length"]


def test_workers_get_the_batches_one_process_gets(staged):
    """Forked DataLoader workers read through their own descriptors (the parent has opened
    its own first), and the batches are those of datasets' rows in the sampler's order."""
    from lyrics_gpt2.data import Collator

    data = load_data(staged)
    data.train[0]  # the parent's descriptor exists before the fork
    base = TrainArgs(batch_size=5, seed=2, model="tiny")
    alone = list(get_dataloaders(data, base)[0])
    workers = list(get_dataloaders(data, TrainArgs(**{**vars(base), "num_workers": 2}))[0])
    _, want = datasets_rows(staged, "train")
    collate = Collator(data.pad_token_id, data.seq_len)
    order = list(get_dataloaders(data, base)[2])
    expected = [collate([want[i] for i in order[k : k + 5]]) for k in range(0, len(order), 5)]
    assert len(alone) == len(workers) == len(expected) > 10
    for a, w, e in zip(alone, workers, expected, strict=True):
        for key in e:
            assert a[key].equal(e[key]) and w[key].equal(e[key]), key


def test_a_pickled_reader_opens_its_own_files(staged):
    rows = SplitRows.open(staged / "tokenized" / "train")
    first = rows[3]
    copy = pickle.loads(pickle.dumps(rows))
    assert copy._fds == {} and np.array_equal(copy[3]["input_ids"], first["input_ids"])


def test_no_shard_stays_mapped_after_opening_and_reading(staged):
    """The point of the reader: the shards' pages are not the process's (RSS)."""
    rows = SplitRows.open(staged / "tokenized" / "train")
    for i in range(len(rows)):
        rows[i]
    rows.count_songs()
    maps = Path("/proc/self/maps").read_text()
    assert str(staged / "tokenized") not in maps
    assert len(rows._fds) > 2  # read through descriptors of several shards


def test_a_truncated_shard_is_one_usage_error(staged, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(staged, copy, ignore=shutil.ignore_patterns("chunks", "*.parts"))
    shard = sorted((copy / "tokenized" / "train").glob("data-*.arrow"))[1]
    shard.write_bytes(shard.read_bytes()[:-100])
    with pytest.raises(UsageError, match=r"cannot read .*re-run preprocessing"):
        load_data(copy)
