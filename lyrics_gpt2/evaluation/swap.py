"""Conditioning checks of ``python -m lyrics_gpt2.perplexity``: the genre and artist swap matrices.

A conditioning token helps when each group's songs score best under their own token, by more
than chance: the genre matrix's verdict rests on a paired bootstrap over songs. The genre
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

# The own-genre gain is judged by a paired bootstrap over songs (BOOT resamples, 95% interval).
BOOT = 1000
MIN_SONGS = 2


def genre_swap(
    model, songs: Songs, genre_ids: dict[str, int], batch_size: int, own: SongScores | None
) -> dict:
    """Perplexity of each genre's songs (rows) under each genre token (columns), and whether
    each genre's own token beats the best other one significantly.

    Every piece of a song carries the genre token at position 0, so each is scored under the
    swapped token; a cell is token-weighted over all pieces of the genre's songs (the same
    figure whether summed per row or per song). ``own`` holds per-row scores.

    ``gain`` per genre: nats per token the own token saves against the best other column, with
    a 95% paired bootstrap interval over the genre's songs (each song scored under both tokens,
    resampled together). The verdict says "conditioning works" only when every genre's interval
    lies above zero."""
    present = [g for g in genre_ids if (songs.genres == g).any()]
    matrix = []
    counts = []
    per_song: list[list[SongScores]] = []
    for row in present:
        in_row = songs.genres == row
        groups = np.unique(songs.groups[in_row], return_inverse=True)[1]
        counts.append(int(groups.max()) + 1 if len(groups) else 0)
        rows = songs.subset(in_row)
        cells, cell_songs = [], []
        # The tuned scores already are the diagonal when the rows carry their own token.
        reuse = own is not None and bool((rows.ids[:, 0] == genre_ids[row]).all())
        for col in present:
            if col == row and reuse:
                s = own.subset(in_row)
            else:
                s = score(model, rows.with_first(genre_ids[col]), batch_size)
            cells.append(math.exp(s.nll.sum() / s.tokens.sum()))
            cell_songs.append(s.by_song(groups))
        matrix.append(cells)
        per_song.append(cell_songs)
    wins = [int(np.argmin(r)) == i for i, r in enumerate(matrix)]
    gains = [_own_gain(i, matrix[i], per_song[i]) for i in range(len(present))]
    significant = sum(g["significant"] for g in gains)
    n = sum(counts)
    if len(present) < 2:
        verdict = "one genre: nothing to compare"
    elif significant == len(present):
        verdict = "conditioning works"
    else:
        verdict = f"not significant on {n} songs"
    return {
        "genres": present,
        "songs": counts,
        "perplexity": matrix,
        "diagonal_wins": sum(wins),
        "rows": len(present),
        "gain": gains,
        "significant_rows": significant,
        "verdict": verdict,
    }


def _own_gain(i: int, cells: list[float], scored: list[SongScores]) -> dict:
    """The own token's gain over the best other column for row ``i``: nats per token, with a
    95% paired bootstrap interval over the row's songs."""
    others = [j for j in range(len(cells)) if j != i]
    if not others:
        return {"against": None, "nats_per_token": 0.0, "ci95": None, "significant": False}
    j = min(others, key=lambda k: cells[k])
    diff = scored[j].nll - scored[i].nll  # per song, positive when the own token helps
    tokens = scored[i].tokens.astype(np.float64)
    gain = float(diff.sum() / tokens.sum()) if tokens.sum() else 0.0
    k = len(diff)
    if k < MIN_SONGS:
        return {"against": j, "nats_per_token": gain, "ci95": None, "significant": False}
    rng = np.random.default_rng(0)
    pick = rng.integers(0, k, size=(BOOT, k))
    draws = diff[pick].sum(1) / np.maximum(tokens[pick].sum(1), 1)
    low, high = (float(x) for x in np.percentile(draws, [2.5, 97.5]))
    return {"against": j, "nats_per_token": gain, "ci95": [low, high], "significant": low > 0}


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
