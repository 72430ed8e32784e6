"""One chunk of stage tokenize (pipeline/tokenize/encode.py): each pure step on hand-made arrays,
long songs cut into pieces and rebuilt, then ``encode_chunk`` on a real chunk file with the GPT-2
BPE (write, reuse, force; both --long-songs modes)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lyrics_gpt2 import data
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.tokenizer import Encoder
from pipeline.tokenize import encode as chunk
from pipeline.tokenize import pieces
from pipeline.tokenize.encode import ChunkTask


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


def test_tokenize_and_pad_drop_mode_keeps_the_window_and_puts_eos_then_padding(
    tmp_path, gpt2_tokenizer_dir
):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gpt2_tokenizer_dir / "tokenizer.json"))
    task = task_for(tmp_path, gpt2_tokenizer_dir, long_songs="drop")
    # " a" is one GPT-2 token, so k words give n = k + 2.
    texts = ["a", "a a", "a a a a", "a " * 7 + "a", "a " * 9 + "a"]
    rows = np.array([0, 2, 3, 4, 5])
    tags = np.array(["pop", "x", "rap", "pop", "rap", "pop"], dtype=object)
    enc = Encoder(gpt2_tokenizer_dir / "tokenizer.json")
    out = chunk.tokenize_and_pad(enc, pa.chunked_array([texts]), rows, tags, 6, task)
    n, passed, matrix = out.n_tokens, out.passed, out.matrix
    assert n.tolist() == [3, 0, 4, 6, 10, 12]
    assert passed.tolist() == [2, 3, 4]  # 3 < n < 12
    assert out.song.tolist() == [2, 3, 4] and out.piece.tolist() == [0, 0, 0]
    assert out.lengths.tolist() == [4, 6, 8]
    assert matrix.dtype == np.uint16 and matrix.shape == (3, 8)
    a = tok.encode("a a", add_special_tokens=False).ids[1]
    assert matrix[0].tolist() == [50258, *tok.encode("a a").ids, 50256] + [50256] * 4
    assert matrix[1].tolist()[:6] == [50257, *tok.encode("a a a a").ids, 50256]
    assert matrix[2].tolist() == [50258, tok.encode("a").ids[0], *[a] * 6]  # cut, no eos


def test_balance_by_tokens_takes_whole_songs_until_the_totals_are_closest():
    # Rap songs carry twice pop's tokens: balancing by songs leaves rap with twice the tokens.
    tags = np.array(["pop"] * 10 + ["rap"] * 5, dtype=object)
    tokens = np.array([100] * 10 + [200] * 5)
    rng = np.random.default_rng(0)
    by_songs, _, _ = chunk.balance(tags, ("pop", "rap"), rng, "songs", tokens)
    assert tokens[by_songs][tags[by_songs] == "rap"].sum() == 2 * 500
    selected, before, target = chunk.balance(
        tags, ("pop", "rap"), np.random.default_rng(0), "tokens", tokens
    )
    assert before == {"pop": 10, "rap": 5} and target == 1000
    kept = tags[selected]
    assert (kept == "pop").sum() == 10 and (kept == "rap").sum() == 5  # already equal
    uneven = np.array([100] * 10 + [300] * 5)  # rap 1500 tokens, pop 1000
    selected, _, target = chunk.balance(
        tags, ("pop", "rap"), np.random.default_rng(0), "tokens", uneven
    )
    assert target == 1000 and list(selected) == sorted(selected)
    rap = uneven[selected][tags[selected] == "rap"].sum()
    assert rap in (900, 1200) and abs(rap - 1000) <= 150  # closest whole-song total
    again, _, _ = chunk.balance(tags, ("pop", "rap"), np.random.default_rng(0), "tokens", uneven)
    assert list(again) == list(selected)
    everything, _, _ = chunk.balance(tags, ("pop", "rap"), rng, "none", uneven)
    assert list(everything) == list(range(15))


def test_count_follows_every_filter(tmp_path, gpt2_tokenizer_dir):
    task = task_for(tmp_path, gpt2_tokenizer_dir)
    tags = np.array(["pop", "pop", "pop", "rap", "rap"], dtype=object)
    empty = np.array([True, False, False, False, False])
    control = np.array([False, True, False, False, False])
    n = np.array([0, 0, 3, 12, 5])
    # Written rows: two of the rap song of n = 5 (lengths 3 without eos, then 3 with it).
    rows = (np.array(["rap", "rap"], dtype=object), np.array([3, 3]), np.array([False, True]))
    drop = replace(task, long_songs="drop")
    kept, before = {"pop": 0, "rap": 1}, {"pop": 0, "rap": 3}
    counts = chunk.count(drop, tags, empty, control, n, {"pop": 0, "rap": 1}, kept, before, *rows)
    assert counts["pop"] == {
        "read": 3, "empty": 1, "control_token": 1, "too_short": 1, "too_long": 0,
        "kept_length": 0, "kept": 0, "rows": 0, "tokens": 1, "tokens_length_ok": 0,
        "tokens_kept": 0,
    }  # fmt: skip
    assert counts["rap"]["too_long"] == 1 and counts["rap"]["read"] == 2
    assert (counts["rap"]["rows"], counts["rap"]["tokens"], counts["rap"]["tokens_kept"]) == (
        2, 13, 3)  # fmt: skip
    # Split mode: too_long is n >= max_song_tokens instead.
    split = chunk.count(replace(task, max_song_tokens=13), tags, empty, control, n, {"pop": 0,
                        "rap": 1}, kept, before, *rows)  # fmt: skip
    assert split["rap"]["too_long"] == 0


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
    task = task_for(tmp_path, gpt2_tokenizer_dir, long_songs="drop", balance="songs")
    pq.write_table(pa.table(rows), task.chunk)
    result = chunk.encode_chunk(task)
    assert result["encoder"] == "tiktoken"
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


def test_cut_points_prefer_stanzas_then_lines_then_tokens_and_never_leave_a_short_piece():
    none = np.zeros(0, dtype=np.int64)
    every = np.arange(1, 40)
    # seq_len 10: pieces of up to 9 lyrics tokens, the last up to 8 (genre token, eos).
    assert pieces.cut_points(8, none, none, every, 10, 2) == [0, 8]  # fits whole
    assert pieces.cut_points(20, np.array([6, 14]), every, every, 10, 2) == [0, 6, 14, 20]
    # A stanza start that would leave the piece under half full loses to a line start.
    assert pieces.cut_points(20, np.array([3]), np.array([3, 8, 16]), every, 10, 2) == [
        0,
        8,
        16,
        20,
    ]
    assert pieces.cut_points(20, none, none, every, 10, 2) == [0, 9, 18, 20]
    # min_tokens 3: a last piece of 2 tokens (n = 4 > 3 is fine) but not of 1 (n = 3).
    assert pieces.cut_points(19, none, none, every, 10, 3) == [0, 9, 16, 19]
    assert pieces.cut_points(10, none, none, every, 10, 3) == [0, 7, 10]


LONG_SONG = (
    "\n\n".join(
        f"[Verse {v}]\n"
        + "\n".join(
            f"line {v}.{i} of the song, caf\u00e9 d\u00e9j\u00e0 vu \U0001f525 with more words here"
            for i in range(6)
        )
        for v in range(1, 7)
    )
    + "\n\n"
    + "x" * 900
)  # a stanza with no line break inside: cut at a token boundary


def test_a_long_song_cut_into_pieces_rebuilds_its_lyrics(tmp_path, gpt2_tokenizer_dir):
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(gpt2_tokenizer_dir / "tokenizer.json"))
    task = task_for(tmp_path, gpt2_tokenizer_dir, seq_len=64, min_tokens=5, max_song_tokens=4000)
    tags = np.array(["rap", "pop"], dtype=object)
    for use_tiktoken in (True, False):
        enc = Encoder(gpt2_tokenizer_dir / "tokenizer.json", use_tiktoken=use_tiktoken)
        texts = pa.chunked_array([[LONG_SONG, "a short one, of a few more words"]])
        out = chunk.tokenize_and_pad(enc, texts, np.array([0, 1]), tags, 2, task)
        pieces = np.flatnonzero(out.song == 0)
        assert len(pieces) > 5 and out.piece[pieces].tolist() == list(range(len(pieces)))
        texts_back = []
        for j in pieces:
            row = out.matrix[j, : out.lengths[j]].tolist()
            last = j == pieces[-1]
            assert row[0] == 50258 and len(row) <= 64 and out.lengths[j] > task.min_tokens
            assert (row[-1] == 50256) == last  # only the last piece ends the song
            assert all(t == 50256 for t in out.matrix[j, out.lengths[j] :])  # then padding
            texts_back.append(hf.decode(row[1 : len(row) - last], skip_special_tokens=False))
        assert "".join(texts_back) == LONG_SONG
        # Stanzas fill most pieces whole: a piece ends at a blank line unless a stanza is longer.
        assert sum(t.endswith("\n\n") for t in texts_back) >= 4
        assert out.song[-1] == 1 and out.piece[-1] == 0  # the short song: one row


def test_encode_chunk_split_mode_keeps_long_songs_as_pieces(tmp_path, gpt2_tokenizer_dir):
    long = "\n\n".join(["word " * 6 + "\nmore words"] * 6)
    rows = {
        "id": ["1", "2", "3", "4"],
        "title": ["t"] * 4,
        "artist": ["x", "y", "z", "w"],
        "tag": ["rap", "pop", "rap", "pop"],
        "lyrics": [long, "a a a", "b " * 5000, long],
    }
    task = task_for(tmp_path, gpt2_tokenizer_dir, max_song_tokens=4000, seq_len=16, balance="songs")
    pq.write_table(pa.table(rows), task.chunk)
    result = chunk.encode_chunk(task)
    with pa.ipc.open_stream(task.part) as reader:
        table = reader.read_all()
    assert result["counts"]["rap"]["too_long"] == 1  # the 5,000-token text
    assert result["counts"]["rap"]["kept"] == 1 and result["counts"]["pop"]["kept"] == 1
    ids = table["id"].to_pylist()
    assert ids[0] == "1" and set(ids) <= {"1", "2", "4"} and len(ids) > 3
    song = [p for i, p in zip(ids, table["piece"].to_pylist(), strict=True) if i == "1"]
    assert song == list(range(len(song))) and len(song) > 2
    assert result["counts"]["rap"]["rows"] == len(song)
    c = result["counts"]["rap"]
    assert c["tokens_kept"] < c["tokens"]  # the book-length text is not in the rows
