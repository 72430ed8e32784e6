"""Language identification (pipeline/langid.py): the sample a detector reads, the decision rule,
and both detectors on English songs with foreign lines and on songs in other languages.

Run: ``pytest tests/test_langid.py`` (loads fastText lid.176 and langdetect: a few seconds).
"""

from __future__ import annotations

import pytest

from pipeline import langid

# --- detectors on songs ------------------------------------------------------------------

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


def test_normalize_code_names_and_missing_values():
    assert langid.normalize_code("eng") == langid.normalize_code("english") == "en"
    assert langid.normalize_code("Spanish") == "es"
    assert langid.normalize_code("fil") == "fil"  # 3-letter codes pass through
    for missing in ("None", "null", "unknown", "und", "  "):
        assert langid.normalize_code(missing) == ""


@pytest.mark.parametrize(
    ("ranked", "expected"),
    [
        ([], False),  # no letters at all
        ([("en", 0.9)], True),
        ([("fr", 0.9), ("en", 0.05)], False),
        ([("fr", 0.7), ("en", langid.SECOND_MIN_PROB)], True),  # second, with enough weight
        ([("fr", 0.74), ("en", langid.SECOND_MIN_PROB - 0.01)], False),
        ([("fr", 0.6), ("de", 0.4)], False),
    ],
)
def test_is_language_decision_rule(ranked, expected):
    assert langid.is_language(ranked, "en") is expected


def test_sample_takes_head_middle_and_tail_of_distinct_lines():
    lines = [f"line number {i:03d} of the song" for i in range(200)]
    song = "\n".join(["reste avec moi", *lines, "reste avec moi"])
    s = langid.sample(song)
    assert s.startswith("reste avec moi line number 000")
    assert "line number 100" in s or "line number 099" in s  # the middle slice
    assert s.endswith("line number 199 of the song")  # the repeated last line counted once
    assert s.count("reste avec moi") == 1


def test_sample_reads_only_the_head_of_a_book():
    head = "english words in the head\n" * 10
    book = head + "x" * langid.SPAN_CHARS + "\nzzz tail that is never read"
    assert "zzz" not in langid.sample(book)


def test_english_song_with_a_foreign_opening_line_is_english():
    song = "Te quiero más que nada, mi amor, mi vida\n\n" + ENGLISH
    assert langid.is_language(langid.FastText().top2(song), "en")


def test_langdetect_is_seeded():
    a = langid.LangDetect().top2(ENGLISH_ONE_SPANISH)
    b = langid.LangDetect().top2(ENGLISH_ONE_SPANISH)
    assert a == b and a[0][0] == "en"


def test_make_detector_unknown_name():
    with pytest.raises(ValueError, match="unknown language detector 'cld9'"):
        langid.make_detector("cld9")
    assert {langid.make_detector(n).name for n in langid.DETECTORS} == set(langid.DETECTORS)
