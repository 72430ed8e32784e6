"""The control-token vocabulary shared by every stage: genres, and optionally artists.

Genius tags are the internal genre names. Each has one control token that starts every training
song of that genre; other datasets' genre names are mapped onto the tags. A trained model's
tokenizer says which genres it can be asked for (:func:`model_genres`); :func:`resolve_genres`
turns a ``--genre`` flag into those tags.

Artist tokens (``[Artist: Name]``, stage tokenize's ``--artist-tokens N``) follow the genre token
in songs of the N most frequent training artists; :func:`model_artists` lists those a model
knows and :func:`resolve_artist` turns an ``--artist`` flag into one of them.
"""

from __future__ import annotations

import re

from lyrics_gpt2.errors import UsageError

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

_GENRE_PATTERN = re.compile(r"^\[Genre: (.+)\]$")
ARTIST_PREFIX, ARTIST_SUFFIX = "[Artist: ", "]"

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


def model_genres(tokenizer) -> dict[str, int]:
    """{genre tag: token id} for every ``[Genre: X]`` token the tokenizer holds.

    Known tokens map to their Genius tag (``[Genre: R&B]`` -> ``rb``); any other ``[Genre: X]``
    maps to ``x`` lowercased, so a model trained on new genres can still be asked for them.
    Ordered as genres.TAGS, then the rest alphabetically.
    """
    by_token = {tok: tag for tag, tok in GENRE_TOKENS.items()}
    found: dict[str, int] = {}
    for token, token_id in tokenizer.get_added_vocab().items():
        if token in by_token:
            found[by_token[token]] = token_id
        elif m := _GENRE_PATTERN.match(token):
            found[m.group(1).strip().lower()] = token_id
    order = {tag: i for i, tag in enumerate(TAGS)}
    return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def resolve_genres(requested: str, known: dict[str, int]) -> list[str]:
    """Turn ``--genre`` (a tag, an alias, ``both``, ``all`` or a comma list) into known tags."""
    if not known:
        raise UsageError("the model's tokenizer has no [Genre: X] tokens; it cannot be conditioned")
    valid = ", ".join([*known, "both", "all"])
    tags: list[str] = []
    for part in (p.strip().lower() for p in requested.split(",")):
        if part == "all":
            wanted = list(known)
        elif part == "both":
            wanted = ["rap", "pop"]
        else:
            wanted = [part if part in known else (normalize_genre(part) or part)]
        for tag in wanted:
            if tag not in known:
                name = part if tag == part else f"{part} (= {tag})"
                raise UsageError(f"the model has no genre {name}; valid --genre values: {valid}")
            if tag not in tags:
                tags.append(tag)
    if not tags:
        raise UsageError(f"no genre given; valid --genre values: {valid}")
    return tags


# ---------------------------------------------------------------------------------- artists
def artist_token(name: str) -> str:
    """The control token of an artist: exactly ``[Artist: <name>]``, the name unchanged."""
    return f"{ARTIST_PREFIX}{name}{ARTIST_SUFFIX}"


def usable_artist_name(name: str) -> bool:
    """Whether ``name`` can be an artist token: not blank, no surrounding spaces (the added
    token would not be the name itself), no line breaks or other control characters."""
    return bool(name.strip()) and name == name.strip() and all(c.isprintable() for c in name)


def model_artists(tokenizer) -> dict[str, int]:
    """{artist name: token id} for every ``[Artist: X]`` token the tokenizer holds, in id order
    (stage tokenize adds them most frequent first)."""
    found = {
        token[len(ARTIST_PREFIX) : -len(ARTIST_SUFFIX)]: token_id
        for token, token_id in tokenizer.get_added_vocab().items()
        if token.startswith(ARTIST_PREFIX) and token.endswith(ARTIST_SUFFIX)
    }
    return dict(sorted(found.items(), key=lambda kv: kv[1]))


def resolve_artist(requested: str, known: dict[str, int]) -> str:
    """Turn ``--artist`` into a known artist name: the exact name, else the one name that matches
    it ignoring case and surrounding spaces; UsageError naming a few known ones otherwise."""
    if not known:
        raise UsageError(
            "the model's tokenizer has no [Artist: X] tokens; train on data made with stage "
            "tokenize's --artist-tokens N to ask for an artist"
        )
    if requested in known:
        return requested
    folded = [name for name in known if name.casefold() == requested.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    few = ", ".join(map(repr, list(known)[:5]))
    more = f" ({len(known)} in all)" if len(known) > 5 else ""
    raise UsageError(f"the model has no artist {requested!r}; known artists include {few}{more}")
