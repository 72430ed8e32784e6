"""Song structure through cleaning: stanzas, their section kinds, and instruction lines expanded.

:func:`pipeline.clean.clean_lyrics` replaces each header line (``[Chorus: A]``, ``Verse 2:``) and
instruction line ("Repeat chorus", "(x2)", "— 2x") by a marker, then :func:`assemble` turns the
lines and markers into the song (tests/test_clean_structure.py):

- a marker is always a stanza break: a header directly under a lyric line never joins two stanzas;
- the last header before a stanza gives its kind (lyrics_gpt2.songcraft.sections.header_kind, the
  closed set intro, verse, pre-chorus, chorus, hook, refrain, bridge, outro, other);
- an instruction is expanded into the section it names when the song has one before it ("Repeat
  chorus" -> the last chorus again; ``[Hook] 2x`` over lyrics -> that stanza twice; ``[Chorus]``
  with no lines of its own -> the last chorus again), else dropped and counted.

Stage 1 (``python -m pipeline.preprocess --stages chunks``) stores the kinds per song as the
``sections`` column (one code per stanza, lyrics_gpt2.songcraft.sections.CODES) and the counts in
its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lyrics_gpt2.songcraft.sections import KINDS, MAX_REPEAT, REPEATING, encode_kinds

HEAD, REPEAT = "head", "repeat"


@dataclass
class Structure:
    """What :func:`assemble` found in one song (filled in by clean_lyrics when passed)."""

    kinds: list[str | None] = field(default_factory=list)  # one per stanza, None: no header
    expanded: int = 0  # instructions replaced by the section they name
    dropped: int = 0  # instructions naming nothing known: removed

    @property
    def codes(self) -> str:
        return encode_kinds(self.kinds)


def _split_pending(pending: list[tuple]) -> tuple[list[tuple], tuple | None]:
    """(instructions, the header that labels the next stanza) from the markers between two
    stanzas: the last header labels; an earlier header of a repeating kind, with no lines of its
    own, is an instruction to sing that section again."""
    label = pending[-1] if pending and pending[-1][0] == HEAD else None
    rest = pending[:-1] if label else pending
    todo = [m for m in rest if m[0] == REPEAT or (m[1] in REPEATING)]
    return todo, label


def assemble(items: list, out: Structure | None = None) -> str:
    """Lines (``""`` = blank) and markers (``(HEAD|REPEAT, kind|None, count)``) -> the song
    text, one blank line between stanzas; ``out`` receives the kinds and instruction counts."""
    stanzas: list[tuple[str | None, list[str]]] = []
    last_of: dict[str, list[str]] = {}
    expanded = dropped = 0
    pending: list[tuple] = []
    current: list[str] | None = None  # lines of the open stanza
    current_kind: str | None = None
    current_count = 1
    broken = True  # a blank line or marker since the last lyric line

    def close() -> None:
        if current:
            for _ in range(current_count):
                stanzas.append((current_kind, current))
            if current_kind:
                last_of[current_kind] = current

    def run(todo: list[tuple]) -> None:
        nonlocal expanded, dropped
        for _, kind, count in todo:
            if kind in last_of:
                stanzas.extend((kind, last_of[kind]) for _ in range(min(count, MAX_REPEAT)))
                expanded += 1
            else:
                dropped += 1

    for item in items:
        if not broken and item.__class__ is str and item:
            current.append(item)  # type: ignore[union-attr]  # the common case first
            continue
        if item.__class__ is tuple:
            pending.append(item)
            broken = True
            continue
        if not item:
            broken = True
            continue
        if broken:
            close()
            todo, label = _split_pending(pending)
            run(todo)
            pending = []
            current = [item]
            current_kind = label[1] if label else None
            current_count = label[2] if label else 1
            if label and current_count > 1:
                expanded += 1
            broken = False
    close()
    if pending:
        todo, label = _split_pending(pending)
        if label and label[1] in REPEATING:
            todo.append(label)
        run(todo)
    if out is not None:
        out.kinds = [k for k, _ in stanzas]
        out.expanded += expanded
        out.dropped += dropped
    return "\n\n".join("\n".join(lines) for _, lines in stanzas)


def kind_counts(codes: str) -> dict[str, int]:
    """Stanzas per kind (and ``none``) in one song's code string."""
    from lyrics_gpt2.songcraft.sections import KIND_OF_CODE

    counts = dict.fromkeys((*KINDS, "none"), 0)
    for c in codes:
        counts[KIND_OF_CODE.get(c, "none")] += 1
    return counts
