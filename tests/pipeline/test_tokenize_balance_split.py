"""Stage tokenize's ``--balance`` (pipeline/tokenize/encode.py balance) through the real command,
on a generated Genius CSV where rap songs are twice as long as pop songs: by tokens (the default)
the genres' lyric tokens end within 5% of each other, by songs rap keeps about twice pop's; and
the default validation split (pipeline/tokenize/artist_split.py default_val_fraction) with its warning."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from pipeline import preprocess

WORDS = (
    "love night baby heart fire money street dream rain gold cold light run city lights "
    "falling down again tonight forever never mind stay away home road river summer"
).split()


def write_corpus(path: Path, songs_per_genre: int = 240, seed: int = 0) -> None:
    """A Genius ds.csv: equal song counts, rap songs of twice pop's lines, 12 artists each."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["title", "tag", "artist", "year", "views", "features", "lyrics", "id"])
        for i in range(2 * songs_per_genre):
            tag = ("pop", "rap")[i % 2]
            lines = rng.randint(10, 14) * (2 if tag == "rap" else 1)
            text = "\n".join(
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 7))).capitalize()
                + ("\n" if k % 4 == 3 else "")
                for k in range(lines)
            )
            artist = f"{tag} singer {rng.randrange(12)}"
            out.writerow([f"Song {i}", tag, artist, "2010", "100", "{}", text, str(i)])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "long-rap.csv"
    write_corpus(path)
    return path


def run(corpus: Path, out: Path, tokenizer: Path, *extra: str) -> dict:
    argv = ["--input", str(corpus), "--output-dir", str(out), "--tokenizer", str(tokenizer)]
    argv += ["--language", "any", "--num-chunks", "4", "--workers", "0", "--quiet", *extra]
    assert preprocess.main(argv) == 0
    return json.loads((out / "tokenized" / "manifest.json").read_text())


def test_balance_by_tokens_leaves_the_genres_within_five_percent(
    tmp_path, corpus, gpt2_tokenizer_dir
):
    manifest = run(corpus, tmp_path, gpt2_tokenizer_dir)
    table = manifest["balance"]
    assert table["mode"] == "tokens" and manifest["parameters"]["balance"] == "tokens"
    pop, rap = table["per_genre"]["pop"], table["per_genre"]["rap"]
    # Before (training songs; validation is never balanced away): rap about twice the tokens.
    assert 150 < pop["songs_before"] < 240 and 150 < rap["songs_before"] < 240
    per_song = (rap["tokens_before"] / rap["songs_before"]) / (
        pop["tokens_before"] / pop["songs_before"]
    )
    assert 1.8 < per_song < 2.2
    # After: whole songs of rap dropped until the tokens match; pop untouched.
    assert pop["songs_after"] == pop["songs_before"] and pop["tokens_after"] == pop["tokens_before"]
    assert rap["songs_after"] < 0.7 * rap["songs_before"]
    assert abs(rap["tokens_after"] / pop["tokens_after"] - 1) < 0.05
    assert table["token_ratio_after"] < 1.05
    counts = manifest["counts"]["per_genre"]
    assert counts["rap"]["train_tokens_after"] == rap["tokens_after"]
    # Validation songs are all kept: the rows written hold more rap tokens than training's.
    assert counts["rap"]["tokens_kept"] > rap["tokens_after"]


def test_balance_by_songs_is_the_original_rule_and_none_keeps_all(
    tmp_path, corpus, gpt2_tokenizer_dir
):
    by_songs = run(corpus, tmp_path, gpt2_tokenizer_dir, "--balance", "songs")["balance"]
    pop, rap = by_songs["per_genre"]["pop"], by_songs["per_genre"]["rap"]
    assert pop["songs_after"] == rap["songs_after"]  # equal per chunk, so equal in all
    assert 1.7 < rap["tokens_after"] / pop["tokens_after"] < 2.3
    assert "original" in by_songs["rule"]
    none = run(corpus, tmp_path, gpt2_tokenizer_dir, "--balance", "none")["balance"]
    assert all(g["songs_after"] == g["songs_before"] for g in none["per_genre"].values())


def test_the_same_input_gives_the_same_songs(tmp_path, corpus, gpt2_tokenizer_dir):
    from datasets import load_from_disk

    ids = []
    for name in ("a", "b"):
        run(corpus, tmp_path / name, gpt2_tokenizer_dir)
        dd = load_from_disk(str(tmp_path / name / "tokenized"))
        ids.append(sorted(dd["train"]["id"]) + sorted(dd["validation"]["id"]))
    assert ids[0] == ids[1]


def test_default_validation_is_200_songs_or_a_fifth_of_a_small_corpus(
    tmp_path, gpt2_tokenizer_dir, capsys
):
    big = tmp_path / "big.csv"
    write_corpus(big, songs_per_genre=600, seed=1)
    manifest = run(big, tmp_path / "big", gpt2_tokenizer_dir)
    split = manifest["split"]
    assert split["val_fraction"] == pytest.approx(200 / 1200)
    assert split["songs"]["validation"] >= 200 and "warning" not in split
    assert "warning" not in capsys.readouterr().err
    # Under 1,000 songs: a fifth of them; under 100 validation songs, a warning.
    small = tmp_path / "small.csv"
    write_corpus(small, songs_per_genre=150, seed=2)
    manifest = run(small, tmp_path / "small", gpt2_tokenizer_dir)
    split = manifest["split"]
    assert split["val_fraction"] == 0.2 and 50 <= split["songs"]["validation"] < 100
    err = capsys.readouterr().err
    assert f"warning: the validation split holds {split['songs']['validation']} songs" in err
    assert split["warning"] in err
    # An explicit --val-fraction wins.
    manifest = run(small, tmp_path / "small", gpt2_tokenizer_dir, "--val-fraction", "0.05")
    assert manifest["split"]["val_fraction"] == 0.05
    assert manifest["split"]["val_fraction_from"] == "--val-fraction"
