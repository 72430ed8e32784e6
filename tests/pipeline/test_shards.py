"""Stage 1's shard and dedup keys and its per-chunk files (pipeline/chunks/files.py).

Run: ``pytest tests/pipeline/test_shards.py``. Stage 1 end to end is in tests/pipeline/test_chunks.py.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow.parquet as pq

from pipeline.chunks import files as shards


def test_text_hash_ignores_case_whitespace_and_punctuation_but_not_words():
    assert shards.text_hash("Hello World") == shards.text_hash("hello world")
    assert shards.text_hash("Hello, world!\n\nYeah...") == shards.text_hash("hello world yeah")
    assert shards.text_hash("Ça va") == shards.text_hash("ça  VA")  # any script, case folded
    assert shards.text_hash("hello world") != shards.text_hash("hello there")
    assert shards.text_hash("hello world") != shards.text_hash("helloworld")


def test_text_hash_is_the_hash_of_normalize_text():
    """text_hash works on bytes (non-ASCII non-word characters made spaces first): it must
    give normalize_text's bytes exactly, or a song and its accented copy would stop being
    duplicates."""
    import hashlib
    import random

    rng = random.Random(0)
    pieces = [
        "Hello",
        "world",
        "_",
        "__",
        " ",
        "  ",
        "\n",
        "\n\n",
        "\t",
        ",",
        "...",
        "'",
        "9x",
        "A",
        # not ASCII: letters (also ones casefold changes), digits and the rest
        *("é", "ÉTÉ", "ß", "İ", "ﬁ", "한국어", "²", "\u0301"),
        *("’", "“", "—", "…", "😀", "\u00a0", "\u3000", "\u200b", "\x85"),
    ]
    for _ in range(6000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        flat = shards.normalize_text(text).encode()
        expected = int.from_bytes(hashlib.blake2b(flat, digest_size=8).digest(), "little")
        assert shards.text_hash(text) == expected, repr(text)
    assert shards.text_hash("Cafe, au lait") == shards.text_hash("CAFE au-lait")
    assert shards.text_hash("Café au lait") == shards.text_hash("CAFÉ au-lait")  # not ASCII


def test_duplicate_texts_keep_the_copy_with_the_lowest_id_key(tmp_path):
    rows = [("a", "Same song!"), ("b", "same song"), ("c", "another"), ("d", "SAME, song")]
    staging = shards.Staging(tmp_path / "staging", 2)
    staging.add(_kept(rows, 2))
    staging.close()
    files, drops, _ = shards.finalize_all(staging, tmp_path, threshold=10)
    kept = {r["id"] for f in files for r in pq.read_table(tmp_path / f["file"]).to_pylist()}
    winner = min(("a", "b", "d"), key=shards.id_key)
    assert kept == {winner, "c"} and drops["duplicate_text"] == 2


def test_chunk_of_is_stable_and_spread():
    ids = [str(1000 + i) for i in range(4000)]
    counts = [0] * 40
    for song_id in ids:
        c = shards.chunk_of(song_id, 40)
        assert c == shards.chunk_of(song_id, 40)
        counts[c] += 1
    assert min(counts) > 50 and max(counts) < 150  # ~100 each


def test_chunk_name_width_follows_the_chunk_count():
    assert shards.chunk_name(3, 40) == "chunk-03.parquet"
    assert shards.chunk_name(7, 1000) == "chunk-007.parquet"


def _kept(rows: list[tuple[str, str]], num_chunks: int) -> dict[str, list]:
    """A worker's kept batch for (id, lyrics) rows."""
    return {
        "id": [i for i, _ in rows],
        "title": [f"t{i}" for i, _ in rows],
        "artist": [f"a{i}" for i, _ in rows],
        "tag": ["pop"] * len(rows),
        "lyrics": [text for _, text in rows],
        "sections": ["." for _ in rows],
        "chunk": [shards.chunk_of(i, num_chunks) for i, _ in rows],
        "hash": [shards.text_hash(text) for _, text in rows],
    }


def test_staging_scan_and_finalize_drop_duplicate_ids_then_repeated_texts(tmp_path):
    guide = "the same study guide"
    rows = [("1", "song one"), ("2", guide), ("1", "song one again"), ("3", guide.upper()),
            ("4", guide), ("5", "song five"), ("4", guide)]  # fmt: skip
    staging = shards.Staging(tmp_path / "staging", 3)
    staging.add(_kept(rows[:4], 3))
    staging.add(_kept(rows[4:], 3))
    staging.close()
    assert staging.rows == 7 and all(p.is_file() for p in staging.paths)

    files, drops, tags = shards.finalize_all(staging, tmp_path, threshold=3)
    # ids 1 and 4 are listed twice (second copies go); the guide is in 3 distinct songs
    # (2, 3, 4; case folded), so it goes from all of them, while id 4's copy counts once.
    assert drops == Counter(duplicate_id=2, repeated_text=3)
    kept = sorted(r["id"] for f in files for r in pq.read_table(tmp_path / f["file"]).to_pylist())
    assert kept == ["1", "5"] and tags == Counter(pop=2)
    assert sum(f["rows"] for f in files) == 2
    assert [f["file"] for f in files] == [shards.chunk_name(i, 3) for i in range(3)]


def test_repeated_hashes_threshold():
    hashes = [np.array([1, 2, 2], dtype=np.uint64), np.array([2, 3, 3], dtype=np.uint64)]
    assert shards.repeated_hashes(hashes, 3).tolist() == [2]
    assert shards.repeated_hashes(hashes, 2).tolist() == [2, 3]
    assert shards.repeated_hashes(hashes, 0).size == 0  # 0 keeps every text
    assert shards.repeated_hashes([], 2).size == 0


def test_finalize_on_a_pool_writes_the_same_chunks_and_log_as_in_process(tmp_path):
    """Stage 1 writes its chunks on its worker pool: the chunk files, the drop log (rows in
    chunk order) and the counts are those of a run in one process."""
    import multiprocessing as mp

    from pipeline.chunks.droplog import DropLog

    guide = "the same study guide"
    rows = [(str(i), f"song {i} " * (i % 5 + 1)) for i in range(60)]
    rows += [("7", "song seven again"), ("70", guide), ("71", guide.upper()), ("72", guide)]
    rows += [("80", "song 3 song 3 song 3 song 3"), ("81", "Song 1, song 1!")]
    results = {}
    for name in ("here", "pool"):
        staging = shards.Staging(tmp_path / name / "staging", 4)
        staging.add(_kept(rows, 4))
        staging.close()
        log = DropLog(tmp_path / name / "drops.parquet")
        if name == "pool":
            with mp.get_context("fork").Pool(2) as pool:
                out = shards.finalize_all(staging, tmp_path / name, 3, drop_log=log, pool=pool)
        else:
            out = shards.finalize_all(staging, tmp_path / name, 3, drop_log=log)
        log.close()
        files = {p.name: p.read_bytes() for p in sorted((tmp_path / name).glob("*.parquet"))}
        results[name] = (out, files)
    assert results["here"] == results["pool"]
    (files_out, drops, _), files = results["pool"]
    assert drops == Counter(duplicate_id=1, repeated_text=3, duplicate_text=2)
    assert len(files) == 5 and sum(f["rows"] for f in files_out) == len(rows) - 6
