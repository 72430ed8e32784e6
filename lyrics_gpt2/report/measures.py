"""One function per song metric of the evaluation report (``python -m lyrics_gpt2.report``).

Each takes lyrics as plain text (lines separated by newlines, a blank line between stanzas) and
returns a number; the report averages the per-song ones over a genre's songs. Words are
lower-cased runs of letters, digits and apostrophes, so punctuation and case never count.
Memorisation (copied n-grams) needs the training songs and lives in lyrics_gpt2.report.ngrams.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

WORD = re.compile(r"[a-z0-9']+")
WORD_CORE = re.compile(r"[a-z0-9](?:[a-z0-9']*[a-z0-9])?")


def words(text: str) -> list[str]:
    """Runs of letters, digits and apostrophes, apostrophes stripped at both ends, empty ones
    dropped (one regex does it all: a word starts and ends with a letter or digit)."""
    return WORD_CORE.findall(text.lower())


def lines(text: str) -> list[str]:
    """The song's non-blank lines, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def ngrams(seq: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]


def distinct_n(text: str, n: int) -> float:
    """Distinct word n-grams / all word n-grams of one song (1.0 = no n-gram repeats); 0 when
    the song is shorter than n words."""
    grams = ngrams(words(text), n)
    return len(set(grams)) / len(grams) if grams else 0.0


def repeated_line_share(text: str) -> float:
    """Share of the song's lines whose words equal another line's (the chorus lines)."""
    keys = [" ".join(words(line)) for line in lines(text)]
    keys = [k for k in keys if k]
    if not keys:
        return 0.0
    counts = Counter(keys)
    return sum(1 for k in keys if counts[k] > 1) / len(keys)


def lines_per_song(text: str) -> float:
    return float(len(lines(text)))


def words_per_song(text: str) -> float:
    return float(len(words(text)))


def words_per_line(text: str) -> float:
    """Mean words per non-blank line (0 for an empty song)."""
    rows = lines(text)
    return sum(len(words(r)) for r in rows) / len(rows) if rows else 0.0


@lru_cache(maxsize=200_000)
def rhyming_parts(word: str) -> frozenset[str]:
    """The word's endings from its last stressed vowel, one per CMU-dictionary pronunciation."""
    import pronouncing

    return frozenset(pronouncing.rhyming_part(p) for p in pronouncing.phones_for_word(word))


def rhyme(a: str, b: str) -> bool | None:
    """Whether two words rhyme (share a rhyming part); None when either is not in the CMU
    dictionary. A word does not rhyme with itself: a repeated line is a chorus, not a rhyme."""
    pa, pb = rhyming_parts(a), rhyming_parts(b)
    if not pa or not pb:
        return None
    return a != b and bool(pa & pb)


def rhyme_rate(text: str) -> float:
    """Share of consecutive line pairs (within a stanza) whose last words rhyme, among the pairs
    whose last words are both in the CMU dictionary; 0 when there is no such pair."""
    verdicts = []
    for stanza in re.split(r"\n\s*\n", text):
        last = [ws[-1] for ws in (words(line) for line in lines(stanza)) if ws]
        verdicts += [rhyme(a, b) for a, b in itertools.pairwise(last)]
    judged = [v for v in verdicts if v is not None]
    return sum(judged) / len(judged) if judged else 0.0


def self_bleu(texts: Sequence[str], max_n: int = 4) -> float:
    """Mean BLEU-``max_n`` of each song against all the others as references (1.0 = the songs
    are copies of each other, near 0 = unrelated). Clipping uses the largest count of each
    n-gram among the other songs; a zero precision counts as 0.1 match (NLTK's method1);
    brevity penalty against the closest reference length. 0 with fewer than two songs."""
    toks = [words(t) for t in texts]
    toks = [t for t in toks if t]
    if len(toks) < 2:
        return 0.0
    # The two largest counts of each n-gram and which song holds the largest: "the most any
    # other song has" is then the largest, or the second largest for the song holding it.
    counts = [[Counter(ngrams(t, n)) for t in toks] for n in range(1, max_n + 1)]
    top = []
    for per_song in counts:
        best: dict[tuple, list] = {}
        for i, c in enumerate(per_song):
            for g, k in c.items():
                b = best.setdefault(g, [0, -1, 0])  # [max, song of max, second max]
                if k > b[0]:
                    b[2], b[0], b[1] = b[0], k, i
                elif k > b[2]:
                    b[2] = k
        top.append(best)
    lengths = sorted(len(t) for t in toks)
    scores = []
    for i, t in enumerate(toks):
        logp = 0.0
        for n in range(max_n):
            c = counts[n][i]
            total = sum(c.values())
            if total == 0:
                logp += math.log(0.1 / 1) / max_n
                continue
            clipped = 0
            for g, k in c.items():
                b = top[n][g]
                clipped += min(k, b[2] if b[1] == i else b[0])
            logp += math.log(max(clipped, 0.1) / total) / max_n
        others = list(lengths)
        others.remove(len(t))
        ref = min(others, key=lambda r: (abs(r - len(t)), r))
        bp = 1.0 if len(t) > ref else math.exp(1 - ref / len(t))
        scores.append(bp * math.exp(logp))
    return sum(scores) / len(scores)


# Per-song metrics the report averages, by their report.json names.
PER_SONG = {
    "distinct_1": lambda t: distinct_n(t, 1),
    "distinct_2": lambda t: distinct_n(t, 2),
    "repeated_line_share": repeated_line_share,
    "words_per_line": words_per_line,
    "lines_per_song": lines_per_song,
    "words_per_song": words_per_song,
    "rhyme_rate": rhyme_rate,
}

# How songs are shaped, compared between sources and with held-out songs (the sampling sweep's
# closeness objective reads the same list), and every row of the report's table, in order.
SHAPE_ROWS = (
    "distinct_1",
    "distinct_2",
    "self_bleu",
    "repeated_line_share",
    "words_per_line",
    "lines_per_song",
    "words_per_song",
    "rhyme_rate",
)
REPORT_ROWS = ("fidelity", "copied_ngram_share", "max_copied_words", *SHAPE_ROWS, "ended_share")
