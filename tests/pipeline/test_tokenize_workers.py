"""Stage tokenize's process pool (pipeline/tokenize/workers.py): two workers give the results one
process gives, in chunk order, and parts of chunks that no longer exist are removed."""

from __future__ import annotations

import argparse
import random

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.tokenize import source, workers
from pipeline.tokenize.encode import ChunkTask


def tasks(tmp_path, tokenizer_dir, n_chunks: int = 3) -> list[ChunkTask]:
    rng = random.Random(0)
    paths = []
    for c in range(n_chunks):
        tags = ["pop", "rap"] * 10
        lyrics = [" ".join(rng.choice(["la", "da", "yeah"]) for _ in range(rng.randint(2, 20)))
                  for _ in tags]  # fmt: skip
        paths.append(tmp_path / f"chunk-{c:02d}.parquet")
        ids = [f"{c}-{i}" for i in range(20)]
        table = {"id": ids, "artist": ["a"] * 20, "tag": tags, "lyrics": lyrics}
        pq.write_table(pa.table(table), paths[-1])
    args = argparse.Namespace(
        output_dir=tmp_path, tokenizer=str(tokenizer_dir), min_tokens=3, max_tokens=15,
        seq_len=10, val_fraction=0.1, seed=0, workers=2, force=False,
    )  # fmt: skip
    info = source.TokenizerInfo(50259, 50256, 50256, "<|endoftext|>", {"pop": 50257, "rap": 50258},
                                "uint16")  # fmt: skip
    settings = source.Settings.from_args(args)
    return source.chunk_tasks(
        settings, paths, tmp_path / "parts", tokenizer_dir, info, ["pop", "rap"]
    )


def test_pool_equals_one_process_and_stale_parts_go(tmp_path, gpt2_tokenizer_dir):
    serial_dir, pool_dir = tmp_path / "serial", tmp_path / "pool"
    for d in (serial_dir, pool_dir):
        (d / "parts").mkdir(parents=True)
    (pool_dir / "parts" / "chunk-07.arrow").write_text("from a chunk stage 1 no longer writes")

    serial = workers.encode_chunks(
        tasks(serial_dir, gpt2_tokenizer_dir), serial_dir / "parts", None, True
    )
    assert workers.start_pool(2, 1) is None  # one chunk: no processes to start
    pool = workers.start_pool(2, 3)
    try:
        parallel = workers.encode_chunks(
            tasks(pool_dir, gpt2_tokenizer_dir), pool_dir / "parts", pool, True
        )
    finally:
        pool.shutdown()
    assert [r["chunk"] for r in parallel] == [f"chunk-{c:02d}.parquet" for c in range(3)]

    def same(r):
        return {k: v for k, v in r.items() if k not in ("seconds", "part")}

    assert [same(r) for r in parallel] == [same(r) for r in serial]
    assert sorted(p.name for p in (pool_dir / "parts").iterdir()) == [
        f"chunk-{c:02d}.arrow" for c in range(3)
    ]
