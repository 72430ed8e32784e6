"""Leftover cleaning rules seen on real Genius songs, and the parentheses a user may keep
(tests/pipeline/test_leftovers.py). pipeline/clean.py's :func:`clean_lyrics` calls them:

    python -m pipeline.preprocess --stages chunks                      # --parentheses drop
    python -m pipeline.preprocess --stages chunks --parentheses keep   # sung (..) text stays

- "Lyrics not found." as the whole song is a placeholder (clean.PLACEHOLDER_WHOLE), dropped.
- :func:`is_open_header`: a header whose bracket never closes, ``[Closing: Name`` (line removed).
- :func:`is_hyphen_name_header`: ``Verse 1-(Name)``, ``Chorus - (A & B)`` (line removed).
- :func:`remove_empty_pairs`: ``[]``, ``( )`` left by nested headers ``[[Chorus: X & [?]]](..)``.
- :func:`remove_gaps`: ``???`` standing for words the transcriber could not hear.
- :func:`remove_annotations`: with ``--parentheses keep``, only annotation-like parentheses go:
  ``(x2)``, ``(Chorus)``, ``(Repeat)``, ``(Produced by ..)``; backing vocals and answers such as
  "(I'm not sorry)" stay.

Each returns what it removed in words, so stage 1 can report the share of lyric words every rule
removed (``words_removed`` in DIR/chunks/manifest.json).
"""

from __future__ import annotations

import re

LEFTOVER_RULES = ("open_header", "hyphen_name_header", "empty_brackets", "transcription_gap")

# "[Closing: Name", "[Verse 2: A & B": a square opener, a label of up to four words, a colon, at most
# 60 more characters and no closer anywhere on the line.
_OPEN_HEADER = re.compile(r"\[[^\W\d_][\w'. -]{0,30}(?: \d+)?:[^\]})\[{(]{0,60}")
_SECTIONS = (
    r"(?:verse|chorus|pre-?chorus|post-?chorus|hook|pre-?hook|bridge|intro|outro|refrain"
    r"|interlude|breakdown|skit|closing|opening)"
)
_HYPHEN_NAME = re.compile(rf"{_SECTIONS}(?: ?\d+)? ?[-–—] ?\([^()]{{1,80}}\)", re.I)
_EMPTY_PAIR = re.compile(r" ?(?:\[\s*\]|\(\s*\)|\{\s*\})")
_GAP = re.compile(r"(?<!\S)\?{2,}(?!\S) ?")
# Parentheses that annotate rather than sing: a repeat count, a section name, a repeat
# instruction, a credit.
_ANNOTATION = re.compile(
    r" ?\((?:[x×] ?\d+|\d+ ?[x×]|(?:repeat|repeats)\b[^()]*|produced by\b[^()]*|prod\. [^()]*"
    rf"|{_SECTIONS}(?: ?\d+)?(?::[^()]*)?(?: ?[x×] ?\d+)?)\)",
    re.I,
)


def is_open_header(line: str) -> bool:
    """A header whose bracket is never closed: ``[Closing: Name``, ``[Verse 2: A & B``."""
    return line[0] == "[" and _OPEN_HEADER.fullmatch(line) is not None


def is_hyphen_name_header(line: str) -> bool:
    """``Verse 1-(Name)``: a hyphen header with its performers in parentheses."""
    return len(line) <= 100 and _HYPHEN_NAME.fullmatch(line) is not None


def _subn_words(pattern: re.Pattern[str], line: str) -> tuple[str, int]:
    out = pattern.sub("", line)
    if out is line or out == line:
        return line, 0
    return out, max(0, len(line.split()) - len(out.split()))


def remove_empty_pairs(line: str) -> tuple[str, bool]:
    """``[]`` and other empty pairs gone; whether there were any."""
    if "[]" not in line and "()" not in line and "{}" not in line and "[ ]" not in line:
        return line, False
    out = _EMPTY_PAIR.sub("", line)
    return out, out != line


def remove_gaps(line: str) -> tuple[str, int]:
    """``???`` (two or more question marks standing alone) gone; the gaps removed."""
    if "??" not in line:
        return line, 0
    out, n = _GAP.subn("", line)
    return out.strip(), n


def remove_annotations(line: str) -> tuple[str, int]:
    """Annotation-like parentheses gone (``--parentheses keep``); the words removed."""
    if "(" not in line:
        return line, 0
    return _subn_words(_ANNOTATION, line)


def is_credit(line: str) -> bool:
    """What is left of a header line such as ``[Chorus: X](Name)`` once its square brackets
    went: one parenthesised group and nothing else (``--parentheses keep``); an empty pair
    left by a nested header, ``[](Name)``, aside."""
    line = _EMPTY_PAIR.sub("", line).strip()
    return line[:1] == "(" and line[-1:] == ")" and line.count("(") == 1


def after_brackets(line: str, keep_parentheses: bool, touched, removed) -> str:
    """The leftovers of one line once its brackets are handled: annotation-like parentheses
    (``keep_parentheses``), empty pairs, ``???`` gaps. ``touched`` (a list or None) gets each rule
    that fired, ``removed`` (a Counter or None) the words each removed."""
    if keep_parentheses:
        line, words = remove_annotations(line)
        if words and removed is not None:
            removed["round_annotation"] += words
    line, had = remove_empty_pairs(line)
    if had and touched is not None:
        touched.append("empty_brackets")
    line, gaps = remove_gaps(line)
    if gaps:
        if touched is not None:
            touched.append("transcription_gap")
        if removed is not None:
            removed["transcription_gap"] += gaps
    return line


def leftover_header(line: str, touched, removed) -> bool:
    """True (the rule noted) when the line is a header the bracket rules miss."""
    if line[0] == "[" and is_open_header(line):
        rule = "open_header"
    elif line[0].isalpha() and "(" in line and is_hyphen_name_header(line):
        rule = "hyphen_name_header"
    else:
        return False
    if touched is not None:
        touched.append(rule)
    if removed is not None:
        removed[rule] += len(line.split())
    return True
