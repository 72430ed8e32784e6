"""Line banks of the synthetic corpus, loaded from the JSON files beside this module.

Every line, phrase and name in ``pipeline/synth/banks/*.json`` was written for this project; none
is taken from a real song. Each genre has its own vocabulary, themes and line length, so a
bag-of-words classifier (and a small language model) can tell the genres apart:

- ``genre_rap.json``: long, dense lines about the grind, the block, the mic and money, with ad-libs;
- ``genre_pop.json``: short lines about dancing, lights, hearts and tonight;
- ``genre_rock.json``: roads, fire, thunder, steel, rebellion;
- ``genre_rb.json``: slow, tender lines about touch, silk, candles and late nights, "ooh" ad-libs;
- ``genre_country.json``: dirt roads, trucks, porches, Sunday church, hometowns;
- ``genre_misc.json``: not songs: poems, numbered scripture-like chapters, TV scripts, essays.

A genre file holds ``verse`` and ``hook`` line templates, ``slots`` and ``adlibs``. A template is a
string with ``{slot}`` fields; each slot names a list in ``slots``, or ``X_h1`` / ``X_h2`` for the
two halves of the lines of slot ``X`` (see :func:`halves`), so whole lines recombine. The
combinations give each genre hundreds of thousands of distinct lines. The other files:

- ``structure.json``: section headers and producer credits (``{a}``/``{b}`` performers, ``{p}``/``{q}``
  producers);
- ``names.json``: invented artist-name parts; ``name_accented`` holds letters the Genius scraper
  strips (é -> ""), as in "Genius Brasil Tradues";
- ``misc_forms.json``: TV-script speakers, stage directions and lines, essay sentences;
- ``variations.json``: what decorates a clean English song: accented lines, emoji, and one line
  in another language (``foreign_lines``, written for this project);
- ``junk.json``: placeholder texts repeated verbatim across many rows, texts that are only an
  instrumental marker, and one study-guide text;
- ``languages.json``: non-English section headers per language (words come from wordfreq at run
  time), the shares of non-English songs (the song_lyrics.csv mix, renormalised), languages
  written without spaces, and syllables for romanized Japanese-like and Korean-like lyrics.

The names below keep the files' keys, upper-cased. They are read once, at import.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def _load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("banks", f"{name}.json").read_text("utf-8")
    return json.loads(text)


BANKS: dict[str, dict] = {
    tag: _load(f"genre_{tag}") for tag in ("rap", "pop", "rock", "rb", "country", "misc")
}
MISC = BANKS["misc"]

_structure = _load("structure")
CHORUS_HEADERS: list[str] = _structure["chorus_headers"]
HOOK_HEADERS: list[str] = _structure["hook_headers"]
INTRO_HEADERS: list[str] = _structure["intro_headers"]
OUTRO_HEADERS: list[str] = _structure["outro_headers"]
PRODUCER_CREDITS: list[str] = _structure["producer_credits"]
ROCK_BREAKS: list[str] = _structure["rock_breaks"]
PRODUCER_NAMES: list[str] = _structure["producer_names"]

_names = _load("names")
NAME_FIRST: list[str] = _names["name_first"]
NAME_LAST: list[str] = _names["name_last"]
NAME_ACCENTED: list[str] = _names["name_accented"]
RAP_PREFIX: list[str] = _names["rap_prefix"]
RAP_CORE: list[str] = _names["rap_core"]
BAND_ADJ: list[str] = _names["band_adj"]
BAND_NOUN: list[str] = _names["band_noun"]
POP_STAGE: list[str] = _names["pop_stage"]
COUNTRY_SUFFIX: list[str] = _names["country_suffix"]
MISC_AUTHORS: list[str] = _names["misc_authors"]

_misc_forms = _load("misc_forms")
SCRIPT_SPEAKERS: list[str] = _misc_forms["script_speakers"]
SCRIPT_DIRECTIONS: list[str] = _misc_forms["script_directions"]
SCRIPT_LINES: list[str] = _misc_forms["script_lines"]
ESSAY_SENTENCES: list[str] = _misc_forms["essay_sentences"]

_variations = _load("variations")
ACCENT_WORDS: list[str] = _variations["accent_words"]
ACCENT_LINES: list[str] = _variations["accent_lines"]
EMOJI: list[str] = _variations["emoji"]
FOREIGN_LINES: dict[str, list[str]] = _variations["foreign_lines"]

_junk = _load("junk")
PLACEHOLDERS: list[str] = _junk["placeholders"]
INSTRUMENTAL_TEXTS: list[str] = _junk["instrumental_texts"]
STUDY_GUIDE: str = _junk["study_guide"]
SCRAPE: dict[str, Any] = _junk["scrape"]

_languages = _load("languages")
FOREIGN_HEADERS: dict[str, list[str]] = _languages["foreign_headers"]
FOREIGN_LANG_SHARES: dict[str, float] = _languages["foreign_lang_shares"]
NO_SPACE_LANGS: frozenset[str] = frozenset(_languages["no_space_langs"])
ROMAJI_SYLLABLES: list[str] = _languages["romaji_syllables"]
HANGUL_ROMAN_SYLLABLES: list[str] = _languages["hangul_roman_syllables"]

# Words a line may be split before: a prepositional or linking second half recombines with any
# first half ("Touch me" + "through the window pane"); a verb phrase would not.
_SPLIT_WORDS = frozenset(
    ["with", "in", "on", "from", "through", "to", "at", "like", "off", "up", "and", "while", "for", "of", "under", "over", "by", "into", "where", "when", "till", "until", "than"]
)  # fmt: skip
_WEAK_ENDINGS = frozenset(("the", "a", "an", "my", "your", "our", "this", "that"))


def halves(lines: list[str]) -> tuple[list[str], list[str]]:
    """First and second halves of the lines that split well (before a preposition or
    conjunction, with at least two words on each side), for recombining as new lines."""
    heads, tails = [], []
    for line in lines:
        words = line.split()
        cuts = [
            i
            for i in range(2, len(words) - 1)
            if words[i].lower() in _SPLIT_WORDS and words[i - 1].lower() not in _WEAK_ENDINGS
        ]
        if not cuts:
            continue
        i = min(cuts, key=lambda c: abs(c - len(words) / 2))
        heads.append(" ".join(words[:i]).rstrip(","))
        tails.append(" ".join(words[i:]))
    return heads, tails
