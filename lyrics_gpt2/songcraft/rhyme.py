"""Whether words rhyme, and how a song's lines rhyme: the one home of rhyme for generation
(``python -m lyrics_gpt2.generate --rhyme-scheme AABB``) and the evaluation report
(``python -m lyrics_gpt2.report``).

Pronunciation comes from the CMU dictionary through ``pronouncing``: two words rhyme when they
share a rhyming part (the phones from the last stressed vowel on). A word the dictionary lacks
falls back to its spelling: the last vowel group and what follows ("-ight", "-ay"), so made-up
and slang words are judged too. A word never rhymes with itself (a repeated line is a chorus).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import lru_cache

WORD = re.compile(r"[a-z0-9']+")
# A word starts and ends with a letter or digit: one regex strips edge apostrophes too (faster
# than findall + strip on a corpus).
WORD_CORE = re.compile(r"[a-z0-9](?:[a-z0-9']*[a-z0-9])?")
_SPELLING = re.compile(r"[aeiouy]+[^aeiouy]*$")


def words(text: str) -> list[str]:
    """Lower-cased runs of letters, digits and apostrophes (apostrophes at the edges dropped)."""
    return WORD_CORE.findall(text.lower())


def lines(text: str) -> list[str]:
    """The song's non-blank lines, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def last_word(line: str) -> str | None:
    ws = words(line)
    return ws[-1] if ws else None


@lru_cache(maxsize=200_000)
def rhyming_parts(word: str) -> frozenset[str]:
    """The word's endings from its last stressed vowel, one per CMU-dictionary pronunciation."""
    import pronouncing

    return frozenset(pronouncing.rhyming_part(p) for p in pronouncing.phones_for_word(word))


@lru_cache(maxsize=200_000)
def spelling_key(word: str) -> str:
    """The spelling fallback: the last vowel group and the letters after it ("night" -> "ight");
    the whole word when it has no vowel."""
    m = _SPELLING.search(word.lower())
    return m.group(0) if m else word.lower()


def rhyme(a: str, b: str) -> bool | None:
    """Whether two words rhyme by the CMU dictionary; None when either is not in it."""
    pa, pb = rhyming_parts(a), rhyming_parts(b)
    if not pa or not pb:
        return None
    return a != b and bool(pa & pb)


def rhymes(a: str, b: str) -> bool:
    """Whether two words rhyme: by pronunciation when the dictionary knows both, else by
    spelling (:func:`spelling_key`, at least two letters)."""
    verdict = rhyme(a, b)
    if verdict is not None:
        return verdict
    ka, kb = spelling_key(a), spelling_key(b)
    return a != b and len(ka) >= 2 and ka == kb


def rhyme_key(word: str) -> frozenset[str]:
    """Keys two rhyming words share: CMU rhyming parts, else ``~`` + the spelling key."""
    return rhyming_parts(word) or frozenset({"~" + spelling_key(word)})


def rhyme_rate(text: str) -> float:
    """Share of consecutive line pairs (within a stanza) whose last words rhyme, among the pairs
    whose last words are both in the CMU dictionary; 0 when there is no such pair."""
    verdicts = []
    for stanza in re.split(r"\n\s*\n", text):
        last = [ws[-1] for ws in (words(line) for line in lines(stanza)) if ws]
        verdicts += [rhyme(a, b) for a, b in itertools.pairwise(last)]
    judged = [v for v in verdicts if v is not None]
    return sum(judged) / len(judged) if judged else 0.0


def rhyme_density(text: str, window: int = 4) -> float:
    """Share of lines whose last word rhymes (CMU, then spelling) with the last word of one of
    the ``window - 1`` lines before it in the same stanza, so ABAB counts as well as AABB; 0 for
    a song of no judged line. Lines after a stanza's first have a chance to rhyme."""
    hits = judged = 0
    for stanza in re.split(r"\n\s*\n", text):
        last = [ws[-1] for ws in (words(line) for line in lines(stanza)) if ws]
        for i in range(1, len(last)):
            judged += 1
            hits += any(rhymes(last[i], prev) for prev in last[max(0, i - window + 1) : i])
    return hits / judged if judged else 0.0


def parse_scheme(scheme: str) -> str:
    """``"AABB"``, ``"abab"``, ``"A A B B"`` -> ``"AABB"``; a ValueError for anything but
    letters (one per line of a stanza, the pattern repeating for longer stanzas)."""
    letters = "".join(scheme.split()).upper()
    if not letters or not letters.isalpha() or not letters.isascii():
        raise ValueError(
            f"rhyme scheme {scheme!r}: write one letter per line, e.g. AABB, ABAB, ABCB, AAAA"
        )
    return letters


def scheme_groups(n_lines: int, scheme: str) -> list[tuple[int, str]]:
    """Per line of a stanza: (repetition of the pattern, letter); lines of equal pairs must
    rhyme. ``scheme_groups(6, "AABB")`` -> (0,A) (0,A) (0,B) (0,B) (1,A) (1,A)."""
    return [(i // len(scheme), scheme[i % len(scheme)]) for i in range(n_lines)]


def scheme_pairs(stanza_lines: Sequence[str], scheme: str) -> list[tuple[str, str]]:
    """The (last word, last word) pairs a scheme asks to rhyme in one stanza: each line with the
    line before it of the same group. A letter used once (ABCB's A and C) asks for nothing."""
    pairs = []
    last_of: dict[tuple[int, str], str] = {}
    for line, group in zip(stanza_lines, scheme_groups(len(stanza_lines), scheme), strict=True):
        word = last_word(line)
        if word is None:
            continue
        if group in last_of:
            pairs.append((last_of[group], word))
        last_of[group] = word
    return pairs


def scheme_accuracy(texts: Sequence[str], scheme: str) -> tuple[int, int]:
    """(pairs that rhyme, pairs asked) over songs written with ``--rhyme-scheme scheme``."""
    hits = asked = 0
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            for a, b in scheme_pairs(lines(stanza), scheme):
                asked += 1
                hits += rhymes(a, b)
    return hits, asked
