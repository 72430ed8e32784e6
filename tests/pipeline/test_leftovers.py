"""The leftover cleaning rules (pipeline/leftovers.py) and ``--parentheses drop|keep``, each on the
fixture tests/fixtures/leftovers.csv through stage 1's real command, and the manifest's share of
lyric words every rule removed."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lyrics_gpt2.cli import run
from pipeline import clean, leftovers, whole_song
from pipeline.preprocess import main
from tests.conftest import FIXTURES


def stage(out: Path, *extra: str) -> tuple[dict, dict[str, str]]:
    argv = ["--stages", "chunks", "--input", str(FIXTURES / "leftovers.csv"), "--quiet"]
    argv += ["--output-dir", str(out), "--language", "any", "--num-chunks", "1", *extra]
    assert run(main, argv) == 0
    manifest = json.loads((out / "chunks" / "manifest.json").read_text())
    rows = pq.read_table(out / "chunks" / "chunk-00.parquet").to_pylist()
    return manifest, {r["id"]: r["lyrics"] for r in rows}


@pytest.fixture(scope="module")
def dropped(tmp_path_factory):
    return stage(tmp_path_factory.mktemp("drop"))


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    return stage(tmp_path_factory.mktemp("keep"), "--parentheses", "keep")


def test_lyrics_not_found_as_the_whole_song_is_a_placeholder(dropped):
    manifest, songs = dropped
    assert "5001" not in songs and manifest["dropped"]["placeholder"] == 1
    assert whole_song.is_placeholder("LYRICS NOT FOUND")
    assert not whole_song.is_placeholder("I looked for the lyrics, not found in my heart, " * 3)


def test_a_nested_header_leaves_no_empty_brackets(dropped, kept):
    for _, songs in (dropped, kept):
        assert songs["5002"].startswith("We run the city all night long\n")
        assert "[" not in songs["5002"] and "(" not in songs["5002"]
    assert dropped[0]["scrape_junk"]["empty_brackets"] == {"lines": 1, "songs": 1}
    assert leftovers.remove_empty_pairs("oh [] yeah ( )") == ("oh yeah", True)


def test_hyphen_headers_with_names_in_parentheses_go(dropped):
    assert dropped[1]["5003"] == (
        "Started from the bottom of the hill\nClimbing up with nothing but my will\n\n"
        "We go up, we go up"
    )
    assert dropped[0]["scrape_junk"]["hyphen_name_header"] == {"lines": 2, "songs": 1}
    assert leftovers.is_hyphen_name_header("Verse 1-(Big Tone)")
    assert not leftovers.is_hyphen_name_header("Love me - (love me)")  # a lyric line stays


def test_a_header_never_closed_goes_but_a_lyric_with_a_colon_stays(dropped):
    assert "Closing" not in dropped[1]["5004"] and "Goodnight, goodnight" in dropped[1]["5004"]
    assert dropped[0]["scrape_junk"]["open_header"] == {"lines": 1, "songs": 1}
    assert leftovers.is_open_header("[Verse 2: A & B")
    assert not leftovers.is_open_header("[Verse 2: A & B]")
    assert not leftovers.is_open_header("She said: come home")


def test_transcription_gaps_go_and_a_line_of_gaps_leaves_no_blank(dropped):
    assert dropped[1]["5005"] == (
        "I told you when the lights went down\nYou turned around and left this town"
    )
    assert leftovers.remove_gaps("what?? no ??? way") == ("what?? no way", 1)


def test_parentheses_drop_is_the_original_rule_and_keep_leaves_sung_lines(dropped, kept):
    assert dropped[1]["5006"] == "Baby, I'm sorry\nBaby, I'm sorry\nBeing so honest"
    # "(Repeat chorus)" is an instruction line (pipeline/structure.py): with no chorus to repeat
    # it is dropped, and the stanza ends there.
    assert kept[1]["5006"] == (
        "Baby, I'm sorry (I'm not sorry)\nBaby, I'm sorry (I'm not sorry)\nBeing so honest\n\n"
        "(Ooh, ooh, ooh, ooh)"
    )
    assert dropped[0]["params"]["parentheses"] == "drop"
    assert kept[0]["params"]["parentheses"] == "keep"
    assert (
        clean.clean_lyrics("(Chorus x2)\nHey (hey) (Repeat 2x)", parentheses="keep") == "Hey (hey)"
    )


def test_the_manifest_reports_the_share_of_words_each_kind_removed(dropped, kept):
    drop, keep = dropped[0]["words_removed"], kept[0]["words_removed"]
    assert drop["words"] == keep["words"] > 100
    # (x2), (Intro), (Produced by Max) (5 words), the sung "(I'm not sorry)" twice (6), the
    # backing vocals (4) and the header's credit (1: "[](Lil" is one whitespace word until the
    # empty pair goes): 16 words dropped; keep removes only the 5. "(Repeat chorus)" is an
    # instruction line, counted under the manifest's instructions, not as bracketed words.
    assert drop["share"]["round"] == pytest.approx(round(16 / drop["words"], 6))
    assert keep["share"]["round"] == 0
    assert keep["share"]["round_annotation"] == pytest.approx(round(5 / keep["words"], 6))
    assert drop["share"]["hyphen_name_header"] == pytest.approx(round(10 / drop["words"], 6))
    assert drop["share"]["transcription_gap"] == pytest.approx(round(3 / drop["words"], 6))
    assert set(drop["share"]) == set(drop["rules"])
