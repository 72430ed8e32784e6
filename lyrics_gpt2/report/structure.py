"""The report's judgement of song structure and of songs written with controls (``python -m
lyrics_gpt2.report --songs songs.jsonl``, the songs of ``python -m lyrics_gpt2.generate --form ...
--rhyme-scheme AABB --format jsonl``): sections per song and their kinds, choruses that came back
equal, and the accuracy of requested rhymes, syllables (within one) and forms, each with a 95%
Wilson interval and the number of cases it rests on."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from lyrics_gpt2.songcraft.rhyme import scheme_accuracy
from lyrics_gpt2.songcraft.sections import REPEATING
from lyrics_gpt2.songcraft.syllables import syllable_accuracy

MIN_CASES = 20  # fewer cases than this: the share is printed as too few to judge


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of hits / n; (0, 1) for n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share(hits: int, n: int) -> dict:
    lo, hi = wilson(hits, n)
    return {"hits": hits, "cases": n, "share": hits / n if n else None, "ci95": [lo, hi],
            "enough": n >= MIN_CASES}  # fmt: skip


def chorus_copies(sections: Sequence[list[dict] | None]) -> tuple[int, int]:
    """(repeats equal to their first, repeats): each chorus, hook or refrain after the first of
    its kind in a song, compared with that first one's lines."""
    equal = repeats = 0
    for song in sections:
        first: dict[str, str] = {}
        for part in song or []:
            if part["kind"] in REPEATING:
                if part["kind"] in first:
                    repeats += 1
                    equal += part["text"] == first[part["kind"]]
                else:
                    first[part["kind"]] = part["text"]
    return equal, repeats


def section_figures(sections: Sequence[list[dict] | None]) -> dict | None:
    """Sections per song, their kinds, and how often a repeated chorus/hook/refrain was the
    same lines as its first; None when no song has sections."""
    have = [s for s in sections if s]
    if not have:
        return None
    kinds: Counter = Counter(part["kind"] for song in have for part in song)
    equal, repeats = chorus_copies(have)
    return {
        "songs": len(have),
        "sections_per_song": sum(len(s) for s in have) / len(have),
        "kinds": dict(kinds.most_common()),
        "repeats_equal_to_first": share(equal, repeats),
    }


def control_figures(texts: Sequence[str], controls: Sequence[dict | None],
                    sections: Sequence[list[dict] | None]) -> dict | None:  # fmt: skip
    """Accuracy on what was asked, over the songs that asked (``controls`` per song, as
    generate's JSONL writes them); None when none did."""
    out: dict = {}
    by_scheme: dict[str, list[str]] = {}
    by_syll: dict[tuple, list[str]] = {}
    form_hits = form_n = 0
    for text, c, parts in zip(texts, controls, sections, strict=True):
        if not c:
            continue
        if c.get("rhyme_scheme"):
            by_scheme.setdefault(c["rhyme_scheme"], []).append(text)
        if c.get("syllables"):
            by_syll.setdefault(tuple(c["syllables"]), []).append(text)
        if c.get("form"):
            form_n += 1
            form_hits += [p["kind"] for p in parts or []] == list(c["form"])
    if by_scheme:
        hits = n = 0
        for scheme, group in by_scheme.items():
            h, k = scheme_accuracy(group, scheme)
            hits, n = hits + h, n + k
        out["rhyme_pairs"] = share(hits, n)
    if by_syll:
        hits = n = 0
        for targets, group in by_syll.items():
            h, k = syllable_accuracy(group, list(targets))
            hits, n = hits + h, n + k
        out["syllables_within_1"] = share(hits, n)
    if form_n:
        out["form_followed"] = share(form_hits, form_n)
    return out or None


def describe(name: str, fig: dict) -> str:
    """``rhyme pairs 0.981 (157/160, 95% CI 0.946-0.994)``, or that there are too few cases."""
    if not fig["cases"]:
        return f"{name}: no cases"
    lo, hi = fig["ci95"]
    text = (f"{name} {fig['share']:.3f} ({fig['hits']}/{fig['cases']}, 95% CI "
            f"{lo:.3f}-{hi:.3f})")  # fmt: skip
    return text if fig["enough"] else text + f" -- too few cases (< {MIN_CASES}) to judge"
