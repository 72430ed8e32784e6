"""Language identification (pipeline/langid.py): the blocks a detector reads, the decision rule,
and both detectors on whole songs: English ones with foreign intros or lines, and songs in other
languages with English hooks (fixture songs written for these tests).

Run: ``pytest tests/pipeline/test_langid.py`` (loads fastText lid.176 and langdetect: a few seconds).
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
        assert langid.is_language(detector.languages(text), "en"), text[:40]


def test_detector_rejects_other_languages(detector):
    for code, text in FOREIGN.items():
        assert not langid.is_language(detector.languages(text), "en"), code
        assert detector.top2(text)[0][0] == code
        assert max(detector.languages(text).items(), key=lambda kv: kv[1])[0] == code


# --- whole songs: the four cases -------------------------------------------------

ENGLISH_VERSES = (
    "Streetlights hum along the boulevard at night\nI count the windows glowing gold and white\n"
    "You left a note beneath the kitchen door\nSaid you don't believe in us no more\n\n"
    "So I'm driving with the radio up loud\nSinging every word to a sleeping crowd\n"
    "Every song reminds me of your face\nEvery mile is just an empty space\n\n"
    "Hold on, hold on to the morning light\nDon't let go, we can make it right\n"
    "Hold on, hold on, it's a long way home\nI don't want to walk this road alone\n\n"
    "Coffee cups and pictures on the wall\nEchoes of your laughter down the hall\n"
    "I keep your sweater folded on the chair\nPretending that you're still somewhere in there"
)
ENGLISH_SPANISH_INTRO = "¿Dónde estás, mi amor, por qué no me llamas?\n\n" + ENGLISH_VERSES
ENGLISH_FRENCH_SPOKEN_INTRO = (
    "Écoute-moi bien, mon chéri, ce soir je pars\nJe ne sais pas quand je reviendrai\n"
    "Ne pleure pas, garde la lumière allumée\nEt pense à moi quand la ville s'endort\n\n"
) + ENGLISH_VERSES
SPANISH_ENGLISH_HOOK = "\n\n".join(
    [
        "Camino solo por la playa cuando cae el sol\nLas olas me recuerdan el sabor de tu "
        "canción\nTe busco entre la gente de esta ciudad sin fin\nY cada noche sueño que "
        "regresas junto a mí",
        "Baby, baby, dance with me tonight\nBaby, baby, hold me tight",
        "Las calles están vacías y la luna se escondió\nMe quedan tus fotografías y un "
        "vaso de licor\nNo sé si volverás, pero yo te esperaré\nBailando bajo la lluvia como "
        "la primera vez",
        "Baby, baby, dance with me tonight\nBaby, baby, hold me tight",
        "Dime qué hago con la vida si no estás aquí\nMi corazón se muere lento desde que "
        "te vi partir",
    ]
)
KOREAN_ENGLISH_CHORUS = "\n\n".join(
    [
        "오늘 밤 하늘에 별이 너무 많아서\n너의 이름을 하나씩 불러 보았어\n"
        "차가운 바람이 내 마음을 스쳐 가도\n나는 여전히 너를 기다리고 있어\n"
        "우리가 함께 걷던 그 길 위에서\n작은 약속들을 다시 떠올려 봐",
        "Shine on me, shine on me\nYou're my only star tonight",
        "창문 너머로 비가 내리는 소리에\n잠들지 못한 채로 너를 생각해\n"
        "시간이 흘러도 변하지 않을 거야\n내 손을 잡아 줘 다시 한 번만\n"
        "눈물이 흘러도 웃으며 말할게\n너를 만나서 정말 행복했다고",
        "Shine on me, shine on me\nYou're my only star tonight",
    ]
)


@pytest.mark.parametrize("song", [ENGLISH_SPANISH_INTRO, ENGLISH_FRENCH_SPOKEN_INTRO])
def test_english_song_with_a_foreign_intro_is_kept(detector, song):
    assert langid.is_language(detector.languages(song), "en")


@pytest.mark.parametrize(
    ("song", "code"), [(SPANISH_ENGLISH_HOOK, "es"), (KOREAN_ENGLISH_CHORUS, "ko")]
)
def test_foreign_song_with_english_hook_is_dropped(detector, song, code):
    languages = detector.languages(song)
    assert not langid.is_language(languages, "en")
    assert languages.get(code, 0) > languages.get("en", 0)
    read = " ".join(langid.blocks(song))
    assert read.count("shine on me, shine on me") + read.count("baby, baby, dance") == 1  # once


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
    assert " ".join(langid.blocks(song)).count("reste avec moi") == 1  # a chorus counts once
    assert langid.is_language(langid.FastText().languages(song), "en")


def test_blocks_are_bounded_and_single_line():
    book = "word " * 100_000
    parts = langid.blocks(book)
    assert len(parts) == 1 and len(parts[0]) <= 4 * langid.SAMPLE_CHARS
    lines = "\n".join(f"line {i:05d} of a long book-like text" for i in range(10_000))
    parts = langid.blocks(lines)
    assert sum(len(p) + 1 for p in parts) <= langid.SAMPLE_CHARS + langid.BLOCK_CHARS
    assert all("\n" not in p for p in parts)
    assert langid.blocks("short\ntext") == ["short text"]
    assert langid.blocks("\n\n") == []


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
    ("languages", "expected"),
    [
        ({}, False),  # no letters at all
        ({"en": 1.0}, True),
        ({"en": 0.5, "fr": 0.5}, True),  # exactly half is "most" enough
        ({"en": 0.49, "fr": 0.51}, False),
        ({"fr": 0.3, "de": 0.3, "en": 0.4}, False),  # largest, but not most of the text
        ({"fr": 0.6, "de": 0.4}, False),
    ],
)
def test_is_language_decision_rule(languages, expected):
    assert langid.is_language(languages, "en") is expected


def test_shares_weigh_blocks_by_characters():
    assert langid.shares(["en", "fr", "en"], ["a" * 60, "b" * 20, "c" * 20]) == {
        "en": 0.8,
        "fr": 0.2,
    }


def test_blocks_group_distinct_lines_in_order():
    lines = [f"line number {i:03d} of the song" for i in range(20)]  # 28 chars each
    song = "\n".join(["reste avec moi", *lines, "reste avec moi", "", lines[0]])
    parts = langid.blocks(song, block_chars=100)
    assert parts[0].startswith("reste avec moi line number 000")
    assert langid.blocks("ALL CAPS LINE") == ["all caps line"]
    joined = " ".join(parts)
    assert joined.count("reste avec moi") == 1 and joined.count("number 000") == 1
    assert joined.endswith("line number 019 of the song")
    assert all(len(p) >= 100 for p in parts)  # the short tail joined the block before it


def test_blocks_read_only_the_head_of_a_book():
    head = "english words in the head number {}\n"
    book = "".join(head.format(i) for i in range(400)) + "zzz tail that is never read"
    assert "zzz" not in " ".join(langid.blocks(book))


def test_english_song_with_a_foreign_opening_line_is_english():
    song = "Te quiero más que nada, mi amor, mi vida\n\n" + ENGLISH
    assert langid.is_language(langid.FastText().languages(song), "en")


def test_langdetect_is_seeded():
    a = langid.LangDetect().top2(ENGLISH_ONE_SPANISH)
    b = langid.LangDetect().top2(ENGLISH_ONE_SPANISH)
    assert a == b and a[0][0] == "en"
    assert langid.LangDetect().languages(ENGLISH_VERSES) == {"en": 1.0}


def test_make_detector_unknown_name():
    with pytest.raises(ValueError, match="unknown language detector 'cld9'"):
        langid.make_detector("cld9")
    assert {langid.make_detector(n).name for n in langid.DETECTORS} == set(langid.DETECTORS)


# --- judge: stage 1's decision (English-word quick path, then the detector) -------------------


class _NoDetector:
    """Fails the test if asked: the quick path must decide alone."""

    def block_probabilities(self, parts):
        raise AssertionError("the detector was asked")
        yield  # a generator, as the real detectors' are


@pytest.mark.parametrize(
    "song", [ENGLISH_VERSES, ENGLISH_SPANISH_INTRO, ENGLISH_FRENCH_SPOKEN_INTRO]
)
def test_judge_keeps_plain_english_without_the_detector(song):
    assert langid.english_word_share(langid.blocks(song)) >= langid.QUICK_SHARE
    assert langid.judge(_NoDetector(), song, "en")


@pytest.mark.parametrize("song", [SPANISH_ENGLISH_HOOK, KOREAN_ENGLISH_CHORUS, *FOREIGN.values()])
def test_judge_sends_foreign_songs_to_the_detector_which_drops_them(detector, song):
    share = langid.english_word_share(langid.blocks(song))
    assert share is None or share < langid.QUICK_SHARE
    assert not langid.judge(detector, song, "en")
    with pytest.raises(AssertionError, match="detector was asked"):
        langid.judge(_NoDetector(), song, "en")


def test_judge_other_targets_always_ask_the_detector(detector):
    assert langid.judge(detector, FOREIGN["es"], "es")
    assert not langid.judge(detector, ENGLISH_VERSES, "es")
    assert langid.english_word_share(["too short to count"]) is None


def test_english_word_share_counts_each_token_as_its_stripped_form(monkeypatch):
    """The token cache gives the share the plain definition gives (each word's ends stripped of
    _EDGE_PUNCTUATION, then looked up), also once the cache has been emptied when full."""
    import random

    monkeypatch.setattr(langid, "TOKEN_CACHE", 50)
    monkeypatch.setattr(langid, "_ENGLISH_TOKENS", langid._EnglishTokens())
    rng = random.Random(7)
    pieces = [*langid.ENGLISH_WORDS, "yeah", "amor", "la", "'", "--", "...", "(", ")", '"', ","]
    pieces += ["\u00a0", "\t", "\u3000"]
    for _ in range(400):
        tokens = []
        for _ in range(rng.randint(15, 60)):
            word = rng.choice(pieces)
            lead = "".join(rng.choices(langid._EDGE_PUNCTUATION, k=rng.choice((0, 0, 1, 3))))
            tail = "".join(rng.choices(langid._EDGE_PUNCTUATION, k=rng.choice((0, 0, 1, 2, 4))))
            tokens.append(lead + word + tail)
        lines = [" ".join(tokens[i : i + 7]) for i in range(0, len(tokens), 7)]
        words = " ".join(lines).split()
        expected = None
        if len(words) >= langid.QUICK_MIN_WORDS:
            hits = sum(w.strip(langid._EDGE_PUNCTUATION) in langid.ENGLISH_WORDS for w in words)
            expected = hits / len(words)
        assert langid.english_word_share(lines) == expected
    assert len(langid._ENGLISH_TOKENS) <= 50
    assert langid.english_word_share(["you, (the) it's... amor! " * 5]) == 3 / 4


class _Counting:
    """A real detector that counts the blocks it was asked about."""

    def __init__(self, inner):
        self.inner, self.asked = inner, 0

    def block_probabilities(self, parts):
        for probs in self.inner.block_probabilities(parts):
            self.asked += 1
            yield probs


def _mixed_songs():
    """Songs around the decision line: English verses with growing foreign parts, both ways."""
    english = ENGLISH_VERSES.split("\n\n")
    foreign = [*FOREIGN.values(), *SPANISH_ENGLISH_HOOK.split("\n\n")[::2]]
    songs = [*FOREIGN.values(), SPANISH_ENGLISH_HOOK, KOREAN_ENGLISH_CHORUS, ENGLISH_VERSES]
    for k in range(len(english) + 1):
        songs.append("\n\n".join(english[:k] + foreign[: len(english) - k + 1]))
        songs.append("\n\n".join(foreign[:k] + english[: len(english) - k + 1]))
    return songs


def test_judge_stops_early_with_the_decision_of_the_whole_song(detector):
    decided = {True: 0, False: 0}
    saved = 0
    for song in _mixed_songs():
        for target in ("en", "es"):
            parts = langid.blocks(song)
            whole = langid.is_language(detector.block_languages(parts), target)
            counting = _Counting(detector)
            # The quick path aside (another test covers it): straight to the block loop.
            if target == "en" and (langid.english_word_share(parts) or 0) >= langid.QUICK_SHARE:
                continue
            assert langid.judge(counting, song, target) is whole, (target, song[:60])
            assert counting.asked <= len(parts)
            saved += len(parts) - counting.asked
            decided[whole] += 1
    assert decided[True] and decided[False]  # both answers were exercised
    assert saved > 0  # and some songs were decided before their last block


def test_judge_reads_only_half_of_a_long_foreign_song(detector):
    song = "\n".join(f"{FOREIGN['es']} {i}" for i in range(40))  # ~20 blocks, all Spanish
    counting = _Counting(detector)
    assert not langid.judge(counting, song, "en")
    parts = langid.blocks(song)
    assert len(parts) >= 10 and counting.asked <= len(parts) // 2 + 1
