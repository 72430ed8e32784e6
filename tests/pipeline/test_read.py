"""Schema detection and the streaming reader (pipeline/read.py) on the fixture CSVs."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from lyrics_gpt2.errors import UsageError
from pipeline.read import Reader, detect_layout
from tests.conftest import FIXTURES

GENIUS_HEADER = ["title", "tag", "artist", "year", "views", "features", "lyrics", "id"]


def read_all(path: Path, **kw) -> tuple[Reader, dict[str, list[str]]]:
    reader = Reader(path, untagged_genre=kw.pop("untagged_genre", "pop"), **kw)
    rows: dict[str, list[str]] = {}
    for batch in reader:
        for key, values in batch.items():
            rows.setdefault(key, []).extend(values)
    return reader, rows


def write_csv(path: Path, header: list[str], rows: list[list[str]], **kw) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=kw.pop("newline", "\n"))
    w.writerow(header)
    w.writerows(rows)
    data = kw.pop("prefix", b"") + buf.getvalue().encode()
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("genius.csv", "genius"),
        ("genius_lang.csv", "genius+language"),
        ("songdata.csv", "songdata"),
        ("songdata_crlf.csv", "songdata"),
        ("multilingual.csv", "multilingual"),
    ],
)
def test_detect_layout(name, layout):
    assert detect_layout(FIXTURES / name).name == layout


def test_genius_rows_na_titles_and_malformed_row():
    reader, rows = read_all(FIXTURES / "genius.csv")
    # The fixture has 27 data rows, one of them with a stray comma (nine fields).
    assert reader.rows_in == 27 and reader.malformed == 1
    assert len(rows["id"]) == 26 and "1026" not in rows["id"]
    by_id = dict(zip(rows["id"], rows["title"], strict=True))
    assert by_id["1008"] == "NA" and by_id["1009"] == "null"
    assert dict(zip(rows["id"], rows["artist"], strict=True))["1009"] == "None"
    lyrics = dict(zip(rows["id"], rows["lyrics"], strict=True))
    assert lyrics["1010"] == ""  # an empty field stays an empty string
    assert "\n\n[Verse 1: Big Tone]\n" in lyrics["1001"]  # multi-line quoted field intact
    assert set(rows["language"]) == {""}


def test_genius_language_column():
    _, rows = read_all(FIXTURES / "genius_lang.csv")
    assert rows["language"] == ["en", "es", "", "", "en"]


def test_songdata_gets_untagged_genre_and_link_ids():
    reader, rows = read_all(FIXTURES / "songdata_crlf.csv", untagged_genre="rock")
    assert reader.rows_in == 5 and reader.malformed == 0
    assert set(rows["tag"]) == {"rock"}
    assert rows["id"][0] == "/b/big+tone/up+now_20001001.html"
    assert rows["artist"][3] == "NA" and rows["title"][3] == "null"
    assert "  \r\n" in rows["lyrics"][0]  # CRLF and two-space line ends reach the cleaner


def test_multilingual_genres_mapped_and_ids_from_artist_song():
    _, rows = read_all(FIXTURES / "multilingual.csv")
    assert rows["tag"][:3] == ["rap", "pop", "rock"]  # Hip-Hop, Pop, Metal
    assert rows["tag"][4] == "rb" and rows["tag"][6] == "country"  # R&B, Country
    assert rows["tag"][7] == "?Polka"  # unknown: dropped later as unknown_genre
    assert rows["id"][0] == rows["id"][5] != rows["id"][1]  # same artist + song: same id
    assert rows["language"][3] == "es"


def test_gzip_and_bom(tmp_path):
    rows = [["T", "pop", "A", "2000", "1", "{}", "la la la", "7"]]
    plain = write_csv(tmp_path / "a.csv", GENIUS_HEADER, rows, prefix=b"\xef\xbb\xbf")
    zipped = write_csv(tmp_path / "b.csv.gz", GENIUS_HEADER, rows, prefix=b"\xef\xbb\xbf")
    for path in (plain, zipped):
        reader, got = read_all(path)
        assert got["title"] == ["T"] and got["id"] == ["7"]
    assert reader.bytes_read == len(gzip.decompress(zipped.read_bytes()))  # the BOM counted
    # Only a whole BOM is skipped: a first column named like its tail is read as it is.
    odd = write_csv(tmp_path / "c.csv", ["\xbbx", *GENIUS_HEADER], [["1", *rows[0]]])
    assert read_all(odd)[1]["lyrics"] == ["la la la"]


def test_field_longer_than_csv_module_limit(tmp_path):
    long = ("a line of a very long book " * 6000).strip()
    assert len(long) > 131_072
    path = write_csv(tmp_path / "long.csv", GENIUS_HEADER, [["B", "misc", "X", "1", "1", "{}",
                     long, "1"], ["C", "pop", "Y", "1", "1", "{}", "short", "2"]])  # fmt: skip
    _, got = read_all(path)
    assert got["lyrics"] == [long, "short"]


def test_several_malformed_rows_all_counted(tmp_path):
    rows = [["T", "pop", "A", "1", "1", "{}", f"song {i}", str(i)] for i in range(20)]
    path = write_csv(tmp_path / "m.csv", GENIUS_HEADER, rows)
    lines = path.read_text().splitlines(keepends=True)
    for k in (3, 7, 8, 15):  # a stray comma: nine fields
        lines[k] = "Extra," + lines[k]
    path.write_text("".join(lines))
    reader, got = read_all(path, batch_rows=5)
    assert reader.malformed == 4 and reader.rows_in == 20 and len(got["id"]) == 16


def test_batches_are_bounded(tmp_path):
    rows = [["T", "pop", "A", "1", "1", "{}", f"song {i}", str(i)] for i in range(250)]
    path = write_csv(tmp_path / "many.csv", GENIUS_HEADER, rows)
    sizes = [len(b["id"]) for b in Reader(path, untagged_genre="pop", batch_rows=100)]
    assert sizes == [100, 100, 50]


# --- bad inputs: one UsageError naming the problem ------------------------------------------


def test_missing_input_says_where_to_get_data(tmp_path):
    with pytest.raises(UsageError, match=r"not found.*Kaggle.*data/sample\.csv\.gz"):
        detect_layout(tmp_path / "ds.csv")


def test_missing_required_column(tmp_path):
    path = write_csv(
        tmp_path / "x.csv", ["title", "tag", "artist", "lyrics"], [["a", "b", "c", "d"]]
    )
    with pytest.raises(UsageError, match=r"lacks the column\(s\) id"):
        detect_layout(path)


def test_empty_and_binary_files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(UsageError, match="empty"):
        detect_layout(tmp_path / "empty.csv")
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(UsageError, match="binary"):
        detect_layout(tmp_path / "bin.csv")


def test_header_only_file(tmp_path):
    path = write_csv(tmp_path / "h.csv", GENIUS_HEADER, [])
    reader, rows = read_all(path)
    assert reader.rows_in == 0 and rows == {}


def test_invalid_utf8_deep_in_file(tmp_path):
    # Past the head that detect_layout checks: found while streaming.
    good = [["T", "pop", "A", "1", "1", "{}", "fine words " * 50, str(i)] for i in range(300)]
    path = write_csv(tmp_path / "bad.csv", GENIUS_HEADER, good)
    path.write_bytes(path.read_bytes() + b'X,pop,A,1,1,{},"caf\xe9 latin-1",999\n')
    with pytest.raises(UsageError, match="not UTF-8"):
        read_all(path)


def test_unterminated_quote_at_eof_loses_only_that_row(tmp_path):
    rows = [["T", "pop", "A", "1", "1", "{}", f"ok\nline {i}", str(i)] for i in range(7)]
    path = write_csv(tmp_path / "q.csv", GENIUS_HEADER, rows)
    # a ragged row and a short one before the cut, inside the batch pandas fails on
    path.write_bytes(
        path.read_bytes() + b"R,pop,A,1,1,{},x,98,extra\nS,pop,A\n"
        b'U,pop,A,1,1,{},"never closed\nand more\n'
    )
    reader = Reader(path, untagged_genre="pop", batch_rows=3)
    ids = [i for batch in reader for i in batch["id"]]
    assert ids == [str(i) for i in range(7)]
    assert (reader.rows_in, reader.malformed) == (10, 3)
    assert reader.truncated and "row 10" in reader.truncated
    bad = reader.take_bad()
    assert [b["detail"] for b in bad] == [
        "expected 8 fields, saw 9",
        "no id (too few fields)",
        "quote open at end of file",
    ]
    assert [b["row"] for b in bad] == [8, 9, 10]  # data records, 1 = the first
    assert reader.take_bad() == []


def test_a_file_of_one_unterminated_row_has_nothing_to_read(tmp_path):
    path = write_csv(tmp_path / "q.csv", GENIUS_HEADER, [])
    path.write_bytes(path.read_bytes() + b'U,pop,A,1,1,{},"never closed\nand more\n')
    reader = Reader(path, untagged_genre="pop")
    assert [b for b in reader] == [] and reader.malformed == reader.rows_in == 1
