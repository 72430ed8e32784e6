"""The real songs the report compares with: the training and held-out (validation) splits.

A split's song ids and genres come from ``DATA/tokenized`` (a song may span several rows, told
apart by the ``piece`` column when there is one); their text from ``DATA/chunks/*.parquet``
(columns id, title, artist, tag, lyrics), the cleaned lyrics before tokenization. A data folder
without chunks (the tests' tiny corpus) falls back to decoding the tokenized rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lyrics_gpt2.data import load_tokenized
from lyrics_gpt2.errors import UsageError


@dataclass(frozen=True)
class RealSong:
    id: str
    genre: str
    text: str


def data_digest(data_dir: str | Path, *extra: object) -> str:
    """Changes whenever the data's manifests (chunks and tokenized) or ``extra`` change."""
    h = hashlib.blake2b(digest_size=8)
    for name in ("tokenized/manifest.json", "chunks/manifest.json"):
        path = Path(data_dir) / name
        h.update(path.read_bytes() if path.is_file() else b"-")
    h.update(repr(extra).encode())
    return h.hexdigest()


def _chunk_texts(data_dir: Path, ids: set[str]) -> dict[str, str] | None:
    files = sorted((data_dir / "chunks").glob("chunk-*.parquet"))
    if not files:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    texts: dict[str, str] = {}
    wanted = pa.array(sorted(ids))
    for f in files:
        table = pq.read_table(f, columns=["id", "lyrics"])
        table = table.filter(pc.is_in(table["id"], value_set=wanted))
        for i, t in zip(table["id"].to_pylist(), table["lyrics"].to_pylist(), strict=True):
            texts.setdefault(i, t)
    return texts


def load_split(data_dir: str | Path, split: str) -> list[RealSong]:
    """One RealSong per distinct id of ``split``, in the split's order."""
    data_dir = Path(data_dir)
    dataset, _manifest = load_tokenized(data_dir)
    if split not in dataset:
        raise UsageError(f"no split {split!r} in {data_dir}/tokenized")
    ds = dataset[split]
    ids, genres = ds["id"], ds["genre"]
    pieces = ds["piece"] if "piece" in ds.column_names else [0] * len(ids)
    order: dict[str, str] = {}
    for i, g in zip(ids, genres, strict=True):
        order.setdefault(i, g)
    texts = _chunk_texts(data_dir, set(order))
    if texts is None:
        from lyrics_gpt2.tokenizer import load_tokenizer

        tok = load_tokenizer(data_dir / "tokenizer")
        rows = ds.with_format("numpy")
        parts: dict[str, list[tuple[int, str]]] = {}
        for r, (i, p) in enumerate(zip(ids, pieces, strict=True)):
            n = int(rows[r]["length"])
            body = rows[r]["input_ids"][1:n].tolist()  # after the genre token
            text = tok.decode(body, skip_special_tokens=True, clean_up_tokenization_spaces=False)
            parts.setdefault(i, []).append((int(p), text))
        texts = {i: "".join(t for _, t in sorted(ps)) for i, ps in parts.items()}
    missing = [i for i in order if i not in texts]
    if missing:
        raise UsageError(
            f"{len(missing)} {split} songs of {data_dir}/tokenized are not in its chunks "
            f"(e.g. id {missing[0]}); rebuild the data with 'python -m pipeline.preprocess'"
        )
    return [RealSong(i, g, texts[i].strip()) for i, g in order.items()]


def split_texts(data_dir: str | Path, split: str) -> Iterator[tuple[int, str]]:
    """(song number, text) of every song of ``split``, streamed from the chunks in their order.

    The numbers are the positions :func:`load_split` gives the same songs; memory stays at one
    record batch of one chunk and the split's ids (Arrow arrays), whatever the data's size. A
    data folder without chunks falls back to :func:`load_split`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data_dir = Path(data_dir)
    files = sorted((data_dir / "chunks").glob("chunk-*.parquet"))
    if not files:
        yield from enumerate(s.text for s in load_split(data_dir, split))
        return
    dataset, _manifest = load_tokenized(data_dir)
    if split not in dataset:
        raise UsageError(f"no split {split!r} in {data_dir}/tokenized")
    ds = dataset[split]
    ids = ds.data.column("id") if ds._indices is None else pa.array(ds["id"])
    order = pc.unique(ids)  # in order of first appearance, as load_split numbers them
    seen = 0
    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=4096, columns=["id", "lyrics"]):
            where = pc.index_in(batch.column("id"), value_set=order)
            keep = pc.is_valid(where)
            numbers = pc.filter(where, keep).to_pylist()
            texts = pc.filter(batch.column("lyrics"), keep).to_pylist()
            seen += len(numbers)
            for number, text in zip(numbers, texts, strict=True):
                yield number, text.strip()
    if seen < len(order):
        raise UsageError(
            f"{len(order) - seen} {split} songs of {data_dir}/tokenized are not in its chunks; "
            "rebuild the data with 'python -m pipeline.preprocess'"
        )
