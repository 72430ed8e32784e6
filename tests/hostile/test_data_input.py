"""Hostile lyrics CSVs and flags through ``python -m pipeline.preprocess`` (stage chunks), run in
this process. Issue 10 items 2, 3, 8 (data side), 15 (seed), 18 (messages)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tests.hostile.conftest import GENIUS_HEADER, genius_rows, one_line, preprocess, tree


def kept_rows(out):
    manifest = json.loads((out / "chunks" / "manifest.json").read_text())
    rows = [
        r for f in manifest["chunks"] for r in pq.read_table(out / "chunks" / f["file"]).to_pylist()
    ]
    return manifest, rows


# Item 2: one extra field in the FIRST data row made pandas take columns as the index: every
# later row "malformed", 0 kept, exit 0. Now the row is skipped as malformed like any later one.
@pytest.mark.parametrize(
    "extra", [",EXTRA", ",y" * 10_000], ids=["one-extra-field", "10000-columns"]
)
def test_first_row_with_extra_fields_is_one_malformed_row(tmp_path, capsys, extra):
    inp = tmp_path / "in.csv"
    first = 't0,pop,a,2000,1,{},"first\nrow",0' + extra + "\n"
    inp.write_text(f"{GENIUS_HEADER}\n{first}{genius_rows(6, start=1)}")
    assert preprocess(inp, tmp_path / "out", "--language", "any") == 0
    manifest, rows = kept_rows(tmp_path / "out")
    assert manifest["dropped"]["malformed"] == 1 and manifest["rows_in"] == 7
    assert sorted(r["id"] for r in rows) == [str(i) for i in range(1, 7)]


# Item 3: two "lyrics" columns: 0 kept, all empty_after_cleaning. Item 18: a header without
# lyrics was told to add a language column too.
@pytest.mark.parametrize(
    ("header", "words", "absent"),
    [
        (GENIUS_HEADER + ",lyrics", ["lyrics", "more than once"], None),
        ("title,tag,artist,year,views,features,id", ["lacks the column(s) lyrics "], "language"),
        ("artist,song,link,text,text", ["text", "more than once"], None),
    ],
    ids=["duplicate-lyrics", "missing-lyrics", "duplicate-songdata-text"],
)
def test_bad_header_is_one_line_before_reading(tmp_path, capsys, header, words, absent):
    inp = tmp_path / "in.csv"
    inp.write_text(f"{header}\n{genius_rows(3)}")
    assert preprocess(inp, tmp_path / "out") == 2
    line = one_line(capsys.readouterr().err, str(inp), *words)
    assert absent is None or absent not in line
    assert not (tmp_path / "out").exists()  # refused before anything was written


# Item 18: UTF-16 was called "binary".
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_named(tmp_path, capsys, encoding):
    inp = tmp_path / "in.csv"
    inp.write_bytes(f"{GENIUS_HEADER}\n{genius_rows(3)}".encode(encoding))
    assert preprocess(inp, tmp_path / "out") == 2
    one_line(capsys.readouterr().err, "UTF-16", "iconv")
    assert not (tmp_path / "out").exists()


# Item 8: NUL bytes after the first 64 KB stayed in cleaned lyrics (and one in the head made the
# whole file "binary").
@pytest.mark.parametrize("where", ["head", "after-64KB"])
def test_nul_bytes_are_removed_from_lyrics(tmp_path, where):
    inp = tmp_path / "in.csv"
    nul_row = 't999,pop,x,2000,1,{},"a NUL\x00 in the\x00 lyrics of this song",999\n'
    if where == "after-64KB":
        body = genius_rows(800, start=1) + nul_row
        assert len(body.encode()) > 1 << 16
    else:
        body = nul_row + genius_rows(3, start=1)
    inp.write_text(f"{GENIUS_HEADER}\n{body}")
    assert preprocess(inp, tmp_path / "out", "--language", "any") == 0
    _, rows = kept_rows(tmp_path / "out")
    nul = [r for r in rows if r["id"] == "999"]
    assert len(nul) == 1 and nul[0]["lyrics"] == "a NUL in the lyrics of this song"
    assert not any("\x00" in r["lyrics"] for r in rows)


# Item 8: --language xx dropped every song with exit 0. Item 15: --seed -1 failed in workers.
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--language", "xx"], ["--language 'xx'", "en"]),
        (["--language", "zz"], ["--language 'zz'"]),
        (["--seed", "-1"], ["--seed", "-1"]),
        (["--seed", str(2**32)], ["--seed"]),
    ],
    ids=["language-xx", "language-zz", "seed-minus-1", "seed-2**32"],
)
def test_bad_flag_is_one_line_and_writes_nothing(tmp_path, capsys, flags, words):
    inp = tmp_path / "in.csv"
    inp.write_text(f"{GENIUS_HEADER}\n{genius_rows(3)}")
    assert preprocess(inp, tmp_path / "out", *flags) == 2
    one_line(capsys.readouterr().err, *words)
    assert not (tmp_path / "out").exists() or tree(tmp_path / "out") == []


def test_language_names_and_known_codes_still_work(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text(f"{GENIUS_HEADER}\n{genius_rows(4)}")
    for code in ("English", "fil", "yue"):
        assert (
            preprocess(inp, tmp_path / code, "--language", code, "--lang-detector", "fasttext") == 0
        )
