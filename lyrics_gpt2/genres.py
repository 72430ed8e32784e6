"""The genre vocabulary shared by every stage.

Genius tags are the internal genre names. Each has one control token that starts every training
song of that genre; other datasets' genre names are mapped onto the tags.
"""

from __future__ import annotations

# Genius ds.csv tags, most frequent first.
TAGS: tuple[str, ...] = ("pop", "rap", "rock", "rb", "misc", "country")

GENRE_TOKENS: dict[str, str] = {
    "pop": "[Genre: Pop]",
    "rap": "[Genre: Rap]",
    "rock": "[Genre: Rock]",
    "rb": "[Genre: R&B]",
    "misc": "[Genre: Misc]",
    "country": "[Genre: Country]",
}

# Genre names of other lyrics datasets (compared lowercased) -> Genius tag.
# Multi-Lingual Lyrics for Genre Classification: Rock, Pop, Metal, Jazz, Folk, Indie, R&B,
# Hip-Hop, Electronic, Country.
GENRE_ALIASES: dict[str, str] = {
    "pop": "pop",
    "rap": "rap",
    "hip-hop": "rap",
    "hip hop": "rap",
    "hiphop": "rap",
    "rock": "rock",
    "metal": "rock",
    "indie": "rock",
    "r&b": "rb",
    "rnb": "rb",
    "rb": "rb",
    "country": "country",
    "folk": "country",
    "jazz": "misc",
    "electronic": "misc",
    "misc": "misc",
}


def normalize_genre(name: str) -> str | None:
    """Map a dataset's genre name to a Genius tag; None when it is not one we know."""
    return GENRE_ALIASES.get(name.strip().lower())


def genre_token(tag: str) -> str:
    """The control token for a Genius tag, e.g. ``rap`` -> ``[Genre: Rap]``."""
    try:
        return GENRE_TOKENS[tag]
    except KeyError:
        raise ValueError(f"unknown genre {tag!r}; known: {', '.join(TAGS)}") from None
