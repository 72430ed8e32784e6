"""Stage tokenize (pipeline/tokenize/stage.py) end to end on small hand-made chunks, with the real
GPT-2 BPE and with a from-scratch byte-level BPE: the data contract of lyrics_gpt2/data.py, filters,
balance, split, determinism, skipping and resuming, and bad input."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lyrics_gpt2 import data as contract
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.genres import GENRE_TOKENS
from pipeline import preprocess

REPO = Path(__file__).resolve().parents[2]
WORDS = [
    "love",
    "night",
    "baby",
    "yeah",
    "heart",
    "fire",
    "money",
    "street",
    "dream",
    "rain",
    "gold",
    "cold",
    "light",
    "run",
]
SMALL = ["--min-tokens", "8", "--max-tokens", "60", "--seq-len", "40"]


def make_lyrics(rng: random.Random, words: int) -> str:
    """``words`` words in lines of 1-6 and stanzas of 1-3 lines (line breaks kept)."""
    stanzas, lines, line = [], [], []
    for _ in range(words):
        line.append(rng.choice(WORDS))
        if len(line) >= rng.randint(1, 6):
            lines.append(" ".join(line).capitalize())
            line = []
            if len(lines) >= rng.randint(1, 3):
                stanzas.append("\n".join(lines))
                lines = []
    if line:
        lines.append(" ".join(line).capitalize())
    if lines:
        stanzas.append("\n".join(lines))
    return "\n\n".join(stanzas)


def write_chunks(out_dir: Path, chunks: list[list[dict]], only: set[int] | None = None) -> Path:
    """Stage 1's output: chunk-NN.parquet (id, title, artist, tag, lyrics) and a manifest.

    ``only``: rewrite just these chunk files, as a resumed stage 1 would."""
    chunk_dir = out_dir / "chunks"
    chunk_dir.mkdir(parents=True, exist_ok=True)
    for i, rows in enumerate(chunks):
        if only is not None and i not in only:
            continue
        table = pa.table(
            {
                k: pa.array([r[k] for r in rows], type=pa.string())
                for k in ("id", "title", "artist", "tag", "lyrics")
            }
        )
        pq.write_table(table, chunk_dir / f"chunk-{i:02d}.parquet")
    (chunk_dir / "manifest.json").write_text(json.dumps({"chunks": len(chunks)}))
    return chunk_dir


def random_chunks(seed: int = 0, n_chunks: int = 3, per_chunk: int = 60, genres=("pop", "rap")):
    """Songs of 1-70 words by 8 artists per genre; two artists also sing the other genre."""
    rng = random.Random(seed)
    chunks = []
    for c in range(n_chunks):
        rows = []
        for i in range(per_chunk):
            tag = genres[i % len(genres)] if rng.random() < 0.8 else genres[0]
            artist = f"{tag} artist {rng.randrange(8)}"
            if rng.random() < 0.1:
                artist = f"crossover {rng.randrange(2)}"
            rows.append(
                {
                    "id": f"c{c}-{i}",
                    "title": f"Song {i}",
                    "artist": artist,
                    "tag": tag,
                    "lyrics": make_lyrics(rng, rng.randint(1, 70)),
                }
            )
        chunks.append(rows)
    return chunks


def run_stage(out_dir: Path, tokenizer: str | Path, *extra: str) -> dict:
    argv = ["--stages", "tokenize", "--output-dir", str(out_dir), "--quiet"]
    argv += ["--tokenizer", str(tokenizer), "--workers", "1", *extra]
    assert preprocess.main(argv) == 0
    return json.loads((out_dir / "tokenized" / "manifest.json").read_text())


def load(out_dir: Path):
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    return load_from_disk(str(out_dir / "tokenized")), AutoTokenizer.from_pretrained(
        str(out_dir / "tokenizer")
    )


def source_rows(chunks) -> dict[str, dict]:
    return {r["id"]: r for rows in chunks for r in rows}


def check_contract(out_dir: Path, chunks, min_tokens: int, max_tokens: int, seq_len: int):
    """Everything training relies on, checked row by row against the input songs, in the mode the
    manifest names: split (pieces that rebuild the song) or drop (the original rule)."""
    dd, tok = load(out_dir)
    manifest = json.loads((out_dir / "tokenized" / "manifest.json").read_text())
    src = source_rows(chunks)
    genres = sorted({r["tag"] for r in src.values()})

    # Tokenizer: genre tokens are single added ids, pad is set, vocab size counts them.
    assert set(manifest["genre_token_ids"]) == set(genres)
    for g, gid in manifest["genre_token_ids"].items():
        assert tok.encode(GENRE_TOKENS[g], add_special_tokens=False) == [gid]
        assert manifest["genre_tokens"][g] == GENRE_TOKENS[g]
    assert manifest["vocab_size"] == len(tok)
    assert tok.pad_token_id == manifest["pad_token_id"]
    assert tok.eos_token_id == manifest["eos_token_id"]
    eos, pad = manifest["eos_token_id"], manifest["pad_token_id"]
    assert dd["train"].features["input_ids"].feature.dtype == "uint16"
    assert set(dd) == {"train", "validation"}

    # Which songs should be kept by the length rule, from the published tokenizer itself.
    split_mode = manifest["parameters"]["long_songs"] == "split"
    if split_mode:
        max_tokens = manifest["parameters"]["max_song_tokens"]
    n_of = {i: len(tok.encode(r["lyrics"], add_special_tokens=False)) + 2 for i, r in src.items()}
    passed = {i for i, n in n_of.items() if min_tokens < n < max_tokens}

    seen = set()
    pieces: dict[str, list] = {}
    for split_name in ("train", "validation"):
        for row in dd[split_name]:
            seen.add(row["id"])
            ids, length = row["input_ids"], row["length"]
            song = src[row["id"]]
            assert row["genre"] == song["tag"] and row["artist"] == song["artist"]
            assert len(ids) == seq_len
            assert ids[0] == manifest["genre_token_ids"][row["genre"]]
            assert all(i == pad for i in ids[length:])
            lyric_ids = tok.encode(song["lyrics"], add_special_tokens=False)
            n = len(lyric_ids) + 2
            if split_mode:
                pieces.setdefault(row["id"], []).append((split_name, row["piece"], ids[:length]))
                continue
            assert row["piece"] == 0
            assert length == min(n, seq_len)
            if n <= seq_len:
                assert ids[1 : length - 1] == lyric_ids
                assert ids[length - 1] == eos
                assert tok.decode(ids[1 : length - 1]) == song["lyrics"]
            else:
                assert ids[1:] == lyric_ids[: seq_len - 1]
    assert seen <= passed
    for song_id, rows in pieces.items():
        # One split per song, pieces 0..k-1 in order, only the last ending with eos, no piece
        # of min_tokens or fewer, and the pieces joined are the song's ids and its lyrics.
        assert len({split_name for split_name, _, _ in rows}) == 1
        assert [p for _, p, _ in rows] == list(range(len(rows)))
        assert all(r[-1] != eos for _, _, r in rows[:-1]) and rows[-1][2][-1] == eos
        assert all(len(r) > min_tokens for _, _, r in rows) or len(rows) == 1
        body = [t for _, _, r in rows[:-1] for t in r[1:]] + rows[-1][2][1:-1]
        assert body == tok.encode(src[song_id]["lyrics"], add_special_tokens=False)
        assert (
            "".join(tok.decode(r[1:]) for _, _, r in rows[:-1]) + tok.decode(rows[-1][2][1:-1])
            == src[song_id]["lyrics"]
        )

    # Balance (--balance songs): per chunk, every genre exactly as many songs as the smallest one;
    # (tokens) the smallest genre's lyric tokens whole, every other genre's within a song of it.
    mode = manifest["parameters"]["balance"]
    val_artists = set(dd["validation"]["artist"])
    if mode == "tokens":
        for c in range(len(chunks)):
            counts = manifest["counts"]["per_chunk"][f"chunk-{c:02d}.parquet"]
            target = min(counts[g]["train_tokens_before"] for g in genres)
            longest = max((n_of[i] for i in passed if i.startswith(f"c{c}-")), default=0)
            for g in genres:
                assert counts[g]["train_tokens_before"] >= counts[g]["train_tokens_after"]
                assert abs(counts[g]["train_tokens_after"] - target) <= longest / 2 + 1
        return _split_checks(dd, genres), tok, manifest
    # (songs) per chunk, every genre exactly as many training songs as the smallest one; every
    # validation song that passed the length rule is kept.
    per_chunk = Counter()
    first = dd["train"].filter(lambda r: r["piece"] == 0)
    for i, g in zip(first["id"], first["genre"], strict=True):
        per_chunk[(i.split("-")[0], g)] += 1
    kept_val = set(dd["validation"]["id"])
    for c, rows in enumerate(chunks):
        mine = [r for r in rows if r["id"] in passed]
        avail = Counter(r["tag"] for r in mine if r["artist"] not in val_artists)
        target = min(avail.get(g, 0) for g in genres)
        assert {r["id"] for r in mine if r["artist"] in val_artists} <= kept_val
        for g in genres:
            assert per_chunk.get((f"c{c}", g), 0) == target
            counts = manifest["counts"]["per_chunk"][f"chunk-{c:02d}.parquet"][g]
            assert counts["kept_length"] == sum(r["tag"] == g for r in mine)
            assert counts["train_songs_after"] == target

    return _split_checks(dd, genres), tok, manifest


def _split_checks(dd, genres):
    """Split: artist-disjoint, at least one validation song per genre."""
    train_artists = set(dd["train"]["artist"])
    val_artists = set(dd["validation"]["artist"])
    assert not train_artists & val_artists
    assert set(dd["validation"]["genre"]) == set(genres)
    assert set(dd["train"]["genre"]) == set(genres)
    return dd


@pytest.fixture(scope="module")
def chunks():
    return random_chunks()


def test_gpt2_contract(tmp_path, gpt2_tokenizer_dir, chunks):
    write_chunks(tmp_path, chunks)
    run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    _dd, tok, manifest = check_contract(tmp_path, chunks, 8, 60, 40)
    assert type(tok).__name__ == "GPT2Tokenizer"
    assert manifest["pad_token_id"] == manifest["eos_token_id"] == 50256
    assert manifest["genre_token_ids"] == {"pop": 50257, "rap": 50258}
    assert manifest["tokenizer"] == str(gpt2_tokenizer_dir)
    lengths = manifest["token_lengths"]
    # Split mode keeps songs longer than one row (n up to --max-song-tokens).
    assert 8 < lengths["median"] <= lengths["p95"] < 4000 and lengths["max"] > 60
    assert 0 < lengths["share_cut_at_seq_len"] < 1 and lengths["rows"] > lengths["songs"]
    assert 0 < lengths["share_padding_at_seq_len"] < 1


def test_gpt2_contract_drop_mode_is_the_original_rule(tmp_path, gpt2_tokenizer_dir, chunks):
    write_chunks(tmp_path, chunks)
    manifest = run_stage(
        tmp_path, gpt2_tokenizer_dir, *SMALL, "--long-songs", "drop", "--balance", "songs"
    )
    check_contract(tmp_path, chunks, 8, 60, 40)
    assert manifest["length_rule"].startswith("min_tokens < n < max_tokens, cut at seq_len")
    lengths = manifest["token_lengths"]
    assert 8 < lengths["median"] <= lengths["p95"] < 60 and lengths["rows"] == lengths["songs"]
    split_dir = tmp_path / "split"
    write_chunks(split_dir, chunks)
    split = run_stage(split_dir, gpt2_tokenizer_dir, *SMALL)
    # Splitting keeps every song of the drop mode and more rows and tokens.
    for g in ("pop", "rap"):
        d, s = manifest["counts"]["per_genre"][g], split["counts"]["per_genre"][g]
        assert s["kept_length"] >= d["kept_length"] and s["rows"] >= d["rows"]
        assert 0 < d["token_share_kept"] < s["token_share_kept"] <= 1
    assert split["splits"]["train"] > manifest["splits"]["train"]


def test_collate_learns_eos_and_masks_padding(tmp_path, gpt2_tokenizer_dir, chunks):
    write_chunks(tmp_path, chunks)
    manifest = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    dd, _ = load(tmp_path)
    rows = [dd["train"][i] for i in range(16)]
    assert len({r["length"] for r in rows}) > 1
    batch = contract.collate(rows, manifest["pad_token_id"])
    eos = manifest["eos_token_id"]
    pieces = set(zip(dd["train"]["id"], dd["train"]["piece"], strict=True))
    ends = 0
    for b, row in enumerate(rows):
        length = row["length"]
        if (row["id"], row["piece"] + 1) not in pieces:  # the song's last row
            ends += 1
            # pad id == eos id: only `length` tells the real eos from padding.
            assert batch["labels"][b, length - 1] == eos
            assert batch["attention_mask"][b, length - 1] == 1
        else:
            assert batch["labels"][b, length - 1] != eos
        assert (batch["labels"][b, length:] == contract.IGNORE_INDEX).all()
        assert (batch["attention_mask"][b, length:] == 0).all()
        assert (batch["labels"][b, :length] != contract.IGNORE_INDEX).all()
    assert ends > 0


def test_bpe_contract_and_trained_on_train_split(tmp_path, chunks):
    write_chunks(tmp_path, chunks)
    manifest = run_stage(tmp_path, "bpe:400", *SMALL)
    _, tok, _ = check_contract(tmp_path, chunks, 8, 60, 40)
    assert manifest["tokenizer"] == "bpe:400"
    # 256 bytes + eos + merges (at most 400 in all; a 14-word corpus runs out of pairs) + genres.
    assert 259 < manifest["vocab_size"] == len(tok) <= 402
    assert manifest["pad_token_id"] == manifest["eos_token_id"]
    assert tok.convert_ids_to_tokens(manifest["eos_token_id"]) == "<|endoftext|>"


def test_drop_mode_window_exact_at_boundaries(tmp_path, gpt2_tokenizer_dir):
    # "a a a ..." is one GPT-2 token per word, so k words give n = k + 2.
    sizes = {18: "drop", 19: "keep", 397: "keep", 398: "drop", 298: "keep", 299: "keep", 60: "keep"}
    rows = []
    for i, (k, _) in enumerate(sizes.items()):
        rows.append(
            {
                "id": f"c0-{i}",
                "title": "t",
                "artist": f"a{i}",
                "tag": "pop",
                "lyrics": " ".join(["a"] * k),
            }
        )
    rows.append({"id": "c0-x", "title": "t", "artist": "other", "tag": "pop", "lyrics": "la " * 40})
    write_chunks(tmp_path, [rows])
    run_stage(tmp_path, gpt2_tokenizer_dir, "--long-songs", "drop")
    dd, tok = load(tmp_path)
    for k in sizes:
        assert len(tok.encode(" ".join(["a"] * k))) == k
    by_id = {r["id"]: r for s in ("train", "validation") for r in dd[s]}
    eos = tok.eos_token_id
    for i, (k, verdict) in enumerate(sizes.items()):
        assert (f"c0-{i}" in by_id) == (verdict == "keep"), (k + 2, verdict)
    # n = 300 fits exactly with its eos; n = 301 is cut and loses it.
    fits, cut = by_id["c0-4"], by_id["c0-5"]
    assert fits["length"] == 300 and fits["input_ids"][299] == eos
    assert cut["length"] == 300 and cut["input_ids"][299] != eos
    manifest = json.loads((tmp_path / "tokenized" / "manifest.json").read_text())
    pop = manifest["counts"]["per_genre"]["pop"]
    assert (pop["too_short"], pop["too_long"], pop["kept"]) == (1, 1, 6)


def test_split_mode_default_boundaries(tmp_path, gpt2_tokenizer_dir):
    # n = k + 2 again; rows of 300 tokens, songs of n >= 4,000 dropped, no piece of <= 20 tokens.
    sizes = {18: 0, 19: 1, 298: 1, 299: 2, 397: 2, 3997: 14, 3998: 0}
    rows = [
        {"id": f"c0-{i}", "title": "t", "artist": f"a{i}", "tag": "pop", "lyrics": "a " * k}
        for i, k in enumerate(sizes)
    ]
    for row, k in zip(rows, sizes, strict=True):
        row["lyrics"] = " ".join(["a"] * k)
    rows.append({"id": "c0-x", "title": "t", "artist": "other", "tag": "pop", "lyrics": "la " * 40})
    write_chunks(tmp_path, [rows])
    manifest = run_stage(tmp_path, gpt2_tokenizer_dir)
    dd, tok = load(tmp_path)
    eos = tok.eos_token_id
    by_id: dict[str, list] = {}
    for split_name in ("train", "validation"):
        for r in dd[split_name]:
            by_id.setdefault(r["id"], []).append(r)
    for i, (k, n_rows) in enumerate(sizes.items()):
        got = sorted(by_id.get(f"c0-{i}", []), key=lambda r: r["piece"])
        assert len(got) == n_rows, (k + 2, n_rows)
        if got:
            assert [r["piece"] for r in got] == list(range(n_rows))
            assert sum(r["length"] - 1 for r in got) - 1 == k  # genre tokens and one eos
            assert got[-1]["input_ids"][got[-1]["length"] - 1] == eos
            assert all(20 < r["length"] <= 300 for r in got)
    pop = manifest["counts"]["per_genre"]["pop"]
    assert (pop["too_short"], pop["too_long"], pop["kept"]) == (1, 1, 6)
    assert pop["rows"] == sum(sizes.values()) + 1 and pop["token_share_kept"] < 1


def test_control_tokens_in_lyrics_are_dropped(tmp_path, gpt2_tokenizer_dir, chunks):
    chunks = [list(rows) for rows in chunks]
    chunks[0][0] = {**chunks[0][0], "lyrics": "Hello\n[Genre: Rap] world " * 5}
    chunks[0][1] = {**chunks[0][1], "lyrics": "so long<|endoftext|> and more words here"}
    chunks[0][2] = {**chunks[0][2], "lyrics": "   \n"}
    write_chunks(tmp_path, chunks)
    manifest = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    dd, _ = load(tmp_path)
    ids = set(dd["train"]["id"]) | set(dd["validation"]["id"])
    assert not {r["id"] for r in chunks[0][:3]} & ids
    per = manifest["counts"]["per_chunk"]["chunk-00.parquet"]
    assert sum(c["control_token"] for c in per.values()) == 2
    assert sum(c["empty"] for c in per.values()) == 1


def _tables(out_dir: Path):
    from datasets import load_from_disk

    dd = load_from_disk(str(out_dir / "tokenized"))
    return {name: dd[name].data.table for name in ("train", "validation")}


def test_deterministic_and_parallel_equals_serial(tmp_path, gpt2_tokenizer_dir, chunks):
    a, b = tmp_path / "a", tmp_path / "b"
    write_chunks(a, chunks)
    write_chunks(b, chunks)
    run_stage(a, gpt2_tokenizer_dir, *SMALL)
    run_stage(b, gpt2_tokenizer_dir, *SMALL, "--workers", "2")
    ta, tb = _tables(a), _tables(b)
    for name in ta:
        assert ta[name].equals(tb[name])
    # Another seed balances and splits differently.
    c = tmp_path / "c"
    write_chunks(c, chunks)
    run_stage(c, gpt2_tokenizer_dir, *SMALL, "--seed", "7")
    assert not _tables(c)["train"].equals(ta["train"])


def test_rerun_skips_and_resumes_per_chunk(tmp_path, gpt2_tokenizer_dir, chunks):
    write_chunks(tmp_path, chunks)
    first = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    assert first["throughput"]["chunks_reused"] == 0
    arrow = sorted((tmp_path / "tokenized").rglob("*.arrow"))
    mtimes = [p.stat().st_mtime_ns for p in arrow]

    # Same inputs and parameters: the stage is skipped, nothing rewritten.
    assert run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL) == first
    assert [p.stat().st_mtime_ns for p in arrow] == mtimes

    # One chunk's lyrics changed (the same artists, so the same validation split): only that
    # chunk is tokenized again. (Which chunks hold validation artists is part of a part's key:
    # their songs are exempt from balancing.)
    changed = [list(rows) for rows in chunks]
    other = random_chunks(seed=5)[1]
    changed[1] = [{**r, "lyrics": o["lyrics"]} for r, o in zip(chunks[1], other, strict=True)]
    write_chunks(tmp_path, changed, only={1})
    second = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    assert second["throughput"]["chunks_reused"] == 2
    check_contract(tmp_path, changed, 8, 60, 40)

    # A run killed after some chunks: the finished parts are reused.
    (tmp_path / "tokenized.parts" / "chunk-02.arrow").unlink()
    shutil.rmtree(tmp_path / "tokenized")
    third = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    assert third["throughput"]["chunks_reused"] == 2
    assert third["counts"] == second["counts"]

    # A parameter change redoes every chunk; --force too.
    fourth = run_stage(
        tmp_path, gpt2_tokenizer_dir, "--min-tokens", "9", "--max-tokens", "60", "--seq-len", "40"
    )
    assert fourth["throughput"]["chunks_reused"] == 0
    fifth = run_stage(
        tmp_path,
        gpt2_tokenizer_dir,
        "--min-tokens",
        "9",
        "--max-tokens",
        "60",
        "--seq-len",
        "40",
        "--force",
    )
    assert fifth["throughput"]["chunks_reused"] == 0


# ---------------------------------------------------------------------------------------------
# Bad input: one UsageError, nothing written.


def _expect_usage_error(out_dir: Path, tokenizer, *extra: str, match: str) -> None:
    argv = ["--stages", "tokenize", "--output-dir", str(out_dir), "--quiet"]
    argv += ["--tokenizer", str(tokenizer), "--workers", "1", *extra]
    with pytest.raises(UsageError, match=match):
        preprocess.main(argv)
    assert not (out_dir / "tokenized").exists()
    assert not (out_dir / "tokenizer").exists()


def test_missing_chunks(tmp_path, gpt2_tokenizer_dir):
    _expect_usage_error(tmp_path, gpt2_tokenizer_dir, match="run stage chunks first")
    # Chunk files without the manifest of a finished stage 1 are not enough either.
    write_chunks(tmp_path, random_chunks(n_chunks=1))
    (tmp_path / "chunks" / "manifest.json").unlink()
    _expect_usage_error(tmp_path, gpt2_tokenizer_dir, match="run stage chunks first")


def test_tokenizer_that_cannot_load(tmp_path, chunks):
    write_chunks(tmp_path, chunks)
    _expect_usage_error(tmp_path, "gpt2", match="needs the Hugging Face hub.*gpt2_vocab")
    _expect_usage_error(tmp_path, tmp_path / "chunks", match="cannot load tokenizer")
    _expect_usage_error(tmp_path, "bpe:many", match="bpe:N")


def test_bad_limits(tmp_path, gpt2_tokenizer_dir, chunks):
    write_chunks(tmp_path, chunks)
    args = ["--min-tokens", "60", "--max-tokens", "60", "--long-songs", "drop"]
    _expect_usage_error(tmp_path, gpt2_tokenizer_dir, *args, match="must be smaller than")
    args = ["--min-tokens", "60", "--max-song-tokens", "60"]
    _expect_usage_error(tmp_path, gpt2_tokenizer_dir, *args, match="smaller than --max-song")


def test_genre_with_no_songs_left_keeps_old_outputs(tmp_path, gpt2_tokenizer_dir):
    rng = random.Random(1)
    rows = [
        {
            "id": f"c0-{i}",
            "title": "t",
            "artist": f"a{i % 4}",
            "tag": tag,
            "lyrics": make_lyrics(rng, w),
        }
        for i, (tag, w) in enumerate([("pop", 20), ("rap", 90)] * 6)
    ]
    write_chunks(tmp_path, [rows])
    drop = [*SMALL, "--long-songs", "drop"]
    _expect_usage_error(tmp_path, gpt2_tokenizer_dir, *drop, match="genre 'rap' has no songs left")
    assert not (tmp_path / "tokenized.parts").exists()  # nothing half-built is left behind
    # With earlier outputs present they stay as they were.
    good = run_stage(
        tmp_path, gpt2_tokenizer_dir, "--min-tokens", "8", "--max-tokens", "200", "--seq-len", "40",
        "--long-songs", "drop",
    )  # fmt: skip
    with pytest.raises(UsageError, match="no songs left"):
        preprocess.main(["--stages", "tokenize", "--output-dir", str(tmp_path), "--quiet",
                         "--tokenizer", str(gpt2_tokenizer_dir), "--workers", "1", *drop])  # fmt: skip
    assert json.loads((tmp_path / "tokenized" / "manifest.json").read_text()) == good
    assert not (tmp_path / "tokenized.parts").exists()
    # Split mode keeps the long rap songs.
    split = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL, "--balance", "songs")
    assert split["counts"]["per_genre"]["rap"]["kept"]
    load(tmp_path)


@pytest.mark.slow
def test_command_line_one_line_error_and_run(tmp_path, gpt2_tokenizer_dir, chunks):
    cmd = [sys.executable, "-m", "pipeline.preprocess", "--stages", "tokenize"]
    cmd += ["--output-dir", str(tmp_path), "--tokenizer", str(gpt2_tokenizer_dir)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "run stage chunks first" in proc.stderr
    write_chunks(tmp_path, chunks)
    proc = subprocess.run([*cmd, *SMALL], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "train" in proc.stdout and "[Genre: Rap]" in proc.stdout
    check_contract(tmp_path, chunks, 8, 60, 40)


@pytest.mark.parametrize("kind", ["gpt2", "bpe"])
def test_all_six_genres(tmp_path, gpt2_tokenizer_dir, kind):
    from lyrics_gpt2.genres import TAGS

    six = random_chunks(seed=2, n_chunks=2, per_chunk=120, genres=TAGS)
    write_chunks(tmp_path, six)
    tokenizer = gpt2_tokenizer_dir if kind == "gpt2" else "bpe:400"
    manifest = run_stage(tmp_path, tokenizer, *SMALL)
    assert list(manifest["genre_token_ids"]) == list(TAGS)
    assert len(set(manifest["genre_token_ids"].values())) == 6
    check_contract(tmp_path, six, 8, 60, 40)


def test_chunks_that_keep_nothing_or_lack_a_genre_run_through(tmp_path, gpt2_tokenizer_dir):
    # Stage 1 with many chunks and few songs writes chunks like these: one with no rap song (it
    # keeps nothing after balancing; its empty length histogram used to crash the statistics),
    # one with no rows at all, and enough mixed ones to train.
    rng = random.Random(3)
    mixed = random_chunks(seed=4, n_chunks=2, per_chunk=30)
    only_pop = [
        {"id": f"p-{i}", "title": "t", "artist": f"pop artist {i}", "tag": "pop",
         "lyrics": make_lyrics(rng, 30)}
        for i in range(3)
    ]  # fmt: skip
    chunks = [mixed[0], only_pop, [], mixed[1]]
    chunk_dir = write_chunks(tmp_path, [c or only_pop[:1] for c in chunks])
    empty = pa.table({k: pa.array([], type=pa.string()) for k in ("id", "title", "artist", "tag",
                                                                    "lyrics")})  # fmt: skip
    pq.write_table(empty, chunk_dir / "chunk-02.parquet")
    manifest = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    per_chunk = manifest["counts"]["per_chunk"]
    assert per_chunk["chunk-01.parquet"]["pop"]["kept"] == 0
    assert per_chunk["chunk-02.parquet"]["pop"]["read"] == 0
    assert manifest["token_lengths"]["songs"] > 0
    assert sum(manifest["splits"].values()) == manifest["token_lengths"]["rows"]


# ---------------------------------------------------------------------------------------------
# Artist tokens (--artist-tokens N, --artist-holdout).


def _without_timings(manifest: dict) -> dict:
    return {k: v for k, v in manifest.items() if k not in ("timings", "throughput", "files")}


def test_artist_tokens_after_the_genre_token_and_held_out_songs(tmp_path, chunks):
    from pipeline.tokenize import artist_split as splits

    write_chunks(tmp_path, chunks)
    manifest = run_stage(
        tmp_path, "bpe:400", *SMALL, "--artist-tokens", "3", "--artist-holdout", "0.2"
    )
    dd, tok = load(tmp_path)
    src = source_rows(chunks)
    assert set(dd) == {"train", "validation", "artist_val"}
    artist_ids = manifest["artist_token_ids"]
    # The three artists with the most songs outside validation, each one added token whose text
    # is exactly [Artist: name].
    assert len(artist_ids) == 3
    val_artists = set(dd["validation"]["artist"])
    songs = Counter(r["artist"] for r in src.values() if r["artist"] not in val_artists)
    ranked = sorted(songs, key=lambda a: (-songs[a], a))
    assert list(artist_ids) == ranked[:3]
    for name, token_id in artist_ids.items():
        assert manifest["artist_tokens"][name] == f"[Artist: {name}]"
        assert tok.encode(f"[Artist: {name}]", add_special_tokens=False) == [token_id]
    assert set(artist_ids.values()).isdisjoint(manifest["genre_token_ids"].values())
    assert manifest["vocab_size"] == len(tok)

    # Placement: [Genre] [Artist] lyrics in every piece of such an artist's songs; other songs
    # carry no artist token at all; the pieces joined are still the song.
    pieces: dict[str, list] = {}
    with_token = 0
    for name in ("train", "validation", "artist_val"):
        for row in dd[name]:
            ids, length = row["input_ids"], row["length"]
            assert ids[0] == manifest["genre_token_ids"][row["genre"]]
            own = artist_ids.get(row["artist"])
            if own is None:
                assert not set(ids[:length]) & set(artist_ids.values())
                continue
            assert name != "validation"  # validation is artist-disjoint
            assert ids[1] == own and own not in ids[2:length]
            with_token += 1
            pieces.setdefault(row["id"], []).append((row["piece"], ids[:length]))
    assert with_token > 0
    eos = manifest["eos_token_id"]
    for song_id, rows in pieces.items():
        rows.sort()
        assert rows[-1][1][-1] == eos
        body = [t for _, r in rows[:-1] for t in r[2:]] + rows[-1][1][2:-1]
        assert body == tok.encode(src[song_id]["lyrics"], add_special_tokens=False)
        # n counts the artist token like the genre token: one-row songs stay inside seq_len.
        assert all(len(r) <= 40 for _, r in rows)

    # The holdout: only token artists, disjoint from train by song, round(0.2 x songs) each
    # (at least one), recorded in the manifest.
    train_ids, held_ids = set(dd["train"]["id"]), set(dd["artist_val"]["id"])
    assert held_ids and not held_ids & train_ids
    assert set(dd["artist_val"]["artist"]) <= set(artist_ids)
    per_artist = manifest["artist_split"]["per_artist"]
    for name, c in per_artist.items():
        n = c["train"] + c["artist_val"]
        held, kept = _songs_of(dd["artist_val"], name), _songs_of(dd["train"], name)
        assert len(held) == c["artist_val"] == (min(max(1, round(0.2 * n)), n - 1) if n > 1 else 0)
        assert len(kept) == c["train"]
        # --seed 42, preprocess' default
        assert sorted(held) == splits.artist_holdout({name: kept | held}, 0.2, 42)[name]
    assert manifest["splits"]["artist_val"] == len(dd["artist_val"])

    # Deterministic: a fresh run holds out the same songs and writes the same rows.
    again = tmp_path / "again"
    write_chunks(again, chunks)
    run_stage(again, "bpe:400", *SMALL, "--artist-tokens", "3", "--artist-holdout", "0.2")
    for name, table in _tables_all(tmp_path).items():
        assert table.equals(_tables_all(again)[name])


def _songs_of(ds, artist: str) -> set[str]:
    return {i for i, a in zip(ds["id"], ds["artist"], strict=True) if a == artist}


def _tables_all(out_dir: Path):
    from datasets import load_from_disk

    dd = load_from_disk(str(out_dir / "tokenized"))
    return {name: dd[name].data.table for name in dd}


def test_artist_tokens_zero_is_byte_identical_to_no_flag(tmp_path, gpt2_tokenizer_dir, chunks):
    write_chunks(tmp_path, chunks)

    def outputs() -> dict[str, bytes]:
        files = sorted((tmp_path / "tokenizer").iterdir())
        files += sorted((tmp_path / "tokenized").rglob("*.arrow"))
        return {str(f.relative_to(tmp_path)): f.read_bytes() for f in files}

    first = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL)
    before = outputs()
    assert not {k for k in first if k.startswith("artist")}
    assert "artist_tokens" not in first["parameters"]
    # Same stage key: the stage is up to date, nothing is redone.
    assert run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL, "--artist-tokens", "0") == first
    # Redone: the same bytes.
    forced = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL, "--artist-tokens", "0", "--force")
    assert _without_timings(forced) == _without_timings(first)
    assert outputs() == before
    assert sorted(p.name for p in (tmp_path / "tokenized").iterdir()) == [
        ".lyrics-gpt2.json",  # the ownership marker (lyrics_gpt2.fileio.MARKER)
        "dataset_dict.json",
        "manifest.json",
        "train",
        "validation",
    ]
    # Turning artist tokens on is a parameter change: every chunk is redone.
    third = run_stage(tmp_path, gpt2_tokenizer_dir, *SMALL, "--artist-tokens", "2")
    assert third["throughput"]["chunks_reused"] == 0
    assert third["genre_token_ids"] == first["genre_token_ids"]  # artist ids come after


def test_collator_masks_the_artist_token(tmp_path, chunks):
    write_chunks(tmp_path, chunks)
    manifest = run_stage(tmp_path, "bpe:400", *SMALL, "--artist-tokens", "3")
    _, m = contract.load_tokenized(tmp_path)
    assert m.conditioning_ids == tuple(sorted(manifest["artist_token_ids"].values()))
    dd, _ = load(tmp_path)
    rows = [r for r in dd["train"]][:40]
    assert any(r["artist"] in m.artist_token_ids for r in rows)
    plain = contract.collate(rows, m.pad_token_id)
    masked = contract.Collator(m.pad_token_id, m.seq_len, 8, m.conditioning_ids)(rows)
    for b, row in enumerate(rows):
        has = row["artist"] in m.artist_token_ids
        assert plain["labels"][b, 1] == (
            m.artist_token_ids[row["artist"]] if has else row["input_ids"][1]
        )
        assert masked["labels"][b, 1] == (contract.IGNORE_INDEX if has else row["input_ids"][1])
        # Nothing else changes: lyrics and eos stay targets.
        assert (
            masked["labels"][b, 2 : row["length"]] == plain["labels"][b, 2 : row["length"]]
        ).all()


def test_bad_artist_flags(tmp_path, chunks):
    write_chunks(tmp_path, chunks)
    args = ["--artist-tokens", "-1", "--artist-holdout", "1.5"]
    _expect_usage_error(tmp_path, "bpe:400", *args, match="artist-tokens must.*artist-holdout")
