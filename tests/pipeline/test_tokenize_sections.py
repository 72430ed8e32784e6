"""``python -m pipeline.preprocess --sections``: one section token per stanza, written as a target
(never masked), counted in the length rules and pieces; without the flag the stage writes what it
always wrote."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from lyrics_gpt2.data import IGNORE_INDEX, Manifest, collate
from lyrics_gpt2.songcraft.sections import TOKENS
from pipeline import preprocess

WORDS = "love night baby yeah heart fire money street dream rain gold cold light run".split()
CHORUS = "Hold on hold on\nWe rise tonight"


def _song(rng: random.Random) -> tuple[str, str]:
    """(lyrics, sections codes): verse chorus verse chorus, the chorus the same both times."""
    verse = lambda: "\n".join(" ".join(rng.choices(WORDS, k=5)) for _ in range(3))  # noqa: E731
    return "\n\n".join([verse(), CHORUS, verse(), CHORUS]), "vcvc"


def _write_chunks(out: Path, with_sections: bool = True) -> None:
    rng = random.Random(0)
    rows = []
    for i in range(80):
        lyrics, codes = _song(rng)
        tag = ("pop", "rap")[i // 2 % 2]
        rows.append({"id": str(i), "title": "t", "artist": f"{tag} {i % 9}", "tag": tag,
                     "lyrics": lyrics, "sections": codes})  # fmt: skip
    names = ("id", "title", "artist", "tag", "lyrics", *(("sections",) if with_sections else ()))
    chunks = out / "chunks"
    chunks.mkdir(parents=True)
    for c in range(2):
        part = rows[c::2]
        table = pa.table({k: pa.array([r[k] for r in part], type=pa.string()) for k in names})
        pq.write_table(table, chunks / f"chunk-{c:02d}.parquet")
    (chunks / "manifest.json").write_text(json.dumps({"chunks": 2}))


def _tokenize(out: Path, *extra: str) -> dict:
    argv = ["--stages", "tokenize", "--output-dir", str(out), "--quiet", "--workers", "0"]
    argv += ["--tokenizer", "bpe:300", "--seq-len", "48", "--min-tokens", "4", *extra]
    assert preprocess.main(argv) == 0
    return json.loads((out / "tokenized" / "manifest.json").read_text())


def _rows(out: Path):
    from datasets import load_from_disk
    from transformers import AutoTokenizer

    dd = load_from_disk(str(out / "tokenized"))
    return dd, AutoTokenizer.from_pretrained(str(out / "tokenizer"))


def test_sections_put_one_token_at_the_start_of_every_stanza(tmp_path):
    _write_chunks(tmp_path)
    manifest = _tokenize(tmp_path, "--sections")
    ids = manifest["section_token_ids"]
    assert manifest["section_tokens"]["chorus"] == "[Chorus]" and manifest["parameters"]["sections"]
    dd, tok = _rows(tmp_path)
    for kind, token_id in ids.items():
        assert tok.convert_ids_to_tokens(token_id) == TOKENS[kind]
    songs: dict[str, list[int]] = {}
    for row in dd["train"]:
        body = row["input_ids"][1 : row["length"]]  # after the genre token
        # A long song is never cut between a section token and its stanza.
        assert body[-1] not in ids.values()
        songs.setdefault(row["id"], []).extend(body)
    assert songs and max(dd["train"]["piece"]) > 0
    for body in songs.values():
        text = tok.decode(body)
        assert text.startswith("[Verse]")
        assert text.count("[Chorus]") == 2 and text.count("[Verse]") == 2
        assert "\n\n[Chorus]Hold on hold on\nWe rise tonight\n\n[Verse]" in text
        assert tok.decode(body, skip_special_tokens=True).count("\n\n") == 3
    # The four section tokens count in n (the length rule) and in the rows' tokens.
    kept = sum(c["tokens_kept"] for c in manifest["counts"]["per_genre"].values())
    rows = [r for split in dd.values() for r in split]
    assert kept == sum(r["length"] - 1 for r in rows) - len({r["id"] for r in rows})


def test_section_tokens_are_targets_the_collator_does_not_mask(tmp_path):
    _write_chunks(tmp_path)
    _tokenize(tmp_path, "--sections")
    manifest = Manifest.read(tmp_path / "tokenized" / "manifest.json")
    assert manifest.section_token_ids and not set(manifest.conditioning_ids)
    dd, _ = _rows(tmp_path)
    row = dd["train"].with_format("numpy")[0]
    batch = collate([row], manifest.pad_token_id, manifest.conditioning_ids)
    labels = batch["labels"][0]
    is_section = torch.isin(
        batch["input_ids"][0], torch.tensor(list(manifest.section_token_ids.values()))
    )
    assert is_section.any() and (labels[is_section] != IGNORE_INDEX).all()


def test_without_sections_the_stage_writes_what_it_always_wrote(tmp_path):
    with_col, without_col = tmp_path / "a", tmp_path / "b"
    _write_chunks(with_col, with_sections=True)
    _write_chunks(without_col, with_sections=False)
    ma, mb = _tokenize(with_col), _tokenize(without_col)
    assert "section_token_ids" not in ma and "sections" not in ma["parameters"]
    for split in ("train", "validation"):
        fa = with_col / "tokenized" / split / "data-00000-of-00001.arrow"
        fb = without_col / "tokenized" / split / "data-00000-of-00001.arrow"
        assert fa.read_bytes() == fb.read_bytes()
    assert ma["stage_key"] != mb["stage_key"] or ma["inputs"] != mb["inputs"]
    # A song's pieces are still its lyrics after the genre token, nothing between.
    dd, tok = _rows(with_col)
    rows = [r for r in dd["train"] if r["id"] == dd["train"][0]["id"]]
    text = tok.decode([i for r in rows for i in r["input_ids"][1 : r["length"]]])
    assert text.endswith("\n\nHold on hold on\nWe rise tonight<|endoftext|>")
    assert text.count("\n\n") == 3 and "[" not in text


def test_old_chunks_without_the_column_get_kinds_from_repeats(tmp_path):
    _write_chunks(tmp_path, with_sections=False)
    _tokenize(tmp_path, "--sections")
    dd, tok = _rows(tmp_path)
    first = dd["train"][0]["id"]
    rows = [r for r in dd["train"] if r["id"] == first]
    text = tok.decode([i for r in rows for i in r["input_ids"][1 : r["length"]]])
    # No headers: the stanza that comes back is a chorus, the others verses.
    assert text.startswith("[Verse]") and text.count("[Chorus]Hold on") == 2
    assert text.count("[Verse]") == 2
