"""Syllables per word and line: the CMU dictionary through ``pronouncing``, and for words it
lacks a count of vowel groups (a silent final "e" aside). Used by ``python -m
lyrics_gpt2.generate --syllables 8`` and the report's syllable accuracy."""

from __future__ import annotations

import re
from functools import lru_cache

from lyrics_gpt2.songcraft.rhyme import words

_VOWELS = re.compile(r"[aeiouy]+")


@lru_cache(maxsize=200_000)
def word_syllables(word: str) -> int:
    """Syllables of one lower-case word: its first CMU pronunciation, else vowel groups."""
    import pronouncing

    phones = pronouncing.phones_for_word(word)
    if phones:
        return max(1, pronouncing.syllable_count(phones[0]))
    groups = len(_VOWELS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and groups > 1:
        groups -= 1
    return max(1, groups) if any(c.isalpha() for c in word) else 1


def line_syllables(line: str) -> int:
    return sum(word_syllables(w) for w in words(line))


def parse_syllables(spec: str) -> list[int]:
    """``"8"`` or ``"8,8,6,6"`` -> [8] / [8, 8, 6, 6] (one per line of a stanza, repeating);
    a ValueError naming the problem."""
    try:
        counts = [int(x) for x in spec.replace(" ", "").split(",")]
    except ValueError:
        raise ValueError(
            f"syllables {spec!r}: write a number or a comma list, e.g. 8 or 8,8,6,6"
        ) from None
    if not counts or any(not 1 <= c <= 40 for c in counts):
        raise ValueError(f"syllables {spec!r}: each count must be between 1 and 40")
    return counts


def syllable_accuracy(texts, targets: list[int], tolerance: int = 1) -> tuple[int, int]:
    """(lines within ``tolerance`` of their target, lines) over songs written with
    ``--syllables``; line i of a stanza is asked for ``targets[i % len(targets)]``."""
    hits = total = 0
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            rows = [r.strip() for r in stanza.splitlines() if r.strip()]
            for i, row in enumerate(rows):
                total += 1
                hits += abs(line_syllables(row) - targets[i % len(targets)]) <= tolerance
    return hits, total
