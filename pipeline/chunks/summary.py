"""Stage chunks' summary: the share of lyric words each cleaning rule removed (manifest
``words_removed``) and the kept/dropped table printed at the end of
``python -m pipeline.preprocess --stages chunks``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

WORD_RULES = (
    ("square", "[..] headers and annotations"),
    ("curly", "{..}"),
    ("round", "(..), --parentheses drop"),
    ("round_annotation", "(x2), (Chorus), ... with --parentheses keep"),
    ("bare_label", "bare labels: Chorus:, Verse 1-"),
    ("open_header", "[Closing: Name, never closed"),
    ("hyphen_name_header", "Verse 1-(Name)"),
    ("transcription_gap", "??? gaps"),
)


def words_removed(junk: Counter) -> dict:
    """Lyric words of every cleaned song and the share each bracket kind and rule removed."""
    total = int(junk["words", "words"])
    return {
        "words": total,
        "share": {
            rule: round(junk["words", rule] / total, 6) if total else 0.0 for rule, _ in WORD_RULES
        },
        "rules": dict(WORD_RULES),
    }


def print_summary(manifest: dict, out: Path) -> None:
    """The kept/dropped table printed at the end of a run."""
    rows_in = manifest["rows_in"] or 1
    t = manifest["timings"]
    print(
        f"chunks: {manifest['rows_in']:,} rows read, {manifest['rows_out']:,} kept in "
        f"{len(manifest['chunks'])} chunks under {out} ({t['total_s']:.1f} s, "
        f"{t['rows_per_s'] or 0:,.0f} rows/s)"
    )
    print(f"  {'':30}{'rows':>12}{'share':>9}")
    for reason, count in manifest["dropped"].items():
        if count:
            print(f"  {'dropped ' + reason:<30}{count:>12,}{count / rows_in:>9.1%}")
    print(f"  {'kept':<30}{manifest['rows_out']:>12,}{manifest['rows_out'] / rows_in:>9.1%}")
    for tag, count in manifest["tags_out"].items():
        print(f"    {tag:<28}{count:>12,}")
    junk = {r: c for r, c in manifest.get("scrape_junk", {}).items() if c["lines"]}
    if junk:
        print(f"  {'scrape junk removed':30}{'lines':>12}{'songs':>9}")
        for rule, c in junk.items():
            print(f"    {rule:<28}{c['lines']:>12,}{c['songs']:>9,}")
    words = manifest.get("words_removed", {})
    shares = {r: v for r, v in words.get("share", {}).items() if v}
    if shares:
        print(f"  {'lyric words removed':30}{'share of ' + format(words['words'], ','):>21}")
        for rule, share in shares.items():
            print(f"    {rule:<28}{share:>21.2%}")
