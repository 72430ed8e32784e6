"""A tiny data folder in both contracts the RNN code reads, for tests and quick experiments.

    from lyrics_gpt2.rnn.testing import write_tiny_rnn_data
    write_tiny_rnn_data("/tmp/d")   # /tmp/d/{chunks,tokenized,tokenizer}, about a second

It is ``lyrics_gpt2.testing.write_tiny_dataset`` (tokenizer and ``tokenized`` as stage 2 writes
them, genres with disjoint word banks) plus ``chunks/chunk-00.parquet`` holding each song's text,
so GPT-2 and the RNNs can be trained and compared on it. This is the one place this package
reaches into the rest of the library outside cli, fileio and genres.
"""

from __future__ import annotations

from pathlib import Path

from lyrics_gpt2.testing import write_tiny_dataset


def write_tiny_rnn_data(data_dir: str | Path, seq_len: int = 256, **kwargs) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    data_dir = Path(data_dir)
    write_tiny_dataset(data_dir, seq_len=seq_len, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(str(data_dir / "tokenizer"))
    dataset = load_from_disk(str(data_dir / "tokenized"))
    rows = {k: [] for k in ("id", "title", "artist", "tag", "lyrics")}
    for split in dataset:
        for r in dataset[split]:
            ids = r["input_ids"][1 : r["length"]]
            rows["id"].append(r["id"])
            rows["title"].append(f"song {r['id']}")
            rows["artist"].append(r["artist"])
            rows["tag"].append(r["genre"])
            rows["lyrics"].append(
                tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
            )
    (data_dir / "chunks").mkdir(parents=True, exist_ok=True)
    table = pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()})
    pq.write_table(table, data_dir / "chunks" / "chunk-00.parquet")
    return data_dir
