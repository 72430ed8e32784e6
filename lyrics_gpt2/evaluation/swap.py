"""Conditioning checks of ``python -m lyrics_gpt2.perplexity``: the genre and artist swap matrices.

A conditioning token helps when each group's songs score best under their own token. The genre
matrix scores each genre's validation songs under every genre token; the artist matrix scores the
held-out songs of the token artists (split ``artist_val``) under every artist token and none.
"""

from __future__ import annotations

import math

import numpy as np

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.evaluation.scoring import SongScores
from lyrics_gpt2.evaluation.songs import Songs, score
from lyrics_gpt2.genres import model_artists


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


def model_artist_ids(tokenizer, manifest) -> dict[str, int]:
    """The data's artist tokens, which the model must number the same way."""
    known = model_artists(tokenizer)
    clash = [a for a, i in manifest.artist_token_ids.items() if known.get(a) != i]
    if clash:
        raise UsageError(
            f"the model's artist tokens differ from the data's (e.g. {clash[0]!r}); score the "
            "data the model was trained on"
        )
    return dict(manifest.artist_token_ids)
