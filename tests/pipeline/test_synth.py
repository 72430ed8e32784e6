"""The synthetic corpus generator: layouts, determinism, junk rates, genre separability, lengths.

Run: ``pytest tests/pipeline/test_synth.py`` (``-m "not slow"`` skips the subprocess test).
"""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from lyrics_gpt2.cli import run
from pipeline import synth
from pipeline.synth import JUNK_RATES, LAYOUTS, SynthConfig, generate
from pipeline.synth import banks as B
from pipeline.synth.config import FLAG_RATES, SCRAPE_FLAGS

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample.csv.gz"
# The command in data/README.md that made the bundled sample.
SAMPLE_ARGS = dict(rows=10_000, seed=2080)
NO_JUNK = dict.fromkeys(JUNK_RATES, 0.0)


def read(path: Path, **kw) -> pd.DataFrame:
    """pandas' C engine, titles like "NA" kept as strings, only empty fields as NaN."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""], engine="c", **kw)


def truth_of(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """6,000 rows with every junk kind at 2-3% so each shows up often, and the truth table."""
    d = tmp_path_factory.mktemp("corpus")
    rates = {k: 0.025 for k in JUNK_RATES} | {"foreign": 0.05, "book": 0.003}
    cfg = SynthConfig(rows=6000, seed=11, rates=rates)
    generate(cfg, d / "c.csv", truth=d / "t.csv")
    truth = truth_of(d / "t.csv")
    data = read(d / "c.csv", on_bad_lines="skip")
    return data, truth


def aligned(data: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Truth rows next to the rows pandas kept (it skips lines with too many fields)."""
    kept = truth[~truth["flags"].str.contains("extra_fields")].reset_index(drop=True)
    assert len(kept) == len(data)
    return pd.concat([data.reset_index(drop=True), kept.add_prefix("t_")], axis=1)


# -- determinism and files ---------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    for name in ("a.csv", "b.csv", "a.csv.gz", "b.csv.gz"):
        generate(SynthConfig(rows=400, seed=7), tmp_path / name)
    generate(SynthConfig(rows=400, seed=8), tmp_path / "c.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() != (tmp_path / "c.csv").read_bytes()
    # the .gz holds the same CSV, with a header free of names and times
    gz = (tmp_path / "a.csv.gz").read_bytes()
    assert gzip.decompress(gz) == (tmp_path / "a.csv").read_bytes()
    assert gz[4:8] == b"\0\0\0\0" and not gz[3] & 0x08  # mtime 0, no FNAME field


def test_failed_run_leaves_no_output(tmp_path, monkeypatch):
    out = tmp_path / "x.csv"
    real = synth.Synthesizer._song
    calls = {"n": 0}

    def boom(self):
        calls["n"] += 1
        if calls["n"] == 1500:
            raise RuntimeError("killed")
        return real(self)

    monkeypatch.setattr(synth.Synthesizer, "_song", boom)
    with pytest.raises(RuntimeError):
        generate(SynthConfig(rows=3000), out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


# -- layouts -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_header_row_count_and_pandas_reads_it(tmp_path, layout):
    path = tmp_path / "x.csv"
    generate(SynthConfig(rows=500, seed=3, layout=layout), path, truth=tmp_path / "t.csv")
    with path.open(encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == list(LAYOUTS[layout])
    truth = truth_of(tmp_path / "t.csv")
    assert len(truth) == 500
    df = read(path, on_bad_lines="skip")
    assert list(df.columns) == list(LAYOUTS[layout])
    assert len(df) == 500 - truth["flags"].str.contains("extra_fields").sum()
    text_col = {"genius": "lyrics", "genius-lang": "lyrics", "songdata": "text"}.get(
        layout, "Lyrics"
    )
    multiline = df[text_col].dropna().str.count("\n")
    assert (multiline > 10).mean() > 0.8  # quoted multi-line fields came back whole


def test_clean_rows_read_back_exactly(tmp_path):
    """Without malformed lines every row survives pandas' C engine with its fields intact."""
    path = tmp_path / "x.csv"
    generate(SynthConfig(rows=800, seed=5, rates=JUNK_RATES | {"malformed": 0.0}), path)
    df = read(path, dtype={"title": str})
    assert len(df) == 800
    assert df["id"].dtype.kind == "i" and df["year"].dtype.kind == "i"
    assert set(df["tag"]) <= {"pop", "rap", "rock", "rb", "misc", "country"}
    assert df["features"].str.fullmatch(r"\{.*\}").all()


def test_genius_fields_look_like_the_dump(corpus):
    data, truth = corpus
    df = aligned(data, truth)
    ok = df[df.t_kind != "malformed"]
    assert 0.72 < (ok.features == "{}").mean() < 0.82
    named = ok.features[ok.features != "{}"]
    # Postgres arrays: bare single words, quoted names with spaces, escaped apostrophes
    assert named.str.fullmatch(r"\{[^{}]+\}").all()
    assert named.str.contains(r'^\{"[^"]+ [^"]+"', regex=True).any()
    assert named.str.contains(r"\\\\'", regex=True).any()
    assert ok.artist.str.fullmatch(r"[\x00-\x7f]+").all()  # the scraper's ASCII-only artists
    assert ok.year.between(1, 2100).all() and (ok.year > 2022).any()
    clean = ok[ok.t_kind == "clean"].lyrics
    assert clean.str.contains(r"^\[Verse 1[^\]]*\]$", flags=re.M).mean() > 0.5
    assert clean.str.contains(r"^\[(?:Chorus|Hook)[^\]]*\]", flags=re.M).mean() > 0.5
    assert clean.str.contains(r"^\[Produced by ", flags=re.M).any()
    assert clean.str.contains(r"^\[Chorus: [^\]]+ & [^\]]+\]$", flags=re.M).any()
    assert clean.str.contains(r"^\[Hook\] 2x$", flags=re.M).any()
    assert clean.str.contains(r"^Chorus:$", flags=re.M).any()
    # More than one stanza: a blank line, or a header straight under a lyric line.
    assert clean[ok.tag != "misc"].str.contains(r"\n\n|[^\n\]]\n\[", regex=True).all()
    rap = ok[(ok.t_kind == "clean") & (ok.tag == "rap")].lyrics
    assert rap.str.contains(r"\((?:Yeah|Uh|Skrrt|Ayy|Woo)\)").mean() > 0.5


def test_songdata_layout_quotes_everything_and_ends_lines_with_two_spaces(tmp_path):
    path = tmp_path / "s.csv"
    generate(SynthConfig(rows=300, seed=2, layout="songdata", rates=NO_JUNK), path)
    raw = path.read_text(encoding="utf-8")
    assert raw.startswith('"artist","song","link","text"\n')
    df = read(path)
    text = df.text.iloc[0]
    lines = text.split("\n")[:-1]
    assert all(line.endswith("  ") for line in lines)
    assert "  " in lines  # a stanza break is a line of two spaces
    assert not df.text.str.contains(r"^\[", regex=True, flags=re.M).any()
    assert df.link.str.fullmatch(r"/a/[a-z0-9+]+/[a-z0-9+]+_\d+\.html").all()
    # every field quoted, including the first of each record
    records = list(csv.reader(raw.splitlines(keepends=True)))
    assert len(records) == 301

    crlf = tmp_path / "crlf.csv"
    generate(SynthConfig(rows=300, seed=2, layout="songdata", rates=NO_JUNK, crlf=True), crlf)
    data = crlf.read_bytes()
    assert data.count(b"\r\n") > 1000 and data.count(b"\n") == data.count(b"\r\n")
    assert read(crlf).text.str.replace("\r\n", "\n").equals(df.text)


def test_multilingual_layout(tmp_path):
    path = tmp_path / "m.csv"
    generate(SynthConfig(rows=800, seed=4, layout="multilingual"), path, truth=tmp_path / "t.csv")
    df = read(path, on_bad_lines="skip", dtype={"Song": str})
    ok = df.dropna(subset=["Lyrics"])
    genres = {
        "Rock",
        "Pop",
        "Metal",
        "Jazz",
        "Folk",
        "Indie",
        "R&B",
        "Hip-Hop",
        "Electronic",
        "Country",
    }
    assert set(ok.Genre) <= genres and len(set(ok.Genre)) >= 6
    for col in ("Artist", "Song"):
        names = ok[col].dropna()
        assert (names == names.str.lower()).all()
        assert not names.str.contains("'|’").any()
    assert {"en", "es", "fr"} <= set(ok.Language)


def test_genius_lang_columns_set_only_where_detectors_agree(tmp_path):
    path = tmp_path / "g.csv"
    generate(
        SynthConfig(rows=1500, seed=9, layout="genius-lang", rates=JUNK_RATES | {"malformed": 0.0}),
        path,
    )
    df = read(path)
    agree = df.language_cld3 == df.language_ft
    assert (df.language.notna() <= agree).all()
    assert (df.language.dropna() == df.language_cld3[df.language.notna()]).all()
    assert 0.01 < df.language.isna().mean() < 0.15
    assert (df.language == "en").mean() > 0.7 and (df.language == "es").any()


# -- junk kinds and the truth table --------------------------------------------------------------
def test_junk_kinds_appear_at_their_rates(corpus):
    _, truth = corpus
    counts = Counter(truth.kind)
    rates = {k: 0.025 for k in JUNK_RATES} | {"foreign": 0.05, "book": 0.003}
    n = len(truth)
    for kind, rate in rates.items():
        expected = n * rate
        # within 5 standard deviations of a binomial count
        assert abs(counts[kind] - expected) < 5 * math.sqrt(expected) + 1, (kind, counts[kind])
    assert counts["clean"] > 0.6 * n


def test_each_junk_kind_is_what_the_truth_says(corpus):
    data, truth = corpus
    df = aligned(data, truth)
    by = {k: g for k, g in df.groupby("t_kind")}
    assert by["nan"].lyrics.fillna("").str.strip().eq("").all()
    assert by["nan"].lyrics.isna().mean() > 0.5
    assert by["placeholder"].lyrics.isin(B.PLACEHOLDERS).all()
    assert by["instrumental"].lyrics.isin(B.INSTRUMENTAL_TEXTS).all()
    assert (by["study_guide"].lyrics == B.STUDY_GUIDE).all() and len(by["study_guide"]) > 50
    assert (by["translation"].artist == "Genius English Translations").all()
    assert by["translation"].title.str.endswith("(English Translation)").all()
    assert (by["romanization"].artist == "Genius Romanizations").all()
    assert (by["book"].lyrics.str.len() > 131_072).all() and (by["book"].tag == "misc").all()
    # duplicate ids reuse an id seen earlier in the file
    rows = df[df.t_kind != "malformed"]
    assert set(by["duplicate_id"].id) <= set(rows.drop_duplicates("id").id)
    assert rows.id.duplicated().sum() == len(by["duplicate_id"])
    # duplicate texts: an earlier song's words under a new id and another artist
    from pipeline.chunks.files import text_hash

    first = rows.drop_duplicates("t_id").set_index("t_id")
    for copy in by["duplicate_text"].itertuples():
        (flag,) = copy.t_flags.split()
        old = first.loc[flag.removeprefix("copy_of:")]
        assert copy.t_id != old.name and copy.artist != old.artist and copy.lyrics != old.lyrics
        assert text_hash(copy.lyrics) == text_hash(old.lyrics)
    foreign = by["foreign"]
    assert {"es", "fr", "ru", "ja"} <= set(foreign.t_language)
    assert foreign[foreign.t_language == "ru"].lyrics.str.contains("[а-я]").all()
    assert (
        foreign[foreign.t_language == "ja"]
        .lyrics.str.contains("[\u3040-\u30ff\u4e00-\u9fff]")
        .all()
    )
    spanish = foreign[foreign.t_language == "es"].lyrics.str.lower()
    assert spanish.str.contains(r"\b(?:que|de|el|la)\b").all()
    clean = by["clean"]
    flags = clean.t_flags.str.split()
    title_na = clean[flags.map(lambda f: "title_na" in f)]
    assert len(title_na) and title_na.title.isin(["NA", "null", "None", "nan", "N/A"]).all()
    assert clean[flags.map(lambda f: "title_null" in f)].title.isna().all()
    assert clean[flags.map(lambda f: "curly" in f)].lyrics.str.contains("’").all()
    assert clean[flags.map(lambda f: "emoji" in f)].lyrics.str.contains("|".join(B.EMOJI)).all()

    def plain(text: str) -> str:  # undo the curly and lowercase variations
        return text.lower().replace("’", "'")

    accented = clean[flags.map(lambda f: "accent" in f)].lyrics.map(plain)
    assert len(accented) and accented.map(lambda t: any(w in t for w in B.ACCENT_WORDS)).all()
    one_line = clean[flags.map(lambda f: "foreign_line" in f)]
    foreign_lines = [plain(line) for lines in B.FOREIGN_LINES.values() for line in lines]
    assert len(one_line) and (one_line.t_language == "en").all()
    assert one_line.lyrics.map(plain).map(lambda t: sum(x in t for x in foreign_lines) == 1).all()
    assert clean.lyrics.str.contains('"').any() and clean.lyrics.str.contains("“").any()


def test_malformed_lines_have_the_wrong_field_count(tmp_path):
    path = tmp_path / "m.csv"
    generate(
        SynthConfig(rows=400, seed=1, rates=NO_JUNK | {"malformed": 0.05}),
        path,
        truth=tmp_path / "t.csv",
    )
    truth = truth_of(tmp_path / "t.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    widths = Counter(
        len(r) for r, kind in zip(rows, truth.kind, strict=True) if kind == "malformed"
    )
    assert set(widths) == {9, 3} and sum(widths.values()) == (truth.kind == "malformed").sum() > 5
    assert all(len(r) == 8 for r, kind in zip(rows, truth.kind, strict=True) if kind != "malformed")
    with pytest.raises(pd.errors.ParserError):
        read(path)  # the C engine refuses a line with too many fields unless told to skip it


# -- genres and lengths --------------------------------------------------------------------------
def _words(text: str) -> Counter:
    text = re.sub(r"^\[.*\]$|\([^)]*\)", " ", text, flags=re.M)  # headers name artists; drop them
    return Counter(re.findall(r"[a-z']+", text.lower()))


def test_genres_are_separable_by_a_bag_of_words_classifier(tmp_path):
    """Nearest centroid (cosine) on word counts, trained and scored on different songs."""
    path = tmp_path / "g.csv"
    shares = dict.fromkeys(("pop", "rap", "rock", "rb", "misc", "country"), 1 / 6)
    generate(SynthConfig(rows=1800, seed=21, rates=NO_JUNK, tag_shares=shares), path)
    df = read(path)
    train, test = df.iloc[:1200], df.iloc[1200:]
    centroids: dict[str, Counter] = {}
    for tag, group in train.groupby("tag"):
        total: Counter = Counter()
        for text in group.lyrics:
            bag = _words(text)
            norm = math.sqrt(sum(v * v for v in bag.values()))
            total.update({w: v / norm for w, v in bag.items()})
        centroids[tag] = total
    norms = {t: math.sqrt(sum(v * v for v in c.values())) for t, c in centroids.items()}

    def predict(text: str) -> str:
        bag = _words(text)
        return max(
            centroids, key=lambda t: sum(v * centroids[t][w] for w, v in bag.items()) / norms[t]
        )

    predicted = [predict(text) for text in test.lyrics]
    accuracy = sum(p == t for p, t in zip(predicted, test.tag, strict=True)) / len(test)
    assert accuracy > 0.95
    per_tag = Counter(t for p, t in zip(predicted, test.tag, strict=True) if p == t)
    assert all(per_tag[t] > 0.85 * (test.tag == t).sum() for t in centroids)


def test_mean_lengths_match_the_dump(tmp_path):
    path = tmp_path / "l.csv"
    generate(SynthConfig(rows=5000, seed=13), path, truth=tmp_path / "t.csv")
    df = aligned(read(path, on_bad_lines="skip"), truth_of(tmp_path / "t.csv"))
    length = df.lyrics.fillna("").str.len()
    clean = df.t_kind == "clean"
    means = length[clean].groupby(df.tag[clean]).mean()
    assert 1800 < means["rap"] < 2500
    assert 900 < means["pop"] < 1400
    assert 800 < means["rock"] < 1300
    assert means["misc"] > 3000
    assert 1300 < length.mean() < 1900  # all rows, junk included (the dump: ~1.5 KB)
    # rap lengths spread: some rap fits a 400-token window, much does not
    rap = length[clean & (df.tag == "rap")]
    assert (rap < 1400).mean() > 0.1 and (rap > 2500).mean() > 0.15
    # ... shaped after real songs: a quarter or more of rap songs as long as popular real ones,
    # and short fragments in every genre.
    assert (rap >= 3000).mean() >= 0.25
    for tag in ("rap", "pop", "rock"):
        assert (length[clean & (df.tag == tag)] < 400).mean() > 0.05


SCRAPE_CHECKS = {
    "ymal_line": lambda t, r: re.search(r"^You might also like$", t, re.M),
    "ymal_glued": lambda t, r: re.search(r"\SYou might also like|You might also like\S", t),
    "tickets": lambda t, r: re.search(
        rf"^See {re.escape(r.artist)} LiveGet tickets as low as \$\d+$", t, re.M
    ),
    "lyrics_line": lambda t, r: re.search(r"^Lyrics$", t, re.M),
    "hyphen_header": lambda t, r: re.search(r"^[A-Z][A-Za-z-]*( \d)?-$", t, re.M),
    "embed": lambda t, r: re.search(r"\S\d*Embed$", t),
    "contributors": lambda t, r: re.match(r"\d+ Contributors.* Lyrics\n", t),
    "translations": lambda t, r: t.startswith("Translations\n"),
    "page_header": lambda t, r: re.match(r"\[(Letra de|Songtext zu|Paroles de) ", t),
    "unbalanced_header": lambda t, r: re.search(r"^\[[^\]\n]*[})]$", t, re.M),
    "foreign_intro": lambda t, r: t.startswith("[Intro]\n") and "\n\n" in t,
    "nested_header": lambda t, r: re.search(r"^\[\[.*\[\?\]\]\]\(.+\)$", t, re.M),
    "hyphen_name_header": lambda t, r: re.search(r"^[A-Z][a-z]+( \d)? ?- ?\(.+\)$", t, re.M),
    "open_header": lambda t, r: re.search(r"^\[[A-Z][a-z]+( \d)?: [^\]\n]+$", t, re.M),
    "gap": lambda t, r: re.search(r"(^| )\?\?\?( |$)", t, re.M),
}


def test_scrape_junk_is_written_where_the_truth_says(tmp_path):
    rates = dict.fromkeys(SCRAPE_FLAGS, 0.02)
    flags = {**FLAG_RATES, **rates}
    path, truth_path = tmp_path / "s.csv", tmp_path / "t.csv"
    generate(SynthConfig(rows=3000, seed=5, flags=flags, rates=NO_JUNK), path, truth=truth_path)
    df = aligned(read(path, on_bad_lines="skip"), truth_of(truth_path))
    english = df[(df.t_kind == "clean") & (df.tag != "misc")]
    for flag, check in SCRAPE_CHECKS.items():
        rows = english[english.t_flags.str.split().apply(lambda f, flag=flag: flag in f)]
        assert len(rows) > 10, flag
        assert all(check(r.lyrics, r) for r in rows.itertuples()), flag
        assert (rows.t_language == "en").all()
    # None of it in songs without the flag (ymal and tickets text is never a lyric line).
    plain = english[~english.t_flags.str.split().apply(lambda f: bool(set(f) & set(SCRAPE_FLAGS)))]
    assert not plain.lyrics.str.contains("You might also like|LiveGet tickets|Contributors").any()
    # At the default rates, about 2% of the songs carry some.
    assert 0.015 < sum(FLAG_RATES[f] for f in SCRAPE_FLAGS) < 0.03


def test_tag_shares(corpus):
    _, truth = corpus
    shares = truth.tag.value_counts(normalize=True)
    assert shares.index[0] == "pop" and shares.index[1] == "rap"
    assert abs(shares["pop"] - 0.417) < 0.04 and abs(shares["rap"] - 0.336) < 0.04


# -- command line and the bundled sample -------------------------------------------------------
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    out = str(tmp_path / "x.csv")
    for argv in (
        ["--rows", "0", "--out", out],
        ["--rows", "10", "--out", out, "--rate", "bogus=0.1"],
        ["--rows", "10", "--out", out, "--rate", "foreign"],
        ["--rows", "10", "--out", out, "--rate", "foreign=0.9,nan=0.5"],
        ["--rows", "10", "--out", out, "--tag-shares", "jazz=1"],
        ["--rows", "10", "--out", out, "--junk-rate", "2"],
        ["--rows", "10", "--out", out, "--truth", out],
        ["--rows", "10", "--out", str(tmp_path)],
        ["--rows", "10", "--out", "/proc/nope/x.csv"],
    ):
        assert run(synth.main, argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error:"), err
    assert not Path(out).exists()


def test_cli_rates_and_truth(tmp_path):
    out, truth = tmp_path / "x.csv.gz", tmp_path / "t.csv"
    argv = ["--rows", "600", "--out", str(out), "--truth", str(truth), "--quiet", "--seed", "3"]
    assert run(synth.main, [*argv, "--junk-rate", "0", "--rate", "nan=0.5"]) == 0
    kinds = Counter(truth_of(truth).kind)
    assert set(kinds) == {"clean", "nan"} and 220 < kinds["nan"] < 380
    assert run(synth.main, [*argv, "--tag-shares", "rap=1", "--junk-rate", "0"]) == 0
    assert set(read(out).tag) == {"rap"}


@pytest.mark.slow
def test_cli_subprocess_gzip(tmp_path):
    out = tmp_path / "x.csv.gz"
    cmd = [
        sys.executable,
        "-m",
        "pipeline.synth",
        "--rows",
        "1500",
        "--out",
        str(out),
        "--layout",
        "genius",
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1,500 rows" in proc.stderr and "rows/s" in proc.stderr
    assert len(read(out, on_bad_lines="skip")) >= 1495


def test_bundled_sample_regenerates_byte_for_byte(tmp_path):
    """Same Python random, same wordfreq lists -> the committed sample's exact CSV."""
    if not SAMPLE.exists():
        pytest.fail("data/sample.csv.gz is missing; see data/README.md for the command")
    out = tmp_path / "sample.csv"
    generate(SynthConfig(**SAMPLE_ARGS), out)
    # compare the CSV, not the gzip stream: another zlib build may compress the same text differently
    assert out.read_bytes() == gzip.decompress(SAMPLE.read_bytes())


def test_some_headers_sit_directly_under_a_lyric_line(corpus):
    """As in real Genius songs (940 of 6,980 headers): no blank line between a stanza's last
    lyric line and the next header."""
    data, truth = corpus
    ok = aligned(data, truth)
    clean = ok[(ok.t_kind == "clean") & (ok.tag != "misc")].lyrics
    after_lyrics = glued = 0
    for text in clean:
        lines = text.split("\n")
        for before, line in itertools.pairwise(lines):
            if line.startswith("[") and not before.startswith("["):
                after_lyrics += 1
                glued += bool(before.strip())
    # Headers after a blank line following lyrics, plus the glued ones: the glued share of those
    # is HEADER_UNDER_LYRICS (13.5%) up to sampling noise.
    assert after_lyrics > 1000
    assert 0.09 < glued / after_lyrics < 0.18


def test_glued_headers_clean_to_the_same_stanzas(tmp_path, monkeypatch):
    """Stage 1 reads a header under a lyric line as a stanza break: the corpus with every header
    glued and the corpus with none clean to the same lyrics and the same section kinds."""
    from pipeline import clean
    from pipeline.structure import Structure
    from pipeline.synth import layout

    cleaned = {}
    for share in (0.0, 1.0):
        monkeypatch.setattr(layout, "HEADER_UNDER_LYRICS", share)
        out = tmp_path / f"c{share}.csv"
        generate(SynthConfig(rows=300, seed=3, rates={k: 0.0 for k in JUNK_RATES}), out)
        songs = []
        for text in read(out).lyrics.fillna(""):
            structure = Structure()
            songs.append((clean.clean_lyrics(text, structure=structure), structure.codes))
        cleaned[share] = songs
    assert cleaned[0.0] == cleaned[1.0]
    raw = read(tmp_path / "c1.0.csv").lyrics
    assert raw.str.contains(r"[a-z]\n\[", regex=True).any()  # the glued corpus has glued headers
