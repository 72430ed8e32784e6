"""Each cleaning rule of pipeline/clean.py, as clean_lyrics runs it.

Run: ``pytest tests/pipeline/test_clean.py``. The language detectors are in tests/pipeline/test_langid.py.
"""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline import clean, whole_song

# --- one test per rule ------------------------------------------------------------------------


def test_normalize_newlines_crlf_and_lone_cr():
    assert clean.normalize_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd"


def test_normalize_chars_straightens_quotes_drops_invisibles_keeps_accents_and_emoji():
    text = "I\u2019m \u201cfine\u201d \u2018ok\u2019 caf\u00e9 na\u00efve \U0001f3b6 Sun\u200bny soft\u00adhyphen"
    assert clean.normalize_chars(text) == "I'm \"fine\" 'ok' café naïve 🎶 Sunny softhyphen"
    assert clean.normalize_chars("don\u2019t \u201equote\u2033") == 'don\'t "quote"'


def test_the_tidy_check_agrees_with_normalizing_every_line():
    """_is_tidy (one scan of the song) says a text is tidy exactly when normalize_spaces would
    leave each of its lines as it is; OTHER_SPACES is every whitespace character but space and
    newline."""
    import random
    import sys

    other = {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()} - {" ", "\n"}
    assert set(clean.OTHER_SPACES) == other
    rng = random.Random(4)
    pieces = ["word", "é", "’", " ", "  ", "\n", "\n\n", *sorted(other)]
    for _ in range(5000):
        text = clean.normalize_chars("".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))))
        lines = text.split("\n")
        assert clean._is_tidy(text) == (lines == [clean.normalize_spaces(x) for x in lines]), text


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
    # (clean_lyrics asks once per line it has not seen before: _line_rules caches lines.)
    assert len(seen) >= 2 and set(seen) == {("square", "round")}


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
        # Every header is a stanza break; "[Hook] 2x" over a line sings that stanza twice.
        "I'm walking down the road\n\nla la la (unbalanced here\n\nstill here ] text\n\n"
        "still here ] text\n\nend now \U0001f3b5 café\n\nlast one here"
    )


def test_clean_lyrics_songdata_two_space_line_ends():
    raw = "First line  \r\nSecond line  \r\n  \r\nThird line  \r\n"
    assert clean.clean_lyrics(raw) == "First line\nSecond line\n\nThird line"


def test_clean_lyrics_header_only_song_is_empty():
    assert clean.clean_lyrics("[Intro]\n\n[Chorus]\n\n(Instrumental)\n") == ""


def test_clean_lyrics_without_bracket_removal_keeps_them():
    raw = "[Chorus]\nla (la) la"
    assert clean.clean_lyrics(raw, brackets=[]) == raw


# --- scrape junk (SCRAPE_RULES): fixture lines written for these tests ------------------------


def _clean(raw: str) -> tuple[str, list[str]]:
    touched: list[str] = []
    return clean.clean_lyrics(raw, touched=touched), touched


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (
            "Rain on the glass\nYou might also like\nWind in the trees",
            "Rain on the glass\nWind in the trees",
        ),
        (
            "Rain on the glass and a grinYou might also like\nWind",
            "Rain on the glass and a grin\nWind",
        ),
        ("Rain\nYou might also likeHe sings to the moon", "Rain\nHe sings to the moon"),
        # The header after it goes too, leaving its stanza break.
        ("Rain\nYou might also likeChorus:\nWind", "Rain\n\nWind"),
        ("Rain\nYou might also like[Hook]\nWind", "Rain\n\nWind"),
        ("Rain falls downYou might also likeWind blows on", "Rain falls down\nWind blows on"),
    ],
)
def test_might_also_like_alone_or_glued(raw, want):
    assert _clean(raw) == (want, ["might_also_like"])


@pytest.mark.parametrize(
    "line",
    [
        "You might also like me, baby",
        "Maybe you might also like the way I move",
        "I think You might also like",  # a space before it: a lyric, not glued junk
        "You might also liked her",
        "We live like kings, we live to be live",
    ],
)
def test_real_lines_with_like_or_live_stay(line):
    assert _clean(f"{line}\nsecond line") == (f"{line}\nsecond line", [])


def test_tickets_ad_alone_and_glued():
    raw = "Dance all night\nSee The Paper Lanterns LiveGet tickets as low as $147\nGo home"
    assert _clean(raw) == ("Dance all night\nGo home", ["tickets_ad"])
    raw = "Dance all nightSee Lanterns LiveGet tickets as low as $52You might also like\nGo"
    assert _clean(raw) == ("Dance all night\nGo", ["tickets_ad", "might_also_like"])
    assert _clean("See you live tonight, tickets in my hand\nGo") == (
        "See you live tonight, tickets in my hand\nGo",
        [],
    )


def test_lone_lyrics_line_goes_but_lyrics_in_a_line_stay():
    assert _clean("Lyrics\nFirst line\nLyrics\nSecond") == (
        "First line\nSecond",
        ["lyrics_line", "lyrics_line"],
    )
    line = "Lyrics on my notebook, Lyrics in my head"
    assert _clean(f"{line}\nlyrics") == (f"{line}\nlyrics", [])


def test_hyphen_headers():
    assert _clean("Verse 1-\nOne\n\nChorus -\nTwo\nPre-Chorus-\nThree") == (
        "One\n\nTwo\n\nThree",
        ["hyphen_header", "hyphen_header", "hyphen_header"],
    )
    assert _clean("Verse of my life - so it goes\nx") == ("Verse of my life - so it goes\nx", [])


@pytest.mark.parametrize(
    ("last", "want"),
    [("The end of the roadEmbed", "The end of the road"), ("The end of it all123Embed", "The end of it all"),
     ("Embed", "")],
)  # fmt: skip
def test_trailing_embed(last, want):
    text, touched = _clean(f"First line\n\n{last}")
    assert text == "First line" + (f"\n\n{want}" if want else "")
    assert touched == ["embed_tail"]


def test_embed_only_on_the_last_line_and_only_glued():
    raw = "Roots that embed in stone\nI Embed\nWords I embed"
    assert _clean(raw) == (raw, [])
    raw = "Glued hereEmbed\nlast line"
    assert _clean(raw) == (raw, [])


def test_contributors_first_line():
    assert _clean("27 ContributorsPaper Lantern Lyrics\nFirst line") == (
        "First line",
        ["contributors_line"],
    )
    assert _clean("1 ContributorPaper Lyrics\nFirst") == ("First", ["contributors_line"])
    # Not at the top, or not the scraped shape: a lyric.
    raw = "First line\n27 Contributors sang these Lyrics"
    assert _clean(raw) == (raw, [])


def test_translations_list_at_the_top():
    raw = "Translations\nEspañol\nDeutsch\nРусский (Russian)\nFirst line\nEnglish"
    assert _clean(raw) == ("First line\nEnglish", ["translations_list"] * 4)
    assert _clean("TranslationsEspañolFrançais\nFirst") == ("First", ["translations_list"])
    assert _clean("2 ContributorsTranslationsEspañolSong Lyrics\nFirst")[0] == "First"
    raw = "Lost in translations\nTranslations of my heart\nFirst"
    assert _clean(raw) == (raw, [])


@pytest.mark.parametrize(
    "header",
    ['[Letra de "Canción del Sol"]', "[Songtext zu „Sonne“]", '[Paroles de "Soleil"]',
     "[Testo di Sole]", "[가수 노래 가사]"],
)  # fmt: skip
def test_foreign_language_headers(header):
    assert _clean(f"{header}\nFirst line") == ("First line", ["foreign_header"])
    # Removed even when square brackets are kept: it is page junk, not an annotation.
    touched: list[str] = []
    assert clean.clean_lyrics(f"{header}\nFirst", brackets=[], touched=touched) == "First"


def test_unbalanced_header_brackets():
    assert _clean("[Bridge: Some Singer}\nOne\n(Chorus]\nTwo") == (
        "One\n\nTwo",
        ["unbalanced_header", "unbalanced_header"],
    )
    raw = "[Bridge: Some Singer]\nOne (two} three"
    assert _clean(raw) == ("One (two} three", [])


def test_has_scrape_junk_precheck():
    assert not clean.has_scrape_junk("plain lines\nof a song\nthat live and like")
    assert clean.has_scrape_junk("aYou might also like")
    # Every rule's example passes the pre-check (hyphen/unbalanced headers run per line anyway).
    for sample in ("1 ContributorX Lyrics", "Translations", "Lyrics", "[Letra de x]",
                   "xSee A LiveGet tickets as low as $1", "x1Embed", "[x 가사]", "[Testo di x]"):  # fmt: skip
        assert clean.has_scrape_junk(sample), sample


@pytest.mark.parametrize(
    ("text", "junk"),
    [
        ("Hold me close\nEmbed the memory in my mind", False),  # "Embed" mid-song is a word
        ("Hold me close\nTill the morning light12Embed \n\n", True),  # at the very end: junk
        ("First line\nTranslations of my heart", False),  # only a top line lists languages
        ("\n  Translations\nEspañol\nHold me close", True),
    ],
)
def test_has_scrape_junk_looks_for_embed_and_translations_where_they_can_be(text, junk):
    assert clean.has_scrape_junk(text) is junk
    lines = text.split("\n")
    # The pre-check says no only where the rules would change nothing.
    assert (clean.remove_scrape_junk(list(lines), []) != lines) is junk


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
    assert whole_song.is_placeholder(text)


def test_is_placeholder_keeps_songs():
    assert not whole_song.is_placeholder("I love you, baby, more than words can say")
    # Short songs that use the words of a placeholder are not placeholders.
    assert not whole_song.is_placeholder("I'm not released from your love\nHold me tight tonight")
    assert not whole_song.is_placeholder("I submit them all to you\nEvery request I ever made")
    song = "They said the album's not yet released\n" + "but I sing it every night\n" * 30
    assert not whole_song.is_placeholder(song)  # long texts are songs, whatever words they use


def test_is_translation_page():
    assert whole_song.is_translation_page("Genius English Translations")
    assert whole_song.is_translation_page("Genius Romanizations")
    assert whole_song.is_translation_page("Genius Traducciones al Español / Translations")
    assert not whole_song.is_translation_page("Genius")
    assert not whole_song.is_translation_page("Lost in Translation")


def test_cached_line_rules_replay_their_notes_and_word_counts():
    song = (
        "[[Chorus: Big Tone & [?]]](Lil Sam)\nWe run (we run) the ?? city\n[Closing: Name\n"
        "[Bridge: A}\nVerse 1-\nlast line"
    )
    runs = []
    for _ in range(2):  # the second run takes every line from the cache
        touched, removed = [], Counter()
        text = clean.clean_lyrics(song, touched=touched, removed=removed)
        runs.append((text, sorted(touched), dict(removed)))
    assert runs[0] == runs[1]
    text, touched, removed = runs[0]
    assert touched == sorted(
        ["empty_brackets", "transcription_gap", "open_header", "unbalanced_header", "hyphen_header"]
    )
    assert text == "We run the city\n\nlast line"
    # The counts clean_lyrics gave before lines were cached.
    assert removed == {"words": 21, "square": 4, "round": 3, "transcription_gap": 1,
                       "open_header": 2, "bare_label": 2}  # fmt: skip


def test_only_short_lines_are_cached():
    long_line = "word (aside) " * 30  # a bracketed line over CACHED_LINE_CHARS
    assert len(long_line.strip()) > clean.CACHED_LINE_CHARS
    clean._cached_line_rules.cache_clear()
    text = clean.clean_lyrics(f"[Verse 1]\n{long_line}\n(x2)")
    assert text == " ".join(["word"] * 30)
    assert clean._cached_line_rules.cache_info().currsize == 2  # "[Verse 1]" and "(x2)"
