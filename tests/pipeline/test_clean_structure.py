"""Song structure through cleaning (pipeline/structure.py, lyrics_gpt2/songcraft/sections.py):
headers become stanza breaks and section kinds, instruction lines are expanded or dropped, and
stage 1 stores the kinds per song and counts them in its manifest."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from lyrics_gpt2.cli import run
from lyrics_gpt2.songcraft import sections
from pipeline import clean
from pipeline.preprocess import main
from pipeline.structure import Structure


def _structured(raw: str) -> tuple[str, str, int, int]:
    st = Structure()
    text = clean.clean_lyrics(raw, structure=st)
    return text, st.codes, st.expanded, st.dropped


def test_a_header_directly_under_a_lyric_line_becomes_a_stanza_break():
    text, codes, *_ = _structured("[Verse 1: A]\nmy first line\n[Verse 2: B]\nmy second line")
    assert text == "my first line\n\nmy second line"
    assert codes == "vv"


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("[Verse 1: A & B]", "verse"),
        ("Chorus:", "chorus"),
        ("[Hook]", "hook"),
        ("Verse 1-", "verse"),
        ("[Bridge: Henrik Both}", "bridge"),
        ("[Pre-Chorus: X]", "pre-chorus"),
        ("[Refrain]", "refrain"),
        ("(Intro)", "intro"),
        ("[Outro: Both]", "outro"),
        ("[Interlude]", "other"),
        ("[Post-Chorus]", "other"),
        ("[Strophe 1]", "other"),  # a header in another language
        ("[Kanye West:]", "other"),
    ],
)
def test_each_stanza_keeps_its_section_kind_from_the_closed_set(header, kind):
    text, codes, *_ = _structured(f"an opening line\n{header}\nthe stanza under it")
    assert text == "an opening line\n\nthe stanza under it"
    assert sections.decode_kinds(codes) == [None, kind]
    assert kind in sections.KINDS


def test_repeat_chorus_is_expanded_into_the_last_chorus():
    raw = "[Chorus]\nla la la\nna na\n[Verse 2]\nnew words here\nRepeat chorus"
    text, codes, expanded, dropped = _structured(raw)
    assert text == "la la la\nna na\n\nnew words here\n\nla la la\nna na"
    assert (codes, expanded, dropped) == ("cvc", 1, 0)


def test_a_bare_chorus_header_without_lines_sings_the_chorus_again():
    raw = "[Chorus]\nhold on\n\n[Verse 2]\nwalking\n\n[Chorus]\n\n[Outro]\nbye now"
    text, codes, expanded, _ = _structured(raw)
    assert text == "hold on\n\nwalking\n\nhold on\n\nbye now"
    assert codes == "cvco" and expanded == 1


def test_a_header_with_a_count_over_lines_sings_them_that_many_times():
    text, codes, expanded, _ = _structured("[Hook] 2x\nget up get up\n[Verse]\nthen this")
    assert text == "get up get up\n\nget up get up\n\nthen this"
    assert codes == "hhv" and expanded == 1


@pytest.mark.parametrize("line", ["(x2)", "— 2x", "x3", "Repeat", "Repeat chorus and fade"])
def test_an_instruction_with_nothing_known_to_repeat_is_dropped_and_counted(line):
    text, codes, expanded, dropped = _structured(f"one line\ntwo line\n{line}")
    assert text == "one line\ntwo line"
    assert (codes, expanded, dropped) == (".", 0, 1)


def test_lyrics_that_look_like_instructions_stay():
    raw = "Repeat after me I'm free\n2x the money 2x the fun\nX marks the spot"
    text, _codes, expanded, dropped = _structured(raw)
    assert text == raw and (expanded, dropped) == (0, 0)


def test_a_song_without_headers_has_one_unlabelled_stanza_each():
    assert _structured("a\nb\n\nc\n\n\nd") == ("a\nb\n\nc\n\nd", "...", 0, 0)


def test_training_kinds_label_a_returning_stanza_as_chorus_and_the_rest_verse():
    parts = ["first verse", "the chorus", "second verse", "The  chorus"]
    assert sections.training_kinds("....", parts) == ["verse", "chorus", "verse", "chorus"]
    assert sections.training_kinds("b...", parts) == ["bridge", "chorus", "verse", "chorus"]


def test_parse_form_accepts_names_and_codes_and_names_the_bad_one():
    assert sections.parse_form("verse chorus Pre-Chorus prechorus b") == [
        "verse", "chorus", "pre-chorus", "pre-chorus", "bridge",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="'solo'"):
        sections.parse_form("verse solo")


def test_stage_chunks_stores_kinds_per_song_and_counts_them(tmp_path):
    header = ["title", "tag", "artist", "year", "views", "features", "lyrics", "id"]
    songs = [
        "[Verse 1: A]\nwe walk the line tonight\n[Chorus]\nhold me now\n\n[Verse 2]\nrun\n"
        "Repeat chorus",
        "[Intro]\nhey hey hey there\n[Hook] 2x\nget up\n(x2)",
        "plain words in a row\nand more of them here",
    ]
    rows = [[f"T{i}", "pop", f"A{i}", "1", "1", "{}", s, str(i)] for i, s in enumerate(songs)]
    inp = tmp_path / "in.csv"
    with inp.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    argv = ["--stages", "chunks", "--input", str(inp), "--output-dir", str(tmp_path / "o")]
    assert run(main, [*argv, "--language", "any", "--quiet", "--num-chunks", "1"]) == 0
    table = pq.read_table(tmp_path / "o" / "chunks" / "chunk-00.parquet").to_pylist()
    by_id = {r["id"]: r for r in table}
    assert by_id["0"]["sections"] == "vcvc"
    assert by_id["0"]["lyrics"].split("\n\n")[-1] == "hold me now"
    assert by_id["1"]["sections"] == "ihh"
    assert by_id["2"]["sections"] == "."
    manifest = json.loads((tmp_path / "o" / "chunks" / "manifest.json").read_text())
    assert manifest["sections"]["verse"] == 2 and manifest["sections"]["chorus"] == 2
    assert manifest["sections"]["hook"] == 2 and manifest["sections"]["none"] == 1
    assert manifest["instructions"] == {"expanded": 2, "dropped": 1}


def test_a_nested_header_under_a_lyric_line_is_a_stanza_break():
    """ "[[Chorus: X & [?]]](Name)" sits directly under a lyric line in real songs; deleting it
    must not join the two stanzas, and the stanza keeps its kind."""
    from pipeline import clean
    from pipeline.structure import Structure

    glued, spaced = Structure(), Structure()
    a = clean.clean_lyrics("one line\n[[Chorus: A & [?]]](A)\ntwo line", structure=glued)
    b = clean.clean_lyrics("one line\n\n[[Chorus: A & [?]]](A)\ntwo line", structure=spaced)
    assert a == b == "one line\n\ntwo line"
    assert glued.codes == spaced.codes and glued.codes.endswith("c")
