"""Inputs of stage tokenize (pipeline/tokenize/source.py): finding and scanning stage 1's chunks,
the training songs a BPE learns from, settings, and the cache keys that decide what is reused."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lyrics_gpt2 import data
from lyrics_gpt2.errors import UsageError
from pipeline.tokenize import source

WORDS = "love night baby yeah heart fire money street dream rain gold cold light run".split()


def songs(seed: int = 0, n: int = 60) -> list[dict]:
    """Songs of 1-70 words by 8 artists per genre, two of them singing both genres."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        tag = rng.choice(["pop", "rap"])
        artist = f"{tag} artist {rng.randrange(8)}" if rng.random() > 0.1 else f"crossover {i % 2}"
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 70)))
        rows.append({"id": str(i), "title": "t", "artist": artist, "tag": tag, "lyrics": words})
    return rows


def write(out_dir: Path, chunks: list[list[dict]]) -> list[Path]:
    chunk_dir = out_dir / "chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)
    for i, rows in enumerate(chunks):
        cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]}
        pq.write_table(pa.table(cols), chunk_dir / f"chunk-{i:02d}.parquet")
    (chunk_dir / "manifest.json").write_text(json.dumps({"chunks": len(chunks)}))
    return sorted(chunk_dir.glob("chunk-*.parquet"))


def settings(tmp_path: Path, **changes) -> source.Settings:
    args = argparse.Namespace(
        output_dir=tmp_path, tokenizer="bpe:300", min_tokens=8, max_tokens=60, seq_len=40,
        val_fraction=0.1, seed=0, workers=None, force=False,
    )  # fmt: skip
    for k, v in changes.items():
        setattr(args, k, v)
    return source.Settings.from_args(args)


def test_bpe_sees_training_songs_only(tmp_path):
    chunks = [songs(0), songs(1), songs(2)]
    paths = write(tmp_path, chunks)
    val = {"pop artist 3", "crossover 1"}
    texts = list(source.training_texts(paths, val))
    expected = [r["lyrics"] for rows in chunks for r in rows if r["artist"] not in val]
    assert texts == expected
    capped = list(source.training_texts(paths, val, max_chars=500))
    assert capped == expected[: len(capped)]
    assert sum(map(len, capped[:-1])) < 500 <= sum(map(len, capped))


def test_find_and_scan_chunks(tmp_path):
    with pytest.raises(UsageError, match="run stage chunks first"):
        source.find_chunks(tmp_path)
    chunks = [songs(0), songs(1)]
    paths = write(tmp_path, chunks)
    found, fingerprint = source.find_chunks(tmp_path)
    assert found == paths and len(fingerprint) == 32
    genres, counts = source.scan_chunks(found)
    assert genres == ["pop", "rap"]  # TAGS order
    assert sum(counts.values()) == 120
    assert counts[("crossover 1", "pop")] + counts[("crossover 1", "rap")] == sum(
        r["artist"] == "crossover 1" for rows in chunks for r in rows
    )
    # Touching a chunk changes the fingerprint (its time is part of it).
    pq.write_table(pq.read_table(paths[0]), paths[0])
    assert source.find_chunks(tmp_path)[1] != fingerprint


def test_scan_refuses_unknown_genres_and_damaged_chunks(tmp_path):
    rows = songs(0, 4)
    rows[0]["tag"] = "polka"
    paths = write(tmp_path, [rows])
    with pytest.raises(UsageError, match=r"unknown genre tag.*polka"):
        source.scan_chunks(paths)
    paths[0].write_bytes(b"not parquet")
    with pytest.raises(UsageError, match="cannot read chunk"):
        source.scan_chunks(paths)


def test_settings_and_keys(tmp_path):
    s = settings(tmp_path)
    assert s.workers == source.DEFAULT_WORKERS and s.bpe_size == 300 and not s.quiet
    assert list(s.params()) == [
        "tokenizer", "min_tokens", "max_tokens", "seq_len", "long_songs", "max_song_tokens",
        "val_fraction", "seed", "balance",
    ]  # fmt: skip
    assert (s.long_songs, s.max_song_tokens) == ("split", 4000)
    key = source.stage_key(s, "fp")
    assert key == source.stage_key(settings(tmp_path), "fp")
    assert key != source.stage_key(settings(tmp_path, seq_len=41), "fp")
    assert key != source.stage_key(settings(tmp_path, long_songs="drop"), "fp")
    assert key != source.stage_key(settings(tmp_path, max_song_tokens=999), "fp")
    assert key != source.stage_key(s, "other chunks")
    # A trained BPE depends on which artists are validation artists; a pretrained one does not.
    assert source.tokenizer_key(s, ["pop"], "fp", {"a"}) != source.tokenizer_key(
        s, ["pop"], "fp", {"b"}
    )
    pre = settings(tmp_path, tokenizer="gpt2")
    assert source.tokenizer_key(pre, ["pop"], "fp", {"a"}) == source.tokenizer_key(
        pre, ["pop"], "fp", {"b"}
    )
    assert source.tokenizer_key(pre, ["pop"], "fp", set()) != source.tokenizer_key(
        pre, ["pop", "rap"], "fp", set()
    )


def test_chunk_tasks_carry_the_settings_and_change_key_with_the_input(tmp_path):
    paths = write(tmp_path, [songs(0), songs(1)])
    tok_dir = tmp_path / "tok"
    tok_dir.mkdir()
    (tok_dir / "tokenizer.json").write_text("{}")
    info = source.TokenizerInfo(300, 0, 0, "<|endoftext|>", {"pop": 298, "rap": 299}, "uint16")
    s = settings(tmp_path)
    tasks = source.chunk_tasks(s, paths, tmp_path / "parts", tok_dir, info, ["pop", "rap"])
    assert [t.index for t in tasks] == [0, 1]
    assert [t.part.name for t in tasks] == ["chunk-00.arrow", "chunk-01.arrow"]
    t = tasks[0]
    assert t.control_tokens == ("[Genre: Pop]", "[Genre: Rap]", "<|endoftext|>")
    assert (t.min_tokens, t.max_tokens, t.seq_len, t.seed, t.dtype) == (8, 60, 40, 0, "uint16")
    assert t.schema == data.features("uint16").arrow_schema.remove_metadata()
    assert len({t.key for t in tasks}) == 2
    again = source.chunk_tasks(s, paths, tmp_path / "parts", tok_dir, info, ["pop", "rap"])
    assert [t.key for t in again] == [t.key for t in tasks]
    pq.write_table(pq.read_table(paths[1]).slice(0, 10), paths[1])
    changed = source.chunk_tasks(s, paths, tmp_path / "parts", tok_dir, info, ["pop", "rap"])
    assert changed[0].key == tasks[0].key and changed[1].key != tasks[1].key
    with pytest.raises(AttributeError):
        t.seed = 1  # frozen: a task is a value, not a shared mutable dict
