"""Where stage tokenize cuts a long song into rows (``--long-songs split``, the default of
``python -m pipeline.preprocess --stages tokenize``): at stanza starts, else line starts,
else token boundaries between characters, so the pieces joined give back the lyrics exactly.
"""

from __future__ import annotations

import numpy as np


def line_starts(text: str, ids, token_bytes: np.ndarray | None):
    """(stanza, line, safe): token positions 1..len(ids)-1 before which the song may be cut —
    where a stanza starts (after a blank line), where a line starts, and any token boundary that
    falls between characters. Slices of ``ids`` at these positions decode to the text's own
    characters, so the pieces joined give back the lyrics exactly. Without ``token_bytes`` (not a
    byte-level tokenizer) every boundary is taken as safe and there are no line positions."""
    n = len(ids)
    if token_bytes is None or n < 2:
        safe = np.arange(1, n)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), safe
    raw = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    ends = np.cumsum(token_bytes[np.asarray(ids, dtype=np.int64)])[:-1]  # byte after token i-1
    if ends[-1] >= len(raw):  # the table does not describe this text (should not happen)
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.arange(1, n)
    after_newline = raw[ends - 1] == 10
    before_blank = np.zeros(len(ends), dtype=bool)
    two = ends >= 2
    before_blank[two] = raw[ends[two] - 2] == 10
    safe = (raw[ends] & 0xC0) != 0x80  # not inside a UTF-8 character
    positions = np.arange(1, n)
    return (
        positions[after_newline & before_blank],
        positions[after_newline],
        positions[safe],
    )


def _largest(candidates: np.ndarray, lo: int, hi: int) -> int | None:
    """The largest candidate in [lo, hi], or None."""
    i = int(np.searchsorted(candidates, hi, side="right")) - 1
    if i >= 0 and candidates[i] >= lo:
        return int(candidates[i])
    return None


def cut_points(n_body: int, stanza, line, safe, seq_len: int, min_tokens: int) -> list[int]:
    """Where to cut a song of ``n_body`` lyrics tokens: [0, c1, ..., n_body].

    Every piece but the last holds up to seq_len - 1 lyrics tokens (plus the genre token), the
    last up to seq_len - 2 (plus eos). Each cut is the latest stanza start that leaves the piece
    at least half full, else the latest line start, else the latest safe token boundary; no cut
    leaves a piece (or the rest) of min_tokens tokens or fewer, so a would-be short last piece
    joins its neighbour by moving the cut earlier.
    """
    cuts = [0]
    start = 0
    cap = seq_len - 1
    while n_body - start > seq_len - 2:
        hi = min(start + cap, n_body - min_tokens)
        cut = (
            _largest(stanza, start + cap // 2, hi)
            or _largest(line, start + min_tokens, hi)
            or _largest(safe, start + min_tokens, hi)
            or _largest(safe, start + 1, min(start + cap, n_body - 1))
            or min(start + cap, n_body - 1)
        )
        cuts.append(cut)
        start = cut
    cuts.append(n_body)
    return cuts
