"""The song forms a model learned, and drawing one for a song the user gave no ``--form``.

A model trained on data with section tokens (``python -m pipeline.preprocess --sections``) gets a
``forms.json`` beside its weights (lyrics_gpt2/train.py writes it): for each genre, the forms of
its training songs (the order of their section tokens, one code per stanza as in
lyrics_gpt2.songcraft.sections: ``"vcvcbc"``), the most common ones with their counts.
``python -m lyrics_gpt2.generate`` (``--form auto``, its default) draws each song's form from its
genre's table, weighted by the counts, so songs come out with the sections, lengths and returning
choruses of the songs the model learned from; ``--form free`` leaves the form to the model.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lyrics_gpt2.songcraft.sections import CODES, KIND_OF_CODE

FORMS_FILE = "forms.json"
TOP_FORMS = 64  # per genre: the long tail of one-off forms is left out (coverage says how much)
MIN_SONGS = 20  # fewer training songs of a genre than this: too few forms to draw from
_BATCH = 10_000


def count_forms(split, section_ids: Mapping[str, int], top: int = TOP_FORMS) -> dict:
    """``{genre: {"songs": n, "coverage": share, "forms": [[codes, count], ...]}}`` of a tokenized
    split (a datasets.Dataset with input_ids, genre, id and piece), read in batches of rows.
    A long song's pieces are joined in piece order; coverage is the share of the genre's songs
    whose form is among the ``top`` kept."""
    table = np.full(max(section_ids.values()) + 1, "", dtype=object)
    for kind, token in section_ids.items():
        table[token] = CODES[kind]
    wanted = np.array(sorted(section_ids.values()), dtype=np.int64)
    parts: dict[tuple[str, str], list[tuple[int, str]]] = {}
    arrow = split.with_format("arrow")
    for batch in arrow.iter(batch_size=_BATCH):
        ids = batch["input_ids"].combine_chunks()
        values = ids.flatten().to_numpy(zero_copy_only=False)
        offsets = ids.offsets.to_numpy()
        hits = np.flatnonzero(np.isin(values, wanted))
        row_of = np.searchsorted(offsets, hits, side="right") - 1
        codes = [""] * len(batch)
        for row, token in zip(row_of.tolist(), values[hits].tolist(), strict=True):
            codes[row] += table[token]
        genres = batch["genre"].to_pylist()
        songs = batch["id"].to_pylist()
        pieces = batch["piece"].to_pylist() if "piece" in batch.column_names else [0] * len(batch)
        for genre, song, piece, code in zip(genres, songs, pieces, codes, strict=True):
            parts.setdefault((genre, song), []).append((piece, code))
    per_genre: dict[str, Counter] = {}
    for (genre, _), song_parts in parts.items():
        form = "".join(code for _, code in sorted(song_parts))
        if form:
            per_genre.setdefault(genre, Counter())[form] += 1
    out = {}
    for genre, counts in sorted(per_genre.items()):
        n = sum(counts.values())
        kept = counts.most_common(top)
        out[genre] = {
            "songs": n,
            "coverage": round(sum(c for _, c in kept) / n, 4),
            "forms": [[form, count] for form, count in kept],
        }
    return out


def write_forms(out: Path, split, section_ids: Mapping[str, int]) -> bool:
    """Write ``out/forms.json`` for a model whose data has section tokens; False when it has
    none (nothing is written)."""
    if not section_ids:
        return False
    from lyrics_gpt2.fileio import write_json

    write_json(out / FORMS_FILE, {"genres": count_forms(split, section_ids)})
    return True


def load_forms(model_dir: Path) -> dict[str, dict]:
    """The genres' form tables of a model folder ({} when it has none, or when unreadable: the
    model then writes its own form, as before forms were recorded)."""
    path = Path(model_dir) / FORMS_FILE
    try:
        genres = json.loads(path.read_text(encoding="utf-8")).get("genres", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {g: t for g, t in genres.items() if t.get("songs", 0) >= MIN_SONGS and t.get("forms")}


def form_rng(seed: int, genre: str, index: int) -> np.random.Generator:
    """The draw of song ``index``'s form under ``seed``: its own stream, apart from its tokens'
    (lyrics_gpt2.inference.sampler.row_generator), so the form does not shift the song's draws."""
    digest = hashlib.blake2b(f"form/{seed}/{genre}/{index}".encode(), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def draw_form(table: Mapping, rng: np.random.Generator) -> tuple[str, ...]:
    """One form from a genre's table, drawn in proportion to its count, as section kinds."""
    forms = table["forms"]
    counts = np.array([count for _, count in forms], dtype=np.float64)
    codes = forms[int(rng.choice(len(forms), p=counts / counts.sum()))][0]
    return tuple(KIND_OF_CODE[c] for c in codes)
