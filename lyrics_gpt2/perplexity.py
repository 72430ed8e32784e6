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
bootstrap resamples songs, not rows (lyrics_gpt2.evaluation.song_groups). Then the genre-swap matrix: each genre's songs scored by the
tuned model under every genre token; conditioning works when each row's diagonal cell wins.

Artist tokens. When the data was made with ``--artist-tokens N`` (stage tokenize), the artist
swap matrix scores the held-out songs of those artists (split ``artist_val``: validation is
artist-disjoint, so it has none of them) with each artist's token in position 1 and with none
(the token removed, as songs of other artists read in training). Reported: the diagonal wins
(own token best of all columns) and the mean gain in nats per token of the own token over none.
An artist token is conditioning, never a target: the collator masks it wherever it is scored, and
the base model reads the rows without it.

Also usable through ``evaluate`` without the hub:
``evaluate.load("lyrics_gpt2/metrics/perplexity").compute(predictions=texts, model_id=DIR)``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from lyrics_gpt2.cli import ArgumentParser, Problems, UsageError, first_line, run
from lyrics_gpt2.data import collate, load_tokenized, split_is_empty
from lyrics_gpt2.evaluation import SongScores, score_songs, song_groups
from lyrics_gpt2.fileio import check_output, output_errors, write_json
from lyrics_gpt2.genres import model_artists, model_genres
from lyrics_gpt2.modeling import (
    DEFAULT_MODEL,
    add_device_flag,
    base_from_summary,
    load_trained,
    pick_device,
    quiet_transformers,
)
from lyrics_gpt2.perplexity_report import breakdown, render
from lyrics_gpt2.tokenizer import has_tokenizer, load_tokenizer, mismatched_tokens


@dataclass
class Songs:
    """Validation rows as stored: ids [N, seq_len] (padded), lengths [N], genres [N], and the
    song each row belongs to (``song`` [N], lyrics_gpt2.evaluation.song_groups; None: every row
    is its own song). A long song cut into pieces is several rows of one song."""

    ids: np.ndarray
    lengths: np.ndarray
    genres: np.ndarray
    pad_id: int
    eos_id: int
    song: np.ndarray | None = None
    artists: np.ndarray | None = None  # [N] each row's artist, when known
    mask_ids: tuple[int, ...] = ()  # artist token ids: given at position 1, never scored

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def groups(self) -> np.ndarray:
        """Song number of each row (0..songs-1)."""
        if self.song is None:
            return np.arange(len(self.lengths), dtype=np.int64)
        return self.song

    def with_first(self, first: int | np.ndarray) -> Songs:
        """The same rows with position 0 replaced (a genre token per row, or one token)."""
        ids = self.ids.copy()
        ids[:, 0] = first
        return replace(self, ids=ids)

    def has_artist(self) -> np.ndarray:
        """[N] bool: the row holds an artist token at position 1."""
        if not self.mask_ids or self.ids.shape[1] < 2:
            return np.zeros(len(self), dtype=bool)
        return np.isin(self.ids[:, 1], self.mask_ids) & (self.lengths > 1)

    def with_artist(self, token: int | None) -> Songs:
        """The rows that hold an artist token with ``token`` in its place, or with it removed
        (None: the row reads as a song of an artist without a token); other rows unchanged."""
        has = self.has_artist()
        ids, lengths = self.ids.copy(), self.lengths.copy()
        if token is not None:
            ids[has, 1] = token
            return replace(self, ids=ids)
        ids[has, 1:-1] = self.ids[has, 2:]
        ids[has, -1] = self.pad_id
        lengths[has] -= 1
        return replace(self, ids=ids, lengths=lengths)

    def subset(self, mask: np.ndarray) -> Songs:
        """The rows in ``mask`` (whole songs, e.g. one genre's), songs renumbered 0..k-1."""
        song = None
        if self.song is not None:
            song = np.unique(self.song[mask], return_inverse=True)[1].reshape(-1)
        return Songs(
            self.ids[mask],
            self.lengths[mask],
            self.genres[mask],
            self.pad_id,
            self.eos_id,
            song,
            None if self.artists is None else self.artists[mask],
            self.mask_ids,
        )

    def per_song(self, scores: SongScores, nbytes: np.ndarray):
        """(scores, genres, bytes) summed per song from per-row ones (a song's pieces share
        its genre)."""
        groups = self.groups
        song_scores = scores.by_song(groups)
        n = len(song_scores.nll)
        genres = np.empty(n, dtype=self.genres.dtype)
        genres[groups] = self.genres
        song_bytes = np.bincount(groups, weights=nbytes, minlength=n).astype(np.int64)
        return song_scores, genres, song_bytes


def load_songs(data_dir: str | Path, split: str = "validation", max_songs: int | None = None):
    if split_is_empty(data_dir, split):
        raise UsageError(
            f"split {split!r} in {data_dir}/tokenized has no songs; re-run preprocessing with "
            "more data or pass --split train"
        )
    dataset, manifest = load_tokenized(data_dir)
    if split not in dataset:
        raise UsageError(f"no split {split!r} in {data_dir}; available: {', '.join(dataset)}")
    ds = dataset[split]
    if len(ds) == 0:
        raise UsageError(f"split {split!r} in {data_dir} has no songs")
    # With a piece column, rows sharing an id are one song (stage tokenize's long-song pieces).
    pieces = "piece" in ds.column_names
    song = song_groups(ds["id"], pieces) if pieces else None
    if max_songs is not None:
        # The first N songs, with all their pieces.
        keep = (
            np.flatnonzero(song < max_songs) if song is not None else range(min(max_songs, len(ds)))
        )
        ds = ds.select(keep)
        if song is not None:
            song = song[keep]
    cols = ds.with_format("numpy")
    songs = Songs(
        ids=np.asarray(cols["input_ids"]).astype(np.int64),
        lengths=np.asarray(cols["length"]).astype(np.int64),
        genres=np.asarray(ds["genre"]),
        pad_id=manifest.pad_token_id,
        eos_id=manifest.eos_token_id,
        song=song,
        artists=np.asarray(ds["artist"]) if "artist" in ds.column_names else None,
        mask_ids=manifest.conditioning_ids,
    )
    return songs, manifest


def batches(songs: Songs, batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    """Collated batches of similar-length songs (less padding), each with its row numbers."""
    order = np.argsort(-songs.lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        rows = [{"input_ids": songs.ids[i], "length": songs.lengths[i]} for i in idx]
        batch = collate(rows, songs.pad_id, songs.mask_ids)
        batch["index"] = torch.from_numpy(idx.astype(np.int64))
        yield batch


def score(model, songs: Songs, batch_size: int = 16) -> SongScores:
    """Per-song NLL sums and target counts, in the songs' own order."""
    scores = score_songs(model, batches(songs, batch_size))
    order = np.argsort(scores.index)
    return SongScores(scores.nll[order], scores.tokens[order], scores.index[order])


def score_texts(
    model, tokenizer, texts: Sequence[str], genres: Sequence[str] | None = None, batch_size=16
) -> SongScores:
    """Score raw lyric texts as validation songs are scored: ``[first] lyrics <eos>``.

    ``first`` is the text's genre token when ``genres`` names one the tokenizer knows, else the
    start-of-text token; it is context only, never scored. Texts longer than the model's context
    are cut to it.
    """
    known = model_genres(tokenizer)
    eos = tokenizer.eos_token_id
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos
    if genres is not None and len(genres) != len(texts):
        raise UsageError(f"{len(genres)} genres given for {len(texts)} texts")
    if genres is not None and (unknown := {g for g in genres if g and g not in known}):
        raise UsageError(f"unknown genre(s) {sorted(unknown)}; the model knows {list(known)}")
    limit = getattr(model.config, "n_positions", None) or 1 << 30
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    rows = []
    for i, ids in enumerate(encoded):
        first = known[genres[i]] if genres is not None and genres[i] else start
        rows.append([first, *ids, eos][:limit])
    width = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    ids = np.full((len(rows), width), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    songs = Songs(
        ids,
        np.array([len(r) for r in rows], dtype=np.int64),
        np.array(list(genres) if genres is not None else [""] * len(rows)),
        pad,
        eos,
    )
    return score(model, songs, batch_size)


def lyric_bytes(tokenizer, songs: Songs) -> np.ndarray:
    """UTF-8 bytes of each song's decoded lyrics (the scored tokens, end-of-song excluded)."""
    texts = tokenizer.batch_decode(
        [row[1:n].tolist() for row, n in zip(songs.ids, songs.lengths, strict=True)],
        skip_special_tokens=True,
        clean_up_tokenization_spaces=False,
    )
    return np.array([len(t.encode("utf-8")) for t in texts], dtype=np.int64)


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


def genre_swap(
    model, songs: Songs, genre_ids: dict[str, int], batch_size: int, own: SongScores | None
) -> dict:
    """Perplexity of each genre's songs (rows) under each genre token (columns).

    Every piece of a song carries the genre token at position 0, so each is scored under the
    swapped token; a cell is token-weighted over all pieces of the genre's songs (the same
    figure whether summed per row or per song). ``own`` holds per-row scores."""
    present = [g for g in genre_ids if (songs.genres == g).any()]
    matrix = []
    counts = []
    for row in present:
        counts.append(len(np.unique(songs.groups[songs.genres == row])))
        rows = songs.subset(songs.genres == row)
        cells = []
        # The tuned scores already are the diagonal when the rows carry their own token.
        reuse = own is not None and bool((rows.ids[:, 0] == genre_ids[row]).all())
        for col in present:
            if col == row and reuse:
                s = own.subset(songs.genres == row)
            else:
                s = score(model, rows.with_first(genre_ids[col]), batch_size)
            cells.append(math.exp(s.nll.sum() / s.tokens.sum()))
        matrix.append(cells)
    wins = [int(np.argmin(r)) == i for i, r in enumerate(matrix)]
    return {
        "genres": present,
        "songs": counts,
        "perplexity": matrix,
        "diagonal_wins": sum(wins),
        "rows": len(present),
    }


def artist_swap(model, songs: Songs, artist_ids: dict[str, int], batch_size: int) -> dict:
    """Perplexity of each token artist's held-out songs (rows) under each artist token and
    under none (columns, the last one); the diagonal wins when the own token is best, and
    ``gain_nats_per_token`` is the own token's mean advantage over none (token-weighted, over all
    the songs; per artist in ``gain_per_artist``)."""
    own = songs.has_artist()
    present = [a for a in artist_ids if ((songs.artists == a) & own).any()]
    songs = songs.subset(np.isin(songs.artists, present) & own)
    columns: list[tuple[str, int | None]] = [(a, artist_ids[a]) for a in present]
    columns.append(("(none)", None))
    scored = [score(model, songs.with_artist(token), batch_size) for _, token in columns]
    matrix, counts, gains, wins = [], [], [], 0
    for i, artist in enumerate(present):
        rows = songs.artists == artist
        nll = np.array([s.nll[rows].sum() for s in scored])
        tokens = int(scored[i].tokens[rows].sum())
        matrix.append([math.exp(v / tokens) for v in nll])
        counts.append(len(np.unique(songs.groups[rows])))
        gains.append(float((nll[-1] - nll[i]) / tokens))
        wins += int(np.argmin(nll)) == i
    tokens = int(scored[-1].tokens.sum())
    own_nll = sum(scored[i].nll[songs.artists == a].sum() for i, a in enumerate(present))
    return {
        "split": "artist_val",
        "artists": present,
        "columns": [name for name, _ in columns],
        "songs": counts,
        "tokens": tokens,
        "perplexity": matrix,
        "diagonal_wins": wins,
        "rows": len(present),
        "gain_per_artist": gains,
        "gain_nats_per_token": float((scored[-1].nll.sum() - own_nll) / tokens) if tokens else 0.0,
    }


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
    model = load_trained(model_dir, dev)
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
            model, held, _model_artist_ids(tokenizer, manifest), batch_size
        )
    if base:
        base_model = load_trained(base, dev)
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


def _model_artist_ids(tokenizer, manifest) -> dict[str, int]:
    """The data's artist tokens, which the model must number the same way."""
    known = model_artists(tokenizer)
    clash = [a for a, i in manifest.artist_token_ids.items() if known.get(a) != i]
    if clash:
        raise UsageError(
            f"the model's artist tokens differ from the data's (e.g. {clash[0]!r}); score the "
            "data the model was trained on"
        )
    return dict(manifest.artist_token_ids)


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
    p.add_argument("--data-dir", type=Path, default=Path("artifacts/data"), help="(%(default)s)")
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
    if args.json:  # a folder or an unwritable place is refused before the scoring, not after
        check_output(args.json, flag="--json")
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
