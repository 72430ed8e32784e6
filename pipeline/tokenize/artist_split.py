"""Artist-disjoint, genre-stratified, deterministic train/validation split, and the artists that
get their own token.

Whole artists go to validation, so no artist's songs are in both splits (a model that saw an
artist's other songs would score too well on them). Artists are taken in the order of a stable
hash of ``seed`` and their name, per genre, until that genre holds its share of validation songs
(at least one). Python's ``hash`` is salted per process, so the order uses blake2b instead.

Artist tokens (stage tokenize's ``--artist-tokens N``): :func:`token_artists` picks the N artists
with the most training songs; since validation holds none of them, :func:`artist_holdout` sets a
share of each one's training songs aside (split ``artist_val``, never trained on) to measure
whether the token helps.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping

from lyrics_gpt2.errors import UsageError

# The default validation split: at least DEFAULT_VAL_SONGS songs, or DEFAULT_VAL_SMALL of them
# when there are fewer than SMALL_CORPUS; fewer than WARN_VAL_SONGS after filtering is warned
# about (a perplexity interval or a genre-swap verdict on a handful of songs means little).
DEFAULT_VAL_FRACTION = 0.005
DEFAULT_VAL_SONGS = 200
DEFAULT_VAL_SMALL = 0.2
SMALL_CORPUS = 1000
WARN_VAL_SONGS = 100


def default_val_fraction(songs: int) -> float:
    """The validation share when ``--val-fraction`` is not given, for ``songs`` in the chunks:
    20% below 1,000 songs, else 0.5% but never fewer than 200 songs."""
    if songs < SMALL_CORPUS:
        return DEFAULT_VAL_SMALL
    return max(DEFAULT_VAL_FRACTION, DEFAULT_VAL_SONGS / songs)


def artist_rank(artist: str, seed: int) -> bytes:
    """The artist's place in the validation queue: same name and seed -> same place, always."""
    return hashlib.blake2b(f"{seed}\x00{artist}".encode(), digest_size=8).digest()


def choose_validation_artists(
    counts: Mapping[tuple[str, str], int],
    fraction: float,
    seed: int,
    genres: Iterable[str] | None = None,
    at_least: bool = False,
) -> set[str]:
    """Pick artists for validation from ``counts`` ({(artist, genre): songs}).

    ``at_least``: every genre gets at least ``ceil(fraction * songs_in_genre)`` songs, taking one
    artist more than the share when whole artists fall short (the default split's minimum).

    Each genre gets ``max(1, round(fraction * songs_in_genre))`` validation songs or slightly more
    (an artist's songs are never split). Smaller genres pick first, so a big artist taken for pop
    does not also swallow the few rock songs. Among the artists of a genre, the hash order decides;
    an artist with more songs than the genre still needs is passed over while a smaller one fits.
    Raises UsageError when a genre has songs by one artist only (it cannot be on both sides).
    """
    by_genre: dict[str, dict[str, int]] = defaultdict(dict)
    totals: Counter[str] = Counter()
    for (artist, genre), n in counts.items():
        if n > 0:
            by_genre[genre][artist] = by_genre[genre].get(artist, 0) + n
            totals[genre] += n
    order = sorted(genres) if genres is not None else sorted(by_genre)
    order = sorted(order, key=lambda g: (totals[g], g))
    chosen: set[str] = set()
    taken: Counter[str] = Counter()
    for genre in order:
        artists = by_genre.get(genre, {})
        if len(artists) < 2:
            raise UsageError(
                f"genre {genre!r} has songs by {len(artists)} artist(s); an artist-disjoint "
                "validation split needs at least two: add data or drop that genre in stage chunks"
            )
        share = (
            math.ceil(fraction * totals[genre])
            if at_least
            else (math.floor(fraction * totals[genre] + 0.5))
        )
        need = max(1, share) - taken[genre]
        if need <= 0:
            continue
        queue = sorted(artists, key=lambda a: artist_rank(a, seed))
        fallback = None
        for artist in queue:
            if artist in chosen:
                continue
            if artists[artist] <= need:
                _take(artist, chosen, taken, by_genre)
                need = max(1, share) - taken[genre]
                if need <= 0:
                    break
            elif fallback is None or artists[artist] < artists[fallback]:
                fallback = artist
        if need > 0 and (taken[genre] == 0 or at_least) and fallback is not None:
            _take(fallback, chosen, taken, by_genre)
        if taken[genre] >= totals[genre]:
            raise UsageError(
                f"genre {genre!r} would have no training songs left after the validation split; "
                "lower --val-fraction or add data"
            )
    return chosen


def _take(
    artist: str, chosen: set[str], taken: Counter[str], by_genre: Mapping[str, Mapping[str, int]]
) -> None:
    chosen.add(artist)
    for genre, artists in by_genre.items():
        taken[genre] += artists.get(artist, 0)


def ensure_validation_per_genre(
    counts: Mapping[tuple[str, str], int],
    chosen: set[str],
    seed: int,
    keep_in_train: Collection[str] = (),
) -> list[str]:
    """Move artists into ``chosen`` until every genre in ``counts`` has a validation song.

    Used after filtering: the songs picked for validation may all have been filtered out. For each
    such genre the artist with the fewest songs in it moves (hash order breaks ties), so the
    validation share grows as little as possible; artists in ``keep_in_train`` (those with an
    artist token) move only when no other artist can. Returns the artists moved.
    """
    by_genre: dict[str, dict[str, int]] = defaultdict(dict)
    for (artist, genre), n in counts.items():
        if n > 0:
            by_genre[genre][artist] = by_genre[genre].get(artist, 0) + n
    moved: list[str] = []
    for genre in sorted(by_genre):
        artists = by_genre[genre]
        if any(a in chosen for a in artists):
            continue
        if len(artists) < 2:
            raise UsageError(
                f"genre {genre!r} has songs by only one artist after filtering; an artist-disjoint "
                "validation split needs at least two: add data or relax --min-tokens and "
                "--max-tokens (--max-song-tokens with --long-songs split)"
            )
        artist = min(artists, key=lambda a: (a in keep_in_train, artists[a], artist_rank(a, seed)))
        chosen.add(artist)
        moved.append(artist)
    for genre, artists in sorted(by_genre.items()):
        if all(a in chosen for a in artists):
            raise UsageError(
                f"genre {genre!r} has no training songs left after the validation split; "
                "lower --val-fraction or add data"
            )
    return moved


# ---------------------------------------------------------------------------------- artist tokens
# Pages Genius itself hosts under a pseudo-artist ("Genius English Translations", "Genius Brasil
# Tradues", "Genius Romanizations"): stage chunks drops the translation pages it recognises, but
# none of these is an artist whose style a token could carry.
_PSEUDO_ARTIST = re.compile(r"^genius\s+\S", re.IGNORECASE)


def is_pseudo_artist(name: str) -> bool:
    """Genius' own pseudo-artists (see above) and nameless songs."""
    return not name.strip() or bool(_PSEUDO_ARTIST.match(name.strip()))


def token_artists(
    counts: Mapping[tuple[str, str], int], val_artists: Collection[str], n: int
) -> tuple[list[str], list[str]]:
    """(the ``n`` artists with the most songs outside ``val_artists``, most first, ties by name;
    the pseudo-artists and unusable names passed over on the way, for the manifest).

    ``counts`` is {(artist, genre): songs} as stage tokenize scans it from the clean chunks, so
    the ranking is by songs before the length filter (the token must exist before encoding).
    """
    from lyrics_gpt2.genres import usable_artist_name

    songs: Counter[str] = Counter()
    for (artist, _genre), k in counts.items():
        if artist not in val_artists:
            songs[artist] += k
    chosen: list[str] = []
    skipped: list[str] = []
    for artist in sorted(songs, key=lambda a: (-songs[a], a)):
        if len(chosen) >= n:
            break
        if is_pseudo_artist(artist) or not usable_artist_name(artist):
            skipped.append(artist)
        else:
            chosen.append(artist)
    return chosen, skipped


def holdout_rank(song_id: str, seed: int) -> bytes:
    """A song's place in its artist's holdout queue (same id and seed -> same place)."""
    return hashlib.blake2b(f"holdout\x00{seed}\x00{song_id}".encode(), digest_size=8).digest()


def artist_holdout(
    songs: Mapping[str, Iterable[str]], fraction: float, seed: int
) -> dict[str, list[str]]:
    """{artist: song ids held out} from ``songs`` ({artist: its training song ids}).

    Each artist gives ``round(fraction * songs)`` songs, at least one when it has two or more,
    and always keeps one for training; which ones is decided by a hash of the seed and the song
    id, so the choice does not depend on the order of the data.
    """
    out: dict[str, list[str]] = {}
    for artist, ids in songs.items():
        ids = sorted(set(ids), key=lambda i: holdout_rank(i, seed))
        if fraction <= 0 or len(ids) < 2:
            out[artist] = []
            continue
        k = min(max(1, math.floor(fraction * len(ids) + 0.5)), len(ids) - 1)
        out[artist] = sorted(ids[:k])
    return out
