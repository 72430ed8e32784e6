"""Each cleaning rule (pipeline/clean.py) and the language detectors (pipeline/langid.py)."""

from __future__ import annotations

import pytest

from pipeline import clean, langid

# --- one test per rule ------------------------------------------------------------------------


def test_normalize_newlines_crlf_and_lone_cr():
    assert clean.normalize_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd"


def test_normalize_chars_straightens_quotes_drops_invisibles_keeps_accents_and_emoji():
    text = "I\u2019m \u201cfine\u201d \u2018ok\u2019 caf\u00e9 na\u00efve \U0001f3b6 Sun\u200bny soft\u00adhyphen"
    assert clean.normalize_chars(text) == "I'm \"fine\" 'ok' café naïve 🎶 Sunny softhyphen"
    assert clean.normalize_quotes("don\u2019t") == "don't"


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


def test_text_hash_ignores_case_only():
    assert clean.text_hash("Hello World") == clean.text_hash("hello world")
    assert clean.text_hash("hello world") != clean.text_hash("hello there")


def test_chunk_of_is_stable_and_spread():
    ids = [str(1000 + i) for i in range(4000)]
    counts = [0] * 40
    for song_id in ids:
        c = clean.chunk_of(song_id, 40)
        assert c == clean.chunk_of(song_id, 40)
        counts[c] += 1
    assert min(counts) > 50 and max(counts) < 150  # ~100 each


# --- language identification ------------------------------------------------------------------

ENGLISH = (
    "I've been driving through the desert with the windows rolling down\n"
    "Got your picture on the dashboard and your voice inside my sound\n"
    "Every mile I keep on thinking I should turn around\n\n"
    "Take me home, take me home tonight\nHold me close until the morning light"
)
ENGLISH_ONE_SPANISH = ENGLISH.replace("Every mile", "Te quiero más que nada, mi amor\nEvery mile")
ENGLISH_ACCENTS_EMOJI = (
    'Met you at the café on a Sunday afternoon\nYou said "don\'t be late" 💙\n'
    "Oh, my naïve heart keeps falling\nEvery night I hear you calling"
)
FOREIGN = {
    "es": "Caminando por la calle sin saber a dónde ir\nLa luna me pregunta por qué tengo "
    "que sufrir\nTu recuerdo me persigue cada noche sin parar",
    "fr": "Je marche dans la ville quand la nuit tombe doucement\nLes lumières de Paris me "
    "rappellent nos vingt ans",
    "ru": "Я иду по улице одна, и ветер мне поёт\nСтарый город спит давно, никто меня не ждёт",
    "de": "Ich gehe durch die Straßen und die Nacht ist kalt und leer\nDeine Stimme höre "
    "ich nicht mehr, das Herz ist mir so schwer",
}


@pytest.fixture(scope="module", params=langid.DETECTORS)
def detector(request):
    return langid.make_detector(request.param)


def test_detector_keeps_english_variants(detector):
    for text in (ENGLISH, ENGLISH_ONE_SPANISH, ENGLISH_ACCENTS_EMOJI):
        assert langid.is_language(detector.top2(text), "en"), text[:40]


def test_detector_rejects_other_languages(detector):
    for code, text in FOREIGN.items():
        ranked = detector.top2(text)
        assert not langid.is_language(ranked, "en"), code
        assert ranked[0][0] == code


def test_foreign_line_in_every_chorus_survives():
    verse1 = (
        "Feel the beat, we're golden\nPink champagne and confetti and I'm ready to fly\n"
        "Say my name like fireworks in June\nStay with me, forever feels so right\n"
        "Hands up high in the glitter rain\nCrystal skies and diamond dreams"
    )
    verse2 = (
        "Falling for you faster every night\nMy heart goes boom when you walk in\n"
        "Stay with me like a shooting star\nWe were running after your smile"
    )
    chorus = (
        "Sugar rush and a kiss goodnight\nOh, baby, we're golden\n"
        "reste avec moi jusqu'au matin\nSugar rush and a kiss goodnight"
    )
    song = "\n\n".join([verse1, chorus, verse2, chorus, chorus])
    assert langid.sample(song).count("reste avec moi") <= 1  # a chorus counts once
    assert langid.is_language(langid.FastText().top2(song), "en")


def test_sample_is_bounded_and_single_line():
    book = "word " * 100_000
    s = langid.sample(book)
    assert len(s) <= 3 * langid.SLICE_CHARS + 2 and "\n" not in s
    assert langid.sample("short\ntext") == "short text"


def test_normalize_code():
    assert langid.normalize_code(" EN ") == "en"
    assert langid.normalize_code("English") == "en"
    assert langid.normalize_code("") == langid.normalize_code("nan") == ""
