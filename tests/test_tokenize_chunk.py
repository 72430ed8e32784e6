"""One chunk of stage tokenize (pipeline/tokenize/chunk.py): each pure step on hand-made arrays,
then ``encode_chunk`` on a real chunk file with the GPT-2 BPE (write, reuse, force)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lyrics_gpt2 import data
from lyrics_gpt2.cli import UsageError
from pipeline.tokenize import chunk
from pipeline.tokenize.chunk import ChunkTask


def task_for(tmp_path: Path, tokenizer_dir: Path, **changes) -> ChunkTask:
    task = ChunkTask(
        chunk=tmp_path / "chunk-03.parquet",
        part=tmp_path / "parts" / "chunk-03.arrow",
        index=3,
        key="k1",
        force=False,
        tokenizer_json=tokenizer_dir / "tokenizer.json",
        genres=("pop", "rap"),
        genre_ids={"pop": 50257, "rap": 50258},
        eos=50256,
        pad=50256,
        control_tokens=("[Genre: Pop]", "[Genre: Rap]", "<|endoftext|>"),
        dtype="uint16",
        schema=data.features("uint16").arrow_schema.remove_metadata(),
        min_tokens=3,
        max_tokens=12,
        seq_len=8,
        seed=0,
    )
    return replace(task, **changes)


def test_control_filter_marks_empty_and_control_tokens_apart():
    lyrics = pa.chunked_array([["la la", "  \n", None, "a [Genre: Rap] b", "x<|endoftext|>", ""]])
    empty, control = chunk.control_filter(lyrics, ["[Genre: Rap]", "<|endoftext|>"])
    assert empty.tolist() == [False, True, True, False, False, True]
    assert control.tolist() == [False, False, False, True, True, False]


def test_balance_downsamples_every_genre_to_the_smallest_in_order():
    tags = np.array(["pop"] * 6 + ["rap"] * 2 + ["pop"] * 2, dtype=object)
    selected, per_genre, target = chunk.balance(tags, ("pop", "rap"), np.random.default_rng(0))
    assert per_genre == {"pop": 8, "rap": 2} and target == 2
    assert list(selected) == sorted(selected) and len(selected) == 4
    assert sorted(tags[selected].tolist()) == ["pop", "pop", "rap", "rap"]
    again, _, _ = chunk.balance(tags, ("pop", "rap"), np.random.default_rng(0))
    assert list(again) == list(selected)
    empty, _, target = chunk.balance(tags[:6], ("pop", "rap"), np.random.default_rng(0))
    assert target == 0 and len(empty) == 0


def test_tokenize_and_pad_keeps_the_window_and_puts_eos_then_padding(tmp_path, gpt2_tokenizer_dir):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gpt2_tokenizer_dir / "tokenizer.json"))
    task = task_for(tmp_path, gpt2_tokenizer_dir)
    # " a" is one GPT-2 token, so k words give n = k + 2.
    texts = ["a", "a a", "a a a a", "a " * 7 + "a", "a " * 9 + "a"]
    rows = np.array([0, 2, 3, 4, 5])
    tags = np.array(["pop", "x", "rap", "pop", "rap", "pop"], dtype=object)
    n, passed, matrix = chunk.tokenize_and_pad(tok, pa.chunked_array([texts]), rows, tags, 6, task)
    assert n.tolist() == [3, 0, 4, 6, 10, 12]
    assert passed.tolist() == [2, 3, 4]  # 3 < n < 12
    assert matrix.dtype == np.uint16 and matrix.shape == (3, 8)
    a = tok.encode("a a", add_special_tokens=False).ids[1]
    assert matrix[0].tolist() == [50258, *tok.encode("a a").ids, 50256] + [50256] * 4
    assert matrix[1].tolist()[:6] == [50257, *tok.encode("a a a a").ids, 50256]
    assert matrix[2].tolist() == [50258, tok.encode("a").ids[0], *[a] * 6]  # cut, no eos


def test_count_follows_every_filter(tmp_path, gpt2_tokenizer_dir):
    task = task_for(tmp_path, gpt2_tokenizer_dir)
    tags = np.array(["pop", "pop", "pop", "rap", "rap"], dtype=object)
    empty = np.array([True, False, False, False, False])
    control = np.array([False, True, False, False, False])
    n = np.array([0, 0, 3, 12, 5])
    counts = chunk.count(task, tags, empty, control, n, {"pop": 0, "rap": 1}, 0)
    assert counts["pop"] == {
        "read": 3, "empty": 1, "control_token": 1, "too_short": 1, "too_long": 0,
        "kept_length": 0, "kept": 0,
    }  # fmt: skip
    assert counts["rap"]["too_long"] == 1 and counts["rap"]["read"] == 2


def test_read_chunk_names_missing_columns(tmp_path):
    path = tmp_path / "chunk-00.parquet"
    pq.write_table(pa.table({"id": ["1"], "tag": ["pop"]}), path)
    with pytest.raises(UsageError, match=r"lacks column.*artist, lyrics"):
        chunk.read_chunk(path, chunk.COLUMNS)


def test_encode_chunk_writes_the_contract_then_reuses_or_forces(tmp_path, gpt2_tokenizer_dir):
    rows = {
        "id": [str(i) for i in range(8)],
        "title": ["t"] * 8,
        "artist": ["x", None, "y", "z", "x", "y", "w", "w"],
        "tag": ["pop", "rap", "pop", "rap", "pop", "rap", "pop", "rap"],
        "lyrics": ["a a", "b b b", "a " * 20, "c", "[Genre: Pop] a a", "d d", "", "e e e e"],
    }
    task = task_for(tmp_path, gpt2_tokenizer_dir)
    pq.write_table(pa.table(rows), task.chunk)
    result = chunk.encode_chunk(task)
    assert not result["reused"] and result["chunk"] == "chunk-03.parquet"
    assert result["songs"] == 8
    assert result["counts"]["pop"]["empty"] == 1 and result["counts"]["pop"]["control_token"] == 1
    assert result["counts"]["pop"]["too_long"] == 1
    with pa.ipc.open_stream(task.part) as reader:
        table = reader.read_all()
    assert table.schema.remove_metadata() == data.features("uint16").arrow_schema.remove_metadata()
    assert table.column_names == list(data.COLUMNS)
    kept = result["counts"]["pop"]["kept"]
    assert table.num_rows == 2 * kept and kept == 1
    assert table["artist"].null_count == 0  # a missing artist is stored as ""
    assert chunk.read_part_meta(task.part)["key"] == "k1"

    mtime = task.part.stat().st_mtime_ns
    again = chunk.encode_chunk(task)
    assert again["reused"] and task.part.stat().st_mtime_ns == mtime
    assert {k: v for k, v in again.items() if k != "reused"} == {
        k: v for k, v in result.items() if k != "reused"
    }
    assert not chunk.encode_chunk(replace(task, key="k2"))["reused"]
    assert not chunk.encode_chunk(replace(task, key="k2", force=True))["reused"]
