"""How much better the fine-tuned model predicts held-out lyrics than the model it started from.

    python -m lyrics_gpt2.perplexity                        # artifacts/model vs its untuned base
    python -m lyrics_gpt2.perplexity --base gpt2 --bootstrap 2000 --json artifacts/perplexity.json
    python -m lyrics_gpt2.perplexity --base none            # tuned model and genre-swap only

What is scored. Every validation song is ``[Genre: X] lyrics <|endoftext|>`` (padding after it).
Both models score exactly the same target tokens: the lyric tokens and the end-of-song token.
Padding is never scored, and neither is the genre token at position 0 (a causal LM does not
predict its first input). The untuned base has no trained embedding for the added genre tokens
(GPT-2's vocabulary ends at 50256), so the base reads the song with its start-of-text token
(``<|endoftext|>``) in the genre token's place: the first lyric token has one token of context in
both models, and the base is never fed an id it has no row for. A base that does know the genre
tokens under the same ids (the saved initial weights of a from-scratch preset) reads the same
input as the tuned model. The output says which case applied.

Reported: token-weighted mean NLL -> perplexity, bits per byte (total bits over the UTF-8 bytes of
the decoded lyrics, which compares across tokenizers), token counts, and a bootstrap 95% interval
over songs; overall and per genre. A long song that stage tokenize cut into several rows (pieces)
is scored piece by piece and counted as one song: its pieces' NLL and tokens are summed, and the
bootstrap resamples songs, not rows (lyrics_gpt2.evaluation.scoring.song_groups). Then the genre-swap matrix: each genre's songs scored by the
tuned model under every genre token; the verdict says "conditioning works" only when every
genre's own token beats the best other one by a margin whose 95% paired bootstrap interval over
the genre's songs lies above zero (lyrics_gpt2/evaluation/swap.py), else "not significant on N songs".

Artist tokens. When the data was made with ``--artist-tokens N`` (stage tokenize), the artist
swap matrix scores the held-out songs of those artists (split ``artist_val``: validation is
artist-disjoint, so it has none of them) with each artist's token in position 1 and with none
(the token removed, as songs of other artists read in training). Reported: the diagonal wins
(own token best of all columns) and the mean gain in nats per token of the own token over none.
An artist token is conditioning, never a target: the collator masks it wherever it is scored, and
the base model reads the rows without it.

Also usable through ``evaluate`` without the hub:
``evaluate.load("lyrics_gpt2/evaluation/lyrics_perplexity").compute(predictions=texts, model_id=DIR)``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.data import split_is_empty
from lyrics_gpt2.errors import Problems, UsageError, first_line
from lyrics_gpt2.evaluation.songs import load_songs, lyric_bytes, score
from lyrics_gpt2.evaluation.summary import breakdown, render
from lyrics_gpt2.evaluation.swap import artist_swap, genre_swap, model_artist_ids
from lyrics_gpt2.fileio import check_inputs, check_output, output_errors, write_json
from lyrics_gpt2.genres import model_genres
from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.modeling import (
    DEFAULT_MODEL,
    add_device_flag,
    base_from_summary,
    data_dir_from_summary,
    pick_device,
    quiet_transformers,
)
from lyrics_gpt2.tokenizer import has_tokenizer, load_tokenizer, mismatched_tokens


def base_input(base_tok, tuned_tok, genre_ids: dict[str, int], base_vocab: int):
    """(token for position 0 or None to keep the genre token, description) for the base model.

    Refuses a base whose tokenizer numbers the lyric tokens differently: its scores would be of
    other target tokens.
    """
    if base_tok is not None:
        mismatched = mismatched_tokens(base_tok, tuned_tok, missing_ok=True)
        if mismatched:
            raise UsageError(
                f"the base model's tokenizer numbers {len(mismatched)} tokens differently from "
                "the fine-tuned model's, so they would not score the same tokens; pass a --base "
                "with the same vocabulary (e.g. gpt2 for a GPT-2 fine-tune)"
            )
    source = base_tok if base_tok is not None else tuned_tok
    knows = all(
        source.convert_tokens_to_ids(tuned_tok.convert_ids_to_tokens(i)) == i and i < base_vocab
        for i in genre_ids.values()
    )
    if knows:
        return None, "same input as the tuned model (the base has the genre tokens)"
    start = source.bos_token_id if source.bos_token_id is not None else source.eos_token_id
    if start is None or start >= base_vocab:
        raise UsageError("the base model has no start-of-text token to stand in for the genre")
    name = source.convert_ids_to_tokens(start)
    return start, f"{name} in place of the genre token (the base has no genre tokens)"


def evaluate_models(
    model_dir: str | Path,
    base: str | None,
    data_dir: str | Path,
    split: str = "validation",
    batch_size: int = 16,
    n_boot: int = 1000,
    seed: int = 0,
    max_songs: int | None = None,
    device: str | None = None,
    swap: bool = True,
) -> dict:
    """Everything the command prints, as a dict (also what ``--json`` writes)."""
    dev = pick_device(device)
    songs, manifest = load_songs(data_dir, split, max_songs)
    tokenizer = load_tokenizer(model_dir)
    genre_ids = model_genres(tokenizer)
    data_genre_ids = manifest.genre_token_ids
    clash = {g for g, i in data_genre_ids.items() if genre_ids.get(g, i) != i}
    if clash:
        raise UsageError(
            f"the model's genre tokens differ from the data's ({', '.join(sorted(clash))}); "
            "score the data the model was trained on"
        )
    model = load_for_inference(model_dir, dev)
    if int(songs.ids.max()) >= model.get_input_embeddings().num_embeddings:
        raise UsageError(f"{data_dir} holds token ids the model in {model_dir} does not know")
    nbytes = lyric_bytes(tokenizer, songs)
    tuned_scores = score(model, songs, batch_size)  # per row: every piece of every song
    per_song, song_genres, song_bytes = songs.per_song(tuned_scores, nbytes)
    result = {
        "model": str(model_dir),
        "data_dir": str(data_dir),
        "split": split,
        "songs": len(per_song.nll),
        "rows": len(songs),
        "targets": "lyric tokens + end-of-song; never padding, never the genre token (position 0)"
        + (", never an artist token" if manifest.artist_token_ids else ""),
        "bootstrap": n_boot,
        "tuned": breakdown(per_song, song_genres, song_bytes, n_boot, seed),
    }
    if swap:
        result["genre_swap"] = genre_swap(model, songs, genre_ids, batch_size, tuned_scores)
    # Validation is artist-disjoint: the token artists' own held-out songs tell whether it helps.
    if swap and manifest.artist_token_ids and _has_split(data_dir, "artist_val"):
        held, _ = load_songs(data_dir, "artist_val")
        result["artist_swap"] = artist_swap(
            model, held, model_artist_ids(tokenizer, manifest), batch_size
        )
    if base:
        base_model = load_for_inference(base, dev)
        # Saved initial weights of a from-scratch preset carry no tokenizer: same vocabulary.
        base_tok = load_tokenizer(base) if has_tokenizer(base) else None
        vocab = base_model.get_input_embeddings().num_embeddings
        first, how = base_input(base_tok, tokenizer, genre_ids, vocab)
        plain = songs.with_artist(None)
        lyric_max = max(int(r[1:n].max()) for r, n in zip(plain.ids, plain.lengths, strict=True))
        if lyric_max >= vocab:
            raise UsageError(f"the base model {base} has {vocab} tokens; the lyrics use more")
        # The base knows no artist token: it reads those rows without one (never a target).
        base_songs = songs.with_artist(None)
        base_songs = base_songs if first is None else base_songs.with_first(first)
        base_scores = score(base_model, base_songs, batch_size)
        if not np.array_equal(base_scores.tokens, tuned_scores.tokens):
            raise AssertionError("base and tuned models scored different numbers of tokens")
        result.update(
            base_model=str(base),
            base_input=how,
            base=breakdown(
                songs.per_song(base_scores, nbytes)[0], song_genres, song_bytes, n_boot, seed
            ),
        )
    return result


def _has_split(data_dir: str | Path, split: str) -> bool:
    return (Path(data_dir) / "tokenized" / split / "state.json").is_file() and not split_is_empty(
        data_dir, split
    )


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.perplexity",
        description="Perplexity of the fine-tuned model vs its untuned base on validation songs.",
    )
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="(%(default)s)")
    p.add_argument(
        "--base",
        default=None,
        help="untuned model (folder or hub id); default: the one the model's summary.json "
        "records; 'none' to skip",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="tokenized data (default: the data folder the model's summary.json records, else "
        "artifacts/data)",
    )
    p.add_argument("--split", default="validation", help="(%(default)s)")
    p.add_argument("--batch-size", type=int, default=16, help="(%(default)s)")
    p.add_argument("--bootstrap", type=int, default=1000, help="resamples for the 95%% CI, 0 = off")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (%(default)s)")
    p.add_argument("--max-songs", type=int, default=None, help="score only the first N songs")
    p.add_argument(
        "--no-swap", action="store_true", help="skip the genre-swap (and artist-swap) matrices"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    add_device_flag(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with Problems() as problems:
        need = problems.require
        need(args.batch_size >= 1, f"--batch-size must be >= 1 (got {args.batch_size})")
        need(args.bootstrap >= 0, f"--bootstrap must be >= 0 (got {args.bootstrap})")
        need(
            args.max_songs is None or args.max_songs >= 1,
            f"--max-songs must be >= 1 (got {args.max_songs})",
        )
        need(
            (args.model / "config.json").is_file(),
            f"no trained model in {args.model}; run training first or pass --model DIR",
        )
    pick_device(args.device)  # a bad --device is named now, not after the data is read
    if args.data_dir is None:
        args.data_dir = data_dir_from_summary(args.model)
    if args.json:  # a folder or an unwritable place is refused before the scoring, not after
        check_output(args.json, flag="--json")
        check_inputs(
            [("--json", args.json)], [("--model", args.model), ("--data-dir", args.data_dir)]
        )
    base = args.base
    if base is None:
        base = base_from_summary(args.model)
        if base is None:
            raise UsageError(
                f"{args.model}/summary.json names no untuned base model; pass --base "
                "(e.g. gpt2, a folder, or none)"
            )
    if base.lower() == "none":
        base = None
    quiet_transformers()  # before the models load: no progress bars or notes on stderr
    try:
        result = evaluate_models(
            args.model,
            base,
            args.data_dir,
            args.split,
            args.batch_size,
            args.bootstrap,
            args.seed,
            args.max_songs,
            args.device,
            swap=not args.no_swap,
        )
    except torch.OutOfMemoryError as exc:
        raise UsageError(f"out of memory ({first_line(exc)}); lower --batch-size") from None
    sys.stdout.write(render(result))
    if args.json:
        with output_errors(args.json):
            write_json(args.json, result)
        print(f"results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
