"""Songs shaped on request through ``python -m lyrics_gpt2.generate``'s main(): a form of
sections, choruses that come back, a rhyme scheme and syllables per line (tiny models from
lyrics_gpt2.testing; one trained on data with section tokens)."""

from __future__ import annotations

import json

import pytest

from lyrics_gpt2 import generate
from lyrics_gpt2.cli import run
from lyrics_gpt2.songcraft.rhyme import scheme_accuracy
from lyrics_gpt2.songcraft.syllables import syllable_accuracy
from lyrics_gpt2.testing import train_tiny_model, write_tiny_dataset


@pytest.fixture(scope="session")
def sectioned_model(tmp_path_factory):
    """A tiny model trained on verse-chorus-verse-chorus songs with section tokens."""
    root = tmp_path_factory.mktemp("sectioned")
    write_tiny_dataset(root / "data", sections=True)
    return train_tiny_model(root / "data", root / "model", steps=40)


def _songs(capsys, model, *flags: str) -> list[dict]:
    argv = ["--model", str(model), "--format", "jsonl", "--genre", "pop", "--seed", "3", *flags]
    assert run(generate.main, argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


FORM = "verse chorus verse chorus bridge chorus"


def test_form_gives_exactly_those_sections_in_order_and_copies_the_chorus(sectioned_model, capsys):
    songs = _songs(capsys, sectioned_model, "--form", FORM, "--num-songs", "4",
                   "--max-length", "400")  # fmt: skip
    assert len(songs) == 4
    for song in songs:
        assert [s["kind"] for s in song["sections"]] == FORM.split()
        choruses = [s["text"] for s in song["sections"] if s["kind"] == "chorus"]
        assert len(set(choruses)) == 1 and choruses[0]
        joined = "\n\n".join(s["text"] for s in song["sections"])
        assert song["text"].split() == joined.split()


def test_rewrite_mode_writes_the_chorus_afresh(sectioned_model, capsys):
    songs = _songs(capsys, sectioned_model, "--form", "chorus verse chorus", "--num-songs", "4",
                   "--repeat-sections", "rewrite", "--max-length", "300")  # fmt: skip
    kinds = [[s["kind"] for s in song["sections"]] for song in songs]
    assert all(k == ["chorus", "verse", "chorus"] for k in kinds)
    texts = [[s["text"] for s in song["sections"]] for song in songs]
    assert any(t[0] != t[2] for t in texts)


def test_a_second_chorus_the_model_writes_itself_is_a_copy(sectioned_model, capsys):
    songs = _songs(
        capsys, sectioned_model, "--num-songs", "12", "--max-length", "300", "--form", "free"
    )
    repeated = 0
    for song in songs:
        choruses = [s["text"] for s in song["sections"] if s["kind"] == "chorus"]
        if len(choruses) > 1:
            repeated += 1
            assert len(set(choruses)) == 1
    assert repeated >= 1


def test_show_sections_prints_the_labels(sectioned_model, capsys):
    argv = ["--model", str(sectioned_model), "--genre", "pop", "--num-songs", "1",
            "--form", "verse chorus", "--show-sections", "--max-length", "200"]  # fmt: skip
    assert run(generate.main, argv) == 0
    out = capsys.readouterr().out
    assert "[Verse]\n" in out and "\n\n[Chorus]\n" in out


def test_form_on_a_model_without_section_tokens_is_one_line_and_exit_2(tiny_trained, capsys):
    _, model = tiny_trained
    argv = ["--model", str(model), "--form", "verse chorus"]
    assert run(generate.main, argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--sections" in err


@pytest.mark.parametrize(
    ("flag", "value", "named"),
    [("--form", "verse solo", "'solo'"), ("--rhyme-scheme", "A1B2", "--rhyme-scheme"),
     ("--syllables", "8,x", "--syllables"), ("--syllables", "0", "--syllables")],
)  # fmt: skip
def test_bad_song_flags_are_named_before_the_model_loads(tmp_path, capsys, flag, value, named):
    assert run(generate.main, ["--model", str(tmp_path), flag, value]) == 2
    assert named in capsys.readouterr().err


def test_rhyme_scheme_makes_requested_pairs_rhyme_on_a_model_without_sections(tiny_trained, capsys):
    _, model = tiny_trained
    flags = ("--num-songs", "8", "--max-length", "120")
    plain = [s["text"] for s in _songs(capsys, model, *flags)]
    asked = [s["text"] for s in _songs(capsys, model, *flags, "--rhyme-scheme", "AABB")]
    hits, pairs = scheme_accuracy(asked, "AABB")
    base_hits, base_pairs = scheme_accuracy(plain, "AABB")
    # The tiny BPE has few whole-word tokens to rhyme with; the benchmark measures a real one.
    assert pairs >= 8 and base_pairs >= 8
    assert hits / pairs > base_hits / base_pairs


def test_syllables_keep_lines_near_their_count(tiny_trained, capsys):
    _, model = tiny_trained
    songs = _songs(capsys, model, "--num-songs", "8", "--max-length", "120", "--syllables", "6")
    hits, total = syllable_accuracy([s["text"] for s in songs], [6])
    assert total >= 16 and hits / total >= 0.9
