"""Each cleaning rule of pipeline/clean.py, as clean_lyrics runs it.

Run: ``pytest tests/test_clean.py``. The language detectors are in tests/test_langid.py.
"""

from __future__ import annotations

import pytest

from pipeline import clean

# --- one test per rule ------------------------------------------------------------------------


def test_normalize_newlines_crlf_and_lone_cr():
    assert clean.normalize_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd"


def test_normalize_chars_straightens_quotes_drops_invisibles_keeps_accents_and_emoji():
    text = "I\u2019m \u201cfine\u201d \u2018ok\u2019 caf\u00e9 na\u00efve \U0001f3b6 Sun\u200bny soft\u00adhyphen"
    assert clean.normalize_chars(text) == "I'm \"fine\" 'ok' café naïve 🎶 Sunny softhyphen"
    assert clean.normalize_chars("don\u2019t \u201equote\u2033") == 'don\'t "quote"'


def test_normalize_spaces_collapses_runs_and_edges():
    assert clean.normalize_spaces("  two  spaces\tand\u00a0nbsp\u3000wide  ") == (
        "two spaces and nbsp wide"
    )


@pytest.mark.parametrize(
    "line",
    [
        "[Chorus: A & B]",
        "[Intro: X, Y & Both]",
        "[Produced by Night Owl]",
        "[Hook] 2x",
        "[Chorus] x3",
        "(Chorus)",
        "{Bridge}",
        "[Intro] (Skit)",
        "[Refrán]",
        "Chorus:",
        "Verse 2:",
        "Hook x2",
        "PRE-CHORUS",
    ],
)
def test_is_header_line_recognises_annotations(line):
    assert clean.is_header_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Chorus of angels singing in the night",
        "[Verse 1] I walk alone",
        "(I said) we never stop",
        "(unbalanced and more words",
        "Hooked on a feeling",
        "",
    ],
)
def test_is_header_line_leaves_lyrics(line):
    assert not clean.is_header_line(line)


def test_is_header_line_respects_bracket_kinds():
    assert not clean.is_header_line("(Chorus)", kinds=["square", "curly"])
    assert clean.is_header_line("[Chorus]", kinds=["square"])
    # A bare label is not a bracket: it goes whatever the kinds.
    assert clean.is_header_line("Chorus:", kinds=[])


def test_is_header_line_kinds_in_any_order_or_container():
    assert clean.is_header_line("(Chorus)", kinds=("round", "square"))
    assert clean.is_header_line("(Chorus)", kinds={"round"})
    assert not clean.is_header_line("[Chorus]", kinds=("round",))


def test_bracket_rules_compiled_once_and_shared_with_clean_lyrics(monkeypatch):
    rules = clean.bracket_rules(("square", "round"))
    assert clean.bracket_rules(("square", "round")) is rules  # compiled on first use only
    seen = []
    real = clean.bracket_rules

    def spy(kinds):
        seen.append(kinds)
        return real(kinds)

    monkeypatch.setattr(clean, "bracket_rules", spy)
    # Kinds are put in BRACKET_KINDS order, so every spelling shares one compiled set.
    assert clean.clean_lyrics("[Chorus]\nla (la) {la}", ["round", "square"]) == "la {la}"
    assert clean.remove_brackets("a (b) [c]", ["round", "square"]) == "a"
    assert clean.is_header_line("[Intro]", ["round", "square"])
    assert seen == [("square", "round")] * 3


def test_remove_brackets_inline_nested_and_unbalanced():
    assert clean.remove_brackets("we up (we up) now") == "we up now"
    assert clean.remove_brackets("la {ooh} la [x] la") == "la la la"
    assert clean.remove_brackets("end (oh (yeah)) now") == "end now"
    # An unbalanced opener eats nothing after it.
    assert clean.remove_brackets("I said (I'll never leave") == "I said (I'll never leave"
    assert clean.remove_brackets("a ] b ) c") == "a ] b ) c"


def test_remove_brackets_each_kind_switchable():
    line = "a [sq] b {cu} c (ro) d"
    assert clean.remove_brackets(line, ["square"]) == "a b {cu} c (ro) d"
    assert clean.remove_brackets(line, ["curly"]) == "a [sq] b c (ro) d"
    assert clean.remove_brackets(line, ["round"]) == "a [sq] b {cu} c d"
    assert clean.remove_brackets(line, []) == line


def test_collapse_blank_lines_keeps_one_stanza_break():
    assert clean.collapse_blank_lines(["", "a", "", "", "", "b", "c", "", ""]) == "a\n\nb\nc"


# --- the rules together -----------------------------------------------------------------------


def test_clean_lyrics_keeps_structure_and_drops_annotations():
    raw = (
        "[Verse 1: A & B]\r\nI\u2019m walking  down (yeah) the road  \r\n"
        "[Produced by X]\nChorus:\nla la {ooh} la (unbalanced here\n[Hook] 2x\n"
        "still here ] text\n\n\n\n(Chorus)\nend (oh (yeah)) now \U0001f3b5 café\n"
        "(whole line ad-lib) (another)\n\nlast\u200b one\u00a0 here  "
    )
    assert clean.clean_lyrics(raw) == (
        "I'm walking down the road\nla la la (unbalanced here\nstill here ] text\n\n"
        "end now \U0001f3b5 café\n\nlast one here"
    )


def test_clean_lyrics_songdata_two_space_line_ends():
    raw = "First line  \r\nSecond line  \r\n  \r\nThird line  \r\n"
    assert clean.clean_lyrics(raw) == "First line\nSecond line\n\nThird line"


def test_clean_lyrics_header_only_song_is_empty():
    assert clean.clean_lyrics("[Intro]\n\n[Chorus]\n\n(Instrumental)\n") == ""


def test_clean_lyrics_without_bracket_removal_keeps_them():
    raw = "[Chorus]\nla (la) la"
    assert clean.clean_lyrics(raw, brackets=[]) == raw


# --- drop rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Loading...",
        "Save Cancel",
        "[Instrumental]",
        " (Instrumental) ",
        "Lyrics for this song have yet to be released. Please check back once the song has "
        "been released.",
        "Lyrics not yet released",
        "This song is unreleased. Please submit the lyrics if you know them.",
        "Lyrics coming soon",
        "This song is an instrumental",
    ],
)
def test_is_placeholder_documented_list(text):
    assert clean.is_placeholder(text)


def test_is_placeholder_keeps_songs():
    assert not clean.is_placeholder("I love you, baby, more than words can say")
    # Short songs that use the words of a placeholder are not placeholders.
    assert not clean.is_placeholder("I'm not released from your love\nHold me tight tonight")
    assert not clean.is_placeholder("I submit them all to you\nEvery request I ever made")
    song = "They said the album's not yet released\n" + "but I sing it every night\n" * 30
    assert not clean.is_placeholder(song)  # long texts are songs, whatever words they use


def test_is_translation_page():
    assert clean.is_translation_page("Genius English Translations")
    assert clean.is_translation_page("Genius Romanizations")
    assert clean.is_translation_page("Genius Traducciones al Español / Translations")
    assert not clean.is_translation_page("Genius")
    assert not clean.is_translation_page("Lost in Translation")
