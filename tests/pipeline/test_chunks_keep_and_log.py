"""Stage 1 (python -m pipeline.preprocess --stages chunks) keeps every good row of a damaged CSV,
keeps one copy of a song listed twice, and logs every song it drops (DIR/chunks/drops.parquet)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq

from lyrics_gpt2.cli import run
from pipeline.chunks.droplog import SCHEMA
from pipeline.preprocess import main

HEADER = ["title", "tag", "artist", "year", "views", "features", "lyrics", "id"]
VERSES = [
    "Walking down the river road\nCarry all the heavy load",
    "Summer lights are burning bright\nDancing on the roof tonight",
    "Money talking on the street\nNever let them see you beat",
    "Cold rain falling on my face\nRunning far from every place",
]


def preprocess(inp: Path, out: Path, *extra: str) -> int:
    argv = ["--stages", "chunks", "--input", str(inp), "--output-dir", str(out), "--quiet"]
    return run(main, [*argv, "--language", "any", "--num-chunks", "4", *extra])


def write(path: Path, rows: list[list[str]], tail: bytes = b"") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *rows])
    path.write_bytes(path.read_bytes() + tail)
    return path


def song(i: int, artist: str, lyrics: str, tag: str = "pop") -> list[str]:
    return [f"Song {i}", tag, artist, "2001", "10", "{}", lyrics, str(i)]


def outputs(out: Path) -> tuple[dict, list[dict], list[dict]]:
    manifest = json.loads((out / "chunks" / "manifest.json").read_text())
    kept = [
        r
        for entry in manifest["chunks"]
        for r in pq.read_table(out / "chunks" / entry["file"]).to_pylist()
    ]
    log = pq.read_table(out / "chunks" / "drops.parquet")
    assert log.schema == SCHEMA
    return manifest, kept, log.to_pylist()


def test_a_copy_cut_mid_field_keeps_its_good_rows_and_logs_the_bad(tmp_path, capsys):
    rows = [song(i, f"artist {i % 3}", f"{VERSES[i % 4]}\nline {i}") for i in range(40)]
    tail = b"R,pop,A,1,1,{},ragged,98,extra\nS,pop,A\n" + b'U,pop,A,1,1,{},"cut in the mid'
    path = write(tmp_path / "cut.csv", rows, tail)
    assert preprocess(path, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: 3 malformed row(s)") and err.count("\n") == 1
    assert "never closed" in err and "drops.parquet" in err
    manifest, kept, log = outputs(tmp_path / "out")
    assert manifest["rows_in"] == 43 and manifest["rows_out"] == 40
    assert manifest["dropped"]["malformed"] == 3 and manifest["drop_log"]["rows"] == 3
    assert sorted(int(r["id"]) for r in kept) == list(range(40))
    # Each good record spans 3 lines (a quoted 3-line lyric): the bad ones start on 122-124.
    assert [(r["reason"], r["row"], r["line"]) for r in log] == [
        ("malformed", 41, 122), ("malformed", 42, 123), ("malformed", 43, 124)
    ]  # fmt: skip
    assert [r["detail"] for r in log] == [
        "expected 8 fields, saw 9", "no id (too few fields)", "quote open at end of file"
    ]  # fmt: skip
    lines = path.read_text().split("\n")
    assert lines[121].startswith("R,pop") and lines[122] == "S,pop,A" and lines[123][0] == "U"


def test_an_input_with_no_readable_row_is_refused(tmp_path, capsys):
    path = write(tmp_path / "bad.csv", [], b'U,pop,A,1,1,{},"cut in the mid')
    assert preprocess(path, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "none of its 1 rows could be read" in err
    assert not (tmp_path / "out" / "chunks").exists()


def test_one_song_under_two_artists_is_kept_once_whatever_the_order(tmp_path):
    duet = "Hold me close, baby!\nHold me close tonight\n\nNever let me go"
    variant = "hold me close baby\nHold  me close   tonight...\nnever let me go"
    rows = [
        song(1, "Singer A", duet),
        song(2, "Singer B", variant),  # the same song, other artist, other spelling
        song(3, "Singer C", VERSES[0]),
        song(4, "Singer D", VERSES[1], "rap"),
    ]
    a = write(tmp_path / "a.csv", rows)
    b = write(tmp_path / "b.csv", rows[::-1])
    for name, path in (("a", a), ("b", b)):
        assert preprocess(path, tmp_path / name) == 0
    manifest, kept_a, log = outputs(tmp_path / "a")
    _, kept_b, _ = outputs(tmp_path / "b")
    assert manifest["dropped"]["duplicate_text"] == 1 and manifest["rows_out"] == 3
    ids_a = sorted(r["id"] for r in kept_a)
    assert ids_a == sorted(r["id"] for r in kept_b)  # the same copy, whatever the input order
    assert len({"1", "2"} & set(ids_a)) == 1
    (gone,) = log
    assert gone["reason"] == "duplicate_text" and gone["id"] in {"1", "2"}
    assert gone["artist"] in {"Singer A", "Singer B"} and gone["title"].startswith("Song ")


def test_the_drop_log_names_every_dropped_song_and_why(tmp_path):
    rows = [
        song(1, "Singer A", VERSES[0]),
        song(2, "Singer B", VERSES[1], "rock"),  # genre_not_selected
        song(3, "Singer C", "   "),  # empty_lyrics
        song(4, "Singer D", "[Chorus]\n(Repeat)"),  # empty_after_cleaning
        song(5, "Genius English Translations", VERSES[2]),  # translation_page
        song(6, "Singer E", VERSES[3], "rap"),
    ]
    assert preprocess(write(tmp_path / "in.csv", rows), tmp_path / "out") == 0
    manifest, _kept, log = outputs(tmp_path / "out")
    reasons = {r["id"]: r["reason"] for r in log}
    assert reasons == {
        "2": "genre_not_selected",
        "3": "empty_lyrics",
        "4": "empty_after_cleaning",
        "5": "translation_page",
    }
    assert sum(manifest["dropped"].values()) == len(log) == manifest["drop_log"]["rows"]
    emptied = next(r for r in log if r["id"] == "4")
    assert emptied["title"] == "Song 4" and emptied["artist"] == "Singer D"
    assert emptied["tag"] == "pop"


SPANISH = (
    "Caminando por la calle sin saber a dónde ir\nLa luna me pregunta por qué tengo que "
    "sufrir\nTu recuerdo me persigue cada noche sin parar\nY no puedo olvidar tu mirada"
)
ENGLISH = (
    "I've been driving through the desert with the windows rolling down\nGot your picture "
    "on the dashboard and your voice inside my sound\nTake me home, take me home tonight"
)


def test_songs_the_detector_judges_keep_their_place_in_the_log_and_the_chunks(tmp_path):
    """A batch's language verdicts come after the batch is cleaned (stage.process_batch): the
    dropped songs still reach the log in input order, with the rules that fired on them, and
    the kept songs their chunks in input order."""
    rows = [
        song(1, "Singer A", "[Verse 1]\n" + ENGLISH),
        song(2, "Singer B", SPANISH + "12Embed"),  # wrong_language, its tail removed
        song(3, "Singer C", VERSES[0], "rock"),  # genre_not_selected
        song(4, "Singer D", ENGLISH.replace("desert", "city")),
        song(5, "Singer E", SPANISH.replace("calle", "playa")),  # wrong_language
        song(6, "Singer F", "   "),  # empty_lyrics
        song(7, "Singer G", ENGLISH.replace("desert", "forest"), "rap"),
    ]
    out = tmp_path / "out"
    assert (
        preprocess(write(tmp_path / "in.csv", rows), out, "--language", "en", "--num-chunks", "1")
        == 0
    )
    manifest, kept, log = outputs(out)
    assert [r["id"] for r in kept] == ["1", "4", "7"]
    assert [(r["id"], r["reason"]) for r in log] == [
        ("2", "wrong_language"),
        ("3", "genre_not_selected"),
        ("5", "wrong_language"),
        ("6", "empty_lyrics"),
    ]
    assert json.loads(log[0]["rules"]) == {"embed_tail": 1} and log[2]["rules"] is None
    assert manifest["dropped"]["wrong_language"] == 2


def test_drop_log_rows_added_by_column_match_rows_added_one_by_one(tmp_path, monkeypatch):
    """add_rows (how stage 1 logs a batch) writes the rows and row groups add would, row by
    row: columns it is not given stay empty, and flushes fall every FLUSH_ROWS rows."""
    from pipeline.chunks import droplog

    monkeypatch.setattr(droplog, "FLUSH_ROWS", 7)
    batches = [
        ({"id": [f"a{i}" for i in range(n)], "tag": ["pop"] * n, "lyrics": ["x"] * n}, n)
        for n in (3, 9, 0, 15, 2)
    ]
    by_row, by_column = (
        droplog.DropLog(tmp_path / "a.parquet"),
        droplog.DropLog(tmp_path / "b.parquet"),
    )
    for rows, n in batches:
        reasons = [f"r{i % 3}" for i in range(n)]
        by_column.add_rows(rows, reasons)
        for i in range(n):
            by_row.add(reasons[i], **{k: v[i] for k, v in rows.items()})
    by_row.close()
    by_column.close()
    a, b = pq.ParquetFile(tmp_path / "a.parquet"), pq.ParquetFile(tmp_path / "b.parquet")
    assert by_column.rows == by_row.rows == 29
    assert [a.metadata.row_group(i).num_rows for i in range(a.num_row_groups)] == [
        b.metadata.row_group(i).num_rows for i in range(b.num_row_groups)
    ]
    assert a.read().equals(b.read())
    assert b.read().column("title").null_count == 29
