"""Stage tokenize in bounded batches (pipeline/tokenize/batches.py): the same bytes out whatever
the batch sizes, the batch sizes honoured (the memory bound), the spill file gone afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.tokenize import batches, encode
from tests.pipeline.test_tokenize_stage import SMALL, random_chunks, run_stage, write_chunks

NOT_COMPARED = ("timings", "throughput", "files")


def outputs(out_dir: Path) -> dict[str, bytes]:
    """Every file stage tokenize publishes, the manifest without its timings."""
    files = sorted(p for p in (out_dir / "tokenizer").rglob("*") if p.is_file())
    files += sorted(p for p in (out_dir / "tokenized").rglob("*") if p.is_file())
    found = {}
    for f in files:
        if f.name == "manifest.json":
            manifest = json.loads(f.read_text())
            found[str(f.relative_to(out_dir))] = json.dumps(
                {k: v for k, v in manifest.items() if k not in NOT_COMPARED}, sort_keys=True
            ).encode()
        elif f.name == "state.json":
            # datasets' fingerprint hashes the parts, whose metadata holds the chunk's seconds:
            # it differs between any two runs, batched or not.
            state = json.loads(f.read_text())
            state.pop("_fingerprint")
            found[str(f.relative_to(out_dir))] = json.dumps(state, sort_keys=True).encode()
        else:
            found[str(f.relative_to(out_dir))] = f.read_bytes()
    return found


@pytest.fixture(scope="module")
def chunks():
    # 3 chunks of 150 songs: many read batches of 7 songs and write windows of 11 rows each.
    return random_chunks(seed=3, n_chunks=3, per_chunk=150)


@pytest.mark.parametrize("extra", [[], ["--long-songs", "drop"], ["--sections"]])
def test_small_batches_publish_the_same_bytes_as_one_batch_per_chunk(
    tmp_path, gpt2_tokenizer_dir, chunks, monkeypatch, extra
):
    write_chunks(tmp_path, chunks)
    monkeypatch.setattr(batches, "READ_ROWS", 1_000_000)
    monkeypatch.setattr(batches, "WRITE_ROWS", 1_000_000)
    run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL, *extra)
    want = outputs(tmp_path)
    # Again in the same folder (the same chunk files), every chunk redone in small batches.
    monkeypatch.setattr(batches, "READ_ROWS", 7)
    monkeypatch.setattr(batches, "WRITE_ROWS", 11)
    manifest = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL, *extra, "--force")
    assert manifest["throughput"]["chunks_reused"] == 0
    got = outputs(tmp_path)
    assert any(name.endswith(".arrow") for name in want)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name


def test_the_batch_sizes_bound_what_a_chunk_holds_and_the_spill_is_removed(
    tmp_path, gpt2_tokenizer_dir, chunks, monkeypatch
):
    monkeypatch.setattr(batches, "READ_ROWS", 16)
    monkeypatch.setattr(batches, "WRITE_ROWS", 20)
    texts_seen: list[int] = []
    windows_seen: list[int] = []
    tokenize = encode.tokenize_and_pad
    windows = batches.RowSpill.windows

    def counting_tokenize(encoder, texts, *args, **kw):
        texts_seen.append(len(texts))
        return tokenize(encoder, texts, *args, **kw)

    def counting_windows(self, rows, size=None):
        for at, block in windows(self, rows, size):
            windows_seen.append(len(block))
            yield at, block

    monkeypatch.setattr(encode, "tokenize_and_pad", counting_tokenize)
    monkeypatch.setattr(batches.RowSpill, "windows", counting_windows)
    write_chunks(tmp_path, chunks)
    manifest = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    # 150 songs per chunk in reads of at most 16: 10 reads per chunk, never more text at once.
    assert len(texts_seen) == 30 and 0 < max(texts_seen) <= 16
    # Rows written 20 spilled rows at a time at most, and all of them.
    rows = sum(manifest["splits"].values())
    assert max(windows_seen) <= 20 and sum(windows_seen) == rows
    assert len(windows_seen) >= rows // 20
    parts = tmp_path / "tokenized.parts"
    assert not [p for p in parts.iterdir() if p.name.startswith(".rows-")]


def test_spill_reads_back_the_rows_asked_for_window_by_window(tmp_path):
    rng = np.random.default_rng(0)
    block = rng.integers(0, 60000, size=(53, 6)).astype(np.uint16)
    with batches.RowSpill(tmp_path, 6, "uint16") as spill:
        spill.append(block[:20])
        spill.append(block[20:])
        wanted = np.sort(rng.choice(53, size=31, replace=False))
        got, at_all = [], []
        for at, rows in spill.windows(wanted, size=8):
            assert len(rows) <= 8
            got.append(rows)
            at_all.extend(range(at.start, at.stop))
    assert at_all == list(range(31))
    assert np.array_equal(np.concatenate(got), block[wanted])
    assert list(tmp_path.iterdir()) == []  # the spill has no name and is gone


def test_splits_written_in_many_shards_hold_the_same_rows_in_order(
    tmp_path, gpt2_tokenizer_dir, chunks, monkeypatch
):
    """DIR/tokenized is written part by part (pipeline/tokenize/splits.py write_splits): cut
    into shards by size as save_to_disk cuts them, it loads with the same rows in the same
    order as one shard per split. The output folder is given relative (as `make demo` gives
    it): the parts are known by the absolute paths datasets opens them by."""
    from datasets import config, load_from_disk

    write_chunks(tmp_path, chunks)
    monkeypatch.chdir(tmp_path.parent)
    run_stage(Path(tmp_path.name), gpt2_tokenizer_dir, *SMALL)
    one = load_from_disk(str(tmp_path / "tokenized"))
    assert [p.name for p in (tmp_path / "tokenized" / "train").glob("data-*")] == [
        "data-00000-of-00001.arrow"
    ]
    monkeypatch.setattr(config, "MAX_SHARD_SIZE", "20KB")
    run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL, "--force")
    shards = sorted(p.name for p in (tmp_path / "tokenized" / "train").glob("data-*"))
    assert (
        len(shards) > 2 and shards[-1] == f"data-{len(shards) - 1:05d}-of-{len(shards):05d}.arrow"
    )
    many = load_from_disk(str(tmp_path / "tokenized"))
    assert list(many) == list(one)
    for split in one:
        assert many[split].features == one[split].features
        assert many[split].to_dict() == one[split].to_dict(), split
