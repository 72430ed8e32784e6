"""Whole songs that are not lyrics, which stage 1 drops before cleaning them
(``python -m pipeline.preprocess --stages chunks``; reasons ``placeholder`` and
``translation_page`` in its manifest and drop log).
"""

from __future__ import annotations

import re

# Placeholder texts seen in the Genius dump instead of lyrics. A text is a placeholder when,
# lowercased with runs of whitespace made single spaces, it is at most PLACEHOLDER_MAX_CHARS long
# and one of these patterns matches it (re.fullmatch for the first group, re.search for the
# second). Longer texts are real songs that may well mention these words.
PLACEHOLDER_MAX_CHARS = 400
PLACEHOLDER_WHOLE = (
    r"\W*loading\W*",  # a page that never finished loading
    r"\W*save\W+cancel\W*",  # the edit-box buttons
    r"\W*instrumental\W*",  # "[Instrumental]", "(Instrumental)": no words to learn
    r"\W*(?:tba|tbd|coming soon|lyrics coming soon|no lyrics|n/?a|\?+)\W*",
    r"\W*lyrics? not found\W*",  # "Lyrics not found."
)
PLACEHOLDER_SEARCH = (
    # "Lyrics for this song have yet to be released. Please check back once it is released."
    r"lyrics? (?:for this song |to this song |of this song )?(?:has|have|is|are|was|were)?\s?"
    r"(?:not )?(?:yet )?(?:to )?(?:be |been )?(?:released|available|transcribed)",
    r"(?:song|track|album|lyrics) (?:is |are |has |have )?(?:not|n't) (?:yet )?(?:been )?released",
    r"this (?:song|track) is unreleased",
    r"this (?:song|track) is (?:an |a )?instrumental",
    r"lyrics (?:will be|are) (?:added|available|up|posted) (?:soon|later|when)",
    r"submit (?:the |your )?lyrics",
    r"requests? (?:for )?(?:the )?lyrics",
    r"we (?:don't|do not) have (?:the )?lyrics",
    r"lyrics (?:are )?(?:not |un)available",
)
_WHOLE = re.compile("|".join(f"(?:{p})" for p in PLACEHOLDER_WHOLE))
_SEARCH = re.compile("|".join(f"(?:{p})" for p in PLACEHOLDER_SEARCH))


def is_placeholder(text: str) -> bool:
    """True for a short text that is a known placeholder rather than lyrics."""
    if len(text) > PLACEHOLDER_MAX_CHARS * 2:
        return False
    flat = " ".join(text.lower().split())
    if len(flat) > PLACEHOLDER_MAX_CHARS:
        return False
    return bool(_WHOLE.fullmatch(flat) or _SEARCH.search(flat))


# Genius hosts translations and romanizations of songs as pages by pseudo-artists such as
# "Genius English Translations" or "Genius Romanizations": not the song as written.
_TRANSLATION_ARTIST = re.compile(r"^\s*genius\b.*\b(?:translations?|romanizations?)\b", re.I)


def is_translation_page(artist: str) -> bool:
    """True for Genius' translation/romanization pseudo-artists."""
    return bool(_TRANSLATION_ARTIST.search(artist))
