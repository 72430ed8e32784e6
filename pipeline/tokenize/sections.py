"""Section tokens in stage tokenize (``python -m pipeline.preprocess --sections``): each song's
ids with its stanzas' section tokens ([Verse], [Chorus], ...) before them, and the rule that a
long song is never cut between a section token and its stanza (pipeline/tokenize/encode.py runs
them)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lyrics_gpt2.songcraft.sections import training_kinds


def encode_with_sections(
    encoder, texts: list[str], codes: list[str], section_ids: Mapping[str, int]
) -> list[list[int]]:
    """Each song's ids with its stanza's section token before every stanza: the stanzas (and
    the blank line after each but the last) are encoded one by one, so the ids decode, section
    tokens skipped, to the lyrics exactly. Kinds: lyrics_gpt2.songcraft.sections.training_kinds."""
    pieces: list[str] = []
    heads: list[list[int]] = []
    for text, song_codes in zip(texts, codes, strict=True):
        parts = text.split("\n\n")
        kinds = training_kinds(song_codes or "", parts)
        heads.append([section_ids[k] for k in kinds])
        pieces.extend(p + "\n\n" for p in parts[:-1])
        pieces.append(parts[-1])
    encoded = encoder.encode_batch(pieces)
    out, at = [], 0
    for head in heads:
        ids: list[int] = []
        for token in head:
            ids.append(token)
            ids.extend(encoded[at])
            at += 1
        out.append(ids)
    return out


def not_after(positions: np.ndarray, ids: list[int], tokens: np.ndarray) -> np.ndarray:
    """The cut positions whose previous token is not one of ``tokens``."""
    if len(positions) == 0:
        return positions
    before = np.asarray(ids, dtype=np.int64)[positions - 1]
    return positions[~np.isin(before, tokens)]
