"""Stage 1 end to end through the real entry point: python -m pipeline.preprocess --stages chunks."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lyrics_gpt2.cli import run
from pipeline.chunks.files import COLUMNS, chunk_of
from pipeline.chunks.stage import REASONS
from pipeline.preprocess import main
from tests.conftest import FIXTURES, REPO

GENIUS_HEADER = ["title", "tag", "artist", "year", "views", "features", "lyrics", "id"]


def preprocess(inp: Path, out: Path, *extra: str) -> int:
    argv = ["--stages", "chunks", "--input", str(inp), "--output-dir", str(out), "--quiet"]
    return run(main, [*argv, *extra])


def load(out: Path) -> tuple[dict, list[dict]]:
    manifest = json.loads((out / "chunks" / "manifest.json").read_text())
    rows = []
    for entry in manifest["chunks"]:
        table = pq.read_table(out / "chunks" / entry["file"])
        assert table.column_names == list(COLUMNS)
        assert table.num_rows == entry["rows"]
        for row in table.to_pylist():
            row["chunk"] = int(entry["file"][6:8])
            rows.append(row)
    return manifest, rows


def chunk_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "chunks").glob("*.parquet"))}


def check_accounting(manifest: dict) -> None:
    assert list(manifest["dropped"]) == list(REASONS)
    assert manifest["rows_in"] == manifest["rows_out"] + sum(manifest["dropped"].values())


def test_genius_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--stages", "chunks", "--input", str(FIXTURES / "genius.csv")]
    assert main([*argv, "--output-dir", str(out), "--repeat-threshold", "3"]) == 0
    summary = capsys.readouterr().out
    assert "dropped wrong_language" in summary and "kept" in summary

    manifest, rows = load(out)
    check_accounting(manifest)
    assert [f["file"] for f in manifest["chunks"]] == [f"chunk-{i:02d}.parquet" for i in range(40)]
    assert manifest["layout"] == "genius"
    assert manifest["params"]["genres"] == ["pop", "rap"]
    assert len(manifest["input_fingerprint"]) == 32
    assert set(manifest["timings"]) >= {"read_clean_s", "write_chunks_s", "total_s"}
    d = manifest["dropped"]
    assert d["malformed"] == 1
    assert d["genre_not_selected"] == 2  # rock, misc
    assert d["empty_lyrics"] == 2
    assert d["placeholder"] == 4  # [Instrumental], Loading..., Save Cancel, not yet released
    assert d["translation_page"] == 1
    assert d["empty_after_cleaning"] == 1
    assert d["wrong_language"] == 4  # es, ru, fr, ja
    assert d["duplicate_id"] == 1
    assert d["repeated_text"] == 3  # the study guide, whatever its case and spacing

    by_id = {r["id"]: r for r in rows}
    # English with accents, curly quotes, emoji, or one Spanish line survives.
    assert {"1002", "1003", "1020", "1021"} <= set(by_id)
    assert "café" in by_id["1002"]["lyrics"] and "💙" in by_id["1002"]["lyrics"]
    assert "Te quiero" in by_id["1003"]["lyrics"]
    assert by_id["1008"]["title"] == "NA" and by_id["1009"]["title"] == "null"
    assert by_id["1001"]["title"] == "Up Now"  # the first of the two 1001 rows
    lyrics = by_id["1001"]["lyrics"]
    assert "[" not in lyrics and "(" not in lyrics and "\n\n" in lyrics  # stanzas kept
    assert "Chorus" not in by_id["1019"]["lyrics"]
    assert "I said (I'll never leave this town" in by_id["1019"]["lyrics"]
    for row in rows:
        assert row["chunk"] == chunk_of(row["id"], 40)
        assert row["tag"] in ("pop", "rap")
    assert manifest["rows_out"] == len(rows) == sum(manifest["tags_out"].values())


def test_language_column_trusted_when_present(tmp_path):
    out = tmp_path / "out"
    assert preprocess(FIXTURES / "genius_lang.csv", out) == 0
    manifest, rows = load(out)
    check_accounting(manifest)
    # 2002 is English text labelled es (column wins); 2003 has no label and is Spanish.
    assert sorted(r["id"] for r in rows) == ["2001", "2004", "2005"]


@pytest.mark.parametrize("name", ["songdata.csv", "songdata_crlf.csv"])
def test_songdata_layout(tmp_path, name):
    out = tmp_path / "out"
    assert preprocess(FIXTURES / name, out, "--untagged-genre", "rock", "--genres", "rock") == 0
    manifest, rows = load(out)
    check_accounting(manifest)
    assert manifest["layout"] == "songdata"
    assert {r["tag"] for r in rows} == {"rock"} and len(rows) == 3
    for r in rows:
        assert "\r" not in r["lyrics"] and " \n" not in r["lyrics"]
    up_now = next(r for r in rows if r["title"] == "Up Now")["lyrics"]
    assert "Let's go\n\nI was counting" in up_now  # the two-space line became a stanza break


def test_songdata_crlf_and_lf_give_identical_rows(tmp_path):
    assert preprocess(FIXTURES / "songdata.csv", tmp_path / "a") == 0
    assert preprocess(FIXTURES / "songdata_crlf.csv", tmp_path / "b") == 0
    assert chunk_bytes(tmp_path / "a") == chunk_bytes(tmp_path / "b")


def test_multilingual_layout(tmp_path):
    out = tmp_path / "out"
    assert preprocess(FIXTURES / "multilingual.csv", out, "--genres", "pop", "rap", "rb") == 0
    manifest, rows = load(out)
    check_accounting(manifest)
    assert manifest["dropped"]["unknown_genre"] == 1  # Polka
    assert manifest["dropped"]["duplicate_id"] == 1
    assert manifest["dropped"]["wrong_language"] == 1  # Language column says es
    assert sorted(r["tag"] for r in rows) == ["pop", "rap", "rb"]


def test_gzip_bom_long_field_and_brackets_kept(tmp_path):
    long = "\n".join(f"this is line {i} of a very long book about the sea" for i in range(3000))
    assert len(long) > 131_072
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(GENIUS_HEADER)
    w.writerow(["Book", "pop", "Writer", "1", "1", "{}", long, "1"])
    w.writerow(["Song", "rap", "MC", "1", "1", "{}", "[Hook]\nwe (yeah) go on and on tonight", "2"])
    inp = tmp_path / "in.csv.gz"
    inp.write_bytes(gzip.compress(b"\xef\xbb\xbf" + buf.getvalue().encode(), mtime=0))
    out = tmp_path / "out"
    assert preprocess(inp, out, "--brackets") == 0
    _, rows = load(out)
    by_id = {r["id"]: r["lyrics"] for r in rows}
    assert by_id["1"] == long
    assert by_id["2"] == "[Hook]\nwe (yeah) go on and on tonight"


def test_rerun_skips_force_rebuilds_param_change_rebuilds(tmp_path, capsys):
    out = tmp_path / "out"
    inp = FIXTURES / "genius.csv"
    assert preprocess(inp, out) == 0
    manifest_path = out / "chunks" / "manifest.json"
    first = manifest_path.stat().st_mtime_ns
    before = chunk_bytes(out)

    argv = ["--stages", "chunks", "--input", str(inp), "--output-dir", str(out)]
    assert main(argv) == 0
    assert "up to date" in capsys.readouterr().out
    assert manifest_path.stat().st_mtime_ns == first

    assert preprocess(inp, out, "--force") == 0
    assert manifest_path.stat().st_mtime_ns != first
    assert chunk_bytes(out) == before  # byte-identical rebuild

    assert preprocess(inp, out, "--genres", "pop") == 0
    manifest, rows = load(out)
    assert manifest["params"]["genres"] == ["pop"] and {r["tag"] for r in rows} == {"pop"}


def test_deterministic_across_runs_and_worker_counts(tmp_path):
    inp = FIXTURES / "genius.csv"
    assert preprocess(inp, tmp_path / "a", "--workers", "0") == 0
    assert preprocess(inp, tmp_path / "b", "--workers", "0") == 0
    assert preprocess(inp, tmp_path / "c", "--workers", "2") == 0
    a = chunk_bytes(tmp_path / "a")
    assert len(a) == 41 and "drops.parquet" in a  # 40 chunks and the drop log
    assert a == chunk_bytes(tmp_path / "b") == chunk_bytes(tmp_path / "c")


@pytest.mark.parametrize(
    ("extra", "kept_spanish"),
    [(["--lang-detector", "langdetect"], False), (["--language", "any"], True)],
)
def test_language_options(tmp_path, extra, kept_spanish):
    assert preprocess(FIXTURES / "genius.csv", tmp_path / "o", *extra) == 0
    manifest, rows = load(tmp_path / "o")
    check_accounting(manifest)
    ids = {r["id"] for r in rows}
    assert ("1004" in ids) is kept_spanish  # the Spanish song
    assert {"1002", "1003"} <= ids  # English with accents / one Spanish line


def test_repeats_counted_once_per_id(tmp_path):
    song = "Take me home, take me home tonight\nHold me close until the morning light"
    other = "We were young and the summer was long\nSinging along to our favourite song"
    rows = [["Same", "pop", "A", "1", "1", "{}", song, "5"]] * 4  # one song listed 4 times
    rows += [[f"Copy {i}", "pop", "B", "1", "1", "{}", other, str(10 + i)] for i in range(3)]
    inp = tmp_path / "in.csv"
    with inp.open("w", newline="") as f:
        csv.writer(f).writerows([GENIUS_HEADER, *rows])
    assert preprocess(inp, tmp_path / "o", "--repeat-threshold", "3") == 0
    manifest, rows_out = load(tmp_path / "o")
    assert manifest["dropped"]["duplicate_id"] == 3
    assert manifest["dropped"]["repeated_text"] == 3  # three ids share "other"
    assert [r["id"] for r in rows_out] == ["5"]


def test_scrape_junk_counted_per_rule_in_manifest_and_summary(tmp_path, capsys):
    verse = "Take me home, take me home tonight\nHold me close until the morning light"
    songs = [
        f"3 ContributorsHome Lyrics\n{verse}You might also like\nWe ride till dawn123Embed",
        f"{verse}\nYou might also like\nWe ride till dawn\nYou might also likeChorus:\nLa la",
        f"Verse 1-\n{verse}\nSee Some Band LiveGet tickets as low as $20\n[Bridge: A}}",
        f"You might also like me\n{verse}",  # a lyric: nothing touched
    ]
    rows = [[f"T{i}", "pop", f"A{i}", "1", "1", "{}", s, str(i)] for i, s in enumerate(songs)]
    inp = tmp_path / "in.csv"
    with inp.open("w", newline="") as f:
        csv.writer(f).writerows([GENIUS_HEADER, *rows])
    argv = ["--stages", "chunks", "--input", str(inp), "--output-dir", str(tmp_path / "o")]
    assert main([*argv, "--language", "any"]) == 0
    manifest, rows_out = load(tmp_path / "o")
    junk = manifest["scrape_junk"]
    assert {r: c for r, c in junk.items() if c["lines"]} == {
        "contributors_line": {"lines": 1, "songs": 1},
        "might_also_like": {"lines": 3, "songs": 2},
        "tickets_ad": {"lines": 1, "songs": 1},
        "embed_tail": {"lines": 1, "songs": 1},
        "hyphen_header": {"lines": 1, "songs": 1},
        "unbalanced_header": {"lines": 1, "songs": 1},
    }
    by_id = {r["id"]: r["lyrics"] for r in rows_out}
    assert by_id["0"] == f"{verse}\nWe ride till dawn"
    assert by_id["1"] == f"{verse}\nWe ride till dawn\nLa la"
    assert by_id["3"].startswith("You might also like me\n")
    summary = capsys.readouterr().out
    assert "scrape junk removed" in summary and "might_also_like" in summary


def test_num_chunks(tmp_path):
    assert preprocess(FIXTURES / "genius.csv", tmp_path / "o", "--num-chunks", "3") == 0
    manifest, rows = load(tmp_path / "o")
    assert [f["file"] for f in manifest["chunks"]] == [f"chunk-0{i}.parquet" for i in range(3)]
    assert all(r["chunk"] == chunk_of(r["id"], 3) for r in rows)


# --- bad inputs: one line, exit 2, nothing written ------------------------------------------


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    good = (FIXTURES / "genius.csv").read_bytes()
    cases: dict[str, bytes] = {
        "missing_column": b"title,tag,artist,lyrics\na,pop,c,d\n",
        "empty": b"",
        "binary": bytes(range(256)) * 64,
        "invalid_utf8": good + b'X,pop,A,1,1,{},"caf\xe9 in latin-1",9999\n',
        # A truncated copy keeps its good rows (tests/pipeline/test_malformed_input.py); a file
        # whose only row is cut has none.
        "only_row_unterminated": b"title,tag,artist,year,views,features,lyrics,id\n"
        b'U,pop,A,1,1,{},"never closed\nand more\n',
        "header_only": b"title,tag,artist,year,views,features,lyrics,id\n",
    }
    out = {}
    for name, data in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        out[name] = (path, [])
    out["unknown_genre"] = (FIXTURES / "genius.csv", ["--genres", "pop", "jazz"])
    out["missing_file"] = (tmp_path / "nope" / "ds.csv", [])
    return out


def test_bad_inputs_one_line_exit_2_nothing_written(tmp_path, capsys):
    for name, (path, extra) in _bad_inputs(tmp_path).items():
        out = tmp_path / f"out-{name}"
        assert preprocess(path, out, *extra) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, (name, err)
        assert not (out / "chunks").exists(), name
        leftovers = list(out.glob(".chunks*")) if out.exists() else []
        assert leftovers == [], name
    preprocess(tmp_path / "ds.csv", tmp_path / "o")
    err = capsys.readouterr().err
    assert "Kaggle" in err and "python -m pipeline.preprocess --input data/sample.csv.gz" in err
    preprocess(FIXTURES / "genius.csv", tmp_path / "o", "--genres", "jazz")
    assert "unknown genre 'jazz'" in capsys.readouterr().err


def test_unwritable_output_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert preprocess(FIXTURES / "genius.csv", blocker / "out") == 2
    # refused before any work (fileio.check_output), naming the file in the way
    assert capsys.readouterr().err.startswith(
        f"error: --output-dir {blocker / 'out'}: {blocker} is a file"
    )


def test_bad_run_keeps_previous_good_chunks(tmp_path):
    out = tmp_path / "out"
    assert preprocess(FIXTURES / "genius.csv", out) == 0
    before = chunk_bytes(out)
    bad = tmp_path / "bad.csv"
    bad.write_bytes((FIXTURES / "genius.csv").read_bytes() + b'X,pop,A,1,1,{},"caf\xe9",9999\n')
    assert preprocess(bad, out) == 2
    assert chunk_bytes(out) == before


# --- subprocess: the real command line ---------------------------------------------------------


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.mark.slow
def test_subprocess_run_and_bad_input(tmp_path):
    cmd = [sys.executable, "-m", "pipeline.preprocess", "--stages", "chunks"]
    ok = subprocess.run(
        [*cmd, "--input", str(FIXTURES / "multilingual.csv"), "--output-dir", str(tmp_path)],
        capture_output=True, text=True, env=_env(), cwd=REPO,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "kept" in ok.stdout and (tmp_path / "chunks" / "manifest.json").is_file()
    bad = subprocess.run(
        [*cmd, "--input", str(tmp_path / "ds.csv"), "--output-dir", str(tmp_path / "x")],
        capture_output=True, text=True, env=_env(), cwd=REPO,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "data/sample.csv.gz" in bad.stderr


def _big_input(path: Path, rows: int) -> Path:
    verses = [
        "I was counting every dollar on the corner by the store",
        "Mama working double shifts, we couldn't ask for more",
        "Now the city lights are flashing and they calling out my name",
        "Every step I took was heavy but I never felt the shame",
        "Sitting on the porch swing while the evening settles in",
        "Counting all the fireflies like I'm a kid again",
    ]
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(GENIUS_HEADER)
        for i in range(rows):
            lines = [verses[(i + k) % len(verses)] for k in range(8)]
            lines.insert(4, f"[Chorus]\nnumber {i} is the one we sing about tonight")
            w.writerow([f"S{i}", "pop" if i % 2 else "rap", "A", "1", "1", "{}",
                        "\n".join(lines), str(i)])  # fmt: skip
    return path


@pytest.mark.slow
def test_kill_and_rerun(tmp_path):
    inp = _big_input(tmp_path / "big.csv", 12_000)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "pipeline.preprocess", "--stages", "chunks", "--quiet",
           "--input", str(inp), "--workers", "0"]  # fmt: skip
    proc = subprocess.Popen([*cmd, "--output-dir", str(out)], env=_env(), cwd=REPO)
    deadline = time.monotonic() + 60
    while not list(out.glob(".chunks.*.tmp")):  # the run has started writing
        assert proc.poll() is None, "finished before it could be killed: make the input bigger"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    assert proc.poll() is None, "finished before it could be killed: make the input bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "chunks").exists()  # nothing that looks complete
    assert list(out.glob(".chunks.*.tmp"))  # only the hidden temporary folder

    subprocess.run([*cmd, "--output-dir", str(out)], env=_env(), cwd=REPO, check=True)
    assert not list(out.glob(".chunks.*.tmp"))  # the leftover was cleaned up
    subprocess.run(
        [*cmd, "--output-dir", str(tmp_path / "clean")], env=_env(), cwd=REPO, check=True
    )
    assert chunk_bytes(out) == chunk_bytes(tmp_path / "clean")
    manifest, _ = load(out)
    assert manifest["rows_in"] == 12_000 and manifest["rows_out"] == 12_000
