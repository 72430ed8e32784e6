"""Stage tokenize's ``DIR/tokenized/manifest.json``: counts, lengths, parameters, inputs and
the split, as pipeline.tokenize.stage publishes it (``python -m pipeline.preprocess``).

lyrics_gpt2.data.Manifest is the reading side of this file.
"""

from __future__ import annotations

from typing import Any

from lyrics_gpt2.genres import GENRE_TOKENS, artist_token
from pipeline.tokenize import artist_split as split
from pipeline.tokenize import source, stats
from pipeline.tokenize.encode import BATCH_SIZE
from pipeline.tokenize.source import Settings, TokenizerInfo


def build_manifest(
    *,
    settings: Settings,
    stage_key: str,
    inputs: dict[str, Any],
    info: TokenizerInfo,
    tokenizer_sha: str | None,
    results: list[dict[str, Any]],
    counts: dict[str, Any],
    split_info: dict[str, Any],
) -> dict[str, Any]:
    """DIR/tokenized/manifest.json but the timings (publish adds them); its inputs unchanged."""
    genres = list(counts["per_genre"])
    per_genre = {
        g: {
            **c,
            "token_share_kept": stats.token_share_kept(c),
            **{name: n.get(g, 0) for name, n in split_info["per_genre"].items()},
        }
        for g, c in counts["per_genre"].items()
    }
    fresh = [r for r in results if not r["reused"]]
    artist_on = bool(info.artist_token_ids)
    return {
        "stage": "tokenize",
        "stage_key": stage_key,
        "tokenizer": settings.tokenizer,
        "vocab_size": info.vocab_size,
        "seq_len": settings.seq_len,
        "eos_token_id": info.eos_token_id,
        "pad_token_id": info.pad_token_id,
        "genre_token_ids": info.genre_token_ids,
        "genre_tokens": {g: GENRE_TOKENS[g] for g in genres},
        **_artist_manifest(info, split_info),
        "dtype": info.dtype,
        "length_rule": (
            "min_tokens < n < max_song_tokens, longer than seq_len split into pieces at stanza, "
            "line or token boundaries; n = genre token + lyrics + eos"
            if settings.long_songs == "split"
            else "min_tokens < n < max_tokens, cut at seq_len; n = genre token + lyrics + eos"
        )
        + (" (+ the artist token, in every piece, for an artist with one)" if artist_on else ""),
        # Which library turned lyrics into ids (ids are the same either way; tests compare).
        "encoder": ", ".join(sorted({str(r.get("encoder")) for r in results})),
        "parameters": {
            **settings.params(),
            "workers": settings.workers,
            "batch_size": BATCH_SIZE,
            **({"bpe_max_chars": source.BPE_MAX_CHARS} if settings.bpe_size is not None else {}),
        },
        "inputs": inputs,
        "tokenizer_sha": tokenizer_sha,
        "counts": {
            **counts,
            "filters": {**counts["filters"], "token_share_kept": "tokens_kept / tokens"},
            "per_genre": per_genre,
        },
        "balance": stats.balance_table(counts, settings.balance),
        "token_lengths": stats.length_stats(results, settings.seq_len),
        "throughput": {
            # Lyrics tokens tokenized in this run (chunks reused from a previous run excluded).
            "tokens_tokenized": sum(r["tokens"] for r in fresh),
            "chunks_reused": len(results) - len(fresh),
        },
        "splits": split_info["splits"],
        "split": {
            "rule": "whole artists, hash of seed and artist name, per genre (pipeline/tokenize/artist_split.py)",
            "val_fraction": split_info.get("val_fraction", settings.val_fraction),
            "val_fraction_from": "--val-fraction"
            if settings.val_fraction is not None
            else "default: 0.5% of the songs in the chunks but at least 200, 20% under 1,000",
            "validation_artists": split_info["validation_artists"],
            "moved_after_filtering": split_info["moved"],
            # songs, not rows: a long song is several rows
            "songs": split_info["songs"],
            **_small_validation(split_info["songs"]["validation"], settings),
        },
    }


def _small_validation(songs: int, settings: Settings) -> dict[str, str]:
    """A warning when the validation split holds too few songs for its figures to mean much."""
    if songs >= split.WARN_VAL_SONGS:
        return {}
    flag = "" if settings.val_fraction is None else f" (--val-fraction {settings.val_fraction})"
    return {
        "warning": f"the validation split holds {songs} songs{flag}, under "
        f"{split.WARN_VAL_SONGS}: perplexity intervals will be wide and the genre-swap check "
        "may find nothing significant; raise --val-fraction or add data"
    }


def _artist_manifest(info: TokenizerInfo, split_info: dict[str, Any]) -> dict[str, Any]:
    """The manifest's artist keys; none at all without artist tokens (the manifest then stays
    what it was before the flag existed)."""
    if not info.artist_token_ids:
        return {}
    return {
        "artist_tokens": {a: artist_token(a) for a in info.artist_token_ids},
        "artist_token_ids": info.artist_token_ids,
        "artist_split": {
            "rule": "the N artists with the most songs in the clean chunks outside validation, "
            "ties by name, Genius pseudo-artists skipped; artist_val holds round(holdout x "
            "kept training songs) of each (at least 1 of 2 or more, hash of seed and song id)",
            **split_info.get("artists", {}),
        },
    }
