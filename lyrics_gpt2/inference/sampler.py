"""The batched sampler behind ``python -m lyrics_gpt2.generate``, with no command line of its own.

    from lyrics_gpt2.tokenizer import load_tokenizer
    from lyrics_gpt2.modeling import load_trained
    from lyrics_gpt2.inference.params import Sampling
    from lyrics_gpt2.inference.sampler import generate_songs

    model, tokenizer = load_trained("artifacts/model"), load_tokenizer("artifacts/model")
    songs = generate_songs(model, tokenizer, ["rap"], 4, Sampling(temperature=0.8), seed=7)

Each song starts from its genre token (``[Genre: Rap]``), then with ``artist`` that artist's token
(``[Artist: Name]``), and, with ``prompt``, a first line to continue. Songs are sampled in batches (left-padded, with an attention mask and the KV cache) and
each stops at end-of-song or after ``Sampling.max_new_tokens`` new tokens. Special tokens are
stripped. The same seed with the same settings gives the same songs: song i has its own random
stream (:func:`row_generator`), so it does not depend on the batch size or on other songs sampled
beside it. :class:`Batch` is the loop itself, with rows that join and leave between steps and
settings per row; the server (lyrics_gpt2.serve) runs one for all its requests. The command
(lyrics_gpt2/generate.py), benchmarks and notebooks call :func:`generate_songs`; a service or an
evaluation report can do the same.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import torch

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.genres import model_artists, model_genres
from lyrics_gpt2.inference.batch import (  # noqa: F401 (re-exported: the server and tests import them here)
    Batch,
    left_pad,
    model_window,
    window_context,
)
from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.warpers import structure_ids
from lyrics_gpt2.songcraft.control import (
    Controls,
    Steer,
    split_sections,
    steering_vocab,
    with_opening,
)
from lyrics_gpt2.songcraft.forms import draw_form, form_rng


@dataclass
class Song:
    genre: str
    text: str
    tokens: int  # new tokens generated, end-of-song included when reached
    ended: bool  # True when the model wrote end-of-song before --max-length
    seed: int
    index: int  # position among this genre's songs
    artist: str | None = None  # the artist token it was conditioned on, if any
    # [{"kind": "chorus", "text": ...}] for a song written with section tokens; None otherwise
    sections: list[dict] | None = None
    # the form drawn for it from the model's forms.json (no --form given); None otherwise
    drawn_form: tuple[str, ...] | None = None


def control_tokens(tokenizer) -> list[str]:
    """The texts the tokenizer turns into one control token (``[Genre: Rap]``, ``<|endoftext|>``,
    any added or special token), longest first."""
    found = set(tokenizer.all_special_tokens)
    found |= {t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values()}
    return sorted((t for t in found if t), key=len, reverse=True)


def check_prompt(tokenizer, prompt: str | None) -> None:
    """A prompt is text, never control: UsageError when it holds a control token's text.

    The tokenizer would turn ``[Genre: Rap]`` or ``<|endoftext|>`` inside a prompt into the
    control token itself (a pop song conditioned on rap, an end of song mid-prompt), and the
    output strips special tokens, so the effect would be invisible. Refusing is plainer than
    encoding such text in pieces the model never saw in training.
    """
    if not prompt:
        return
    inside = [t for t in control_tokens(tokenizer) if t in prompt]
    if inside:
        raise UsageError(
            f"--prompt contains control-token text {', '.join(map(repr, inside))}; a prompt is "
            "plain lyrics: choose the genre with --genre and leave such markers out"
        )


def prompt_ids(
    tokenizer, genre_id: int, prompt: str | None, artist_id: int | None = None
) -> list[int]:
    check_prompt(tokenizer, prompt)
    # As training rows start: genre token, then the artist token for an artist that has one.
    ids = [genre_id] if artist_id is None else [genre_id, artist_id]
    if prompt:
        ids += tokenizer(prompt, add_special_tokens=False)["input_ids"]
    return ids


def row_generator(seed: int, index: int) -> torch.Generator:
    """The random stream of song ``index`` under ``seed``: its own generator, so a song does not
    depend on which other songs share its batch (the command's batch size, a server's traffic)."""
    digest = hashlib.blake2b(f"{seed}/{index}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


@torch.no_grad()
def sample(
    model,
    ids: torch.Tensor,
    mask: torch.Tensor,
    cfg: Sampling,
    eos_id: int,
    pad_id: int,
    window: int | None = None,
):
    """New tokens [B, <= max_new_tokens] for a left-padded batch, drawn from torch's global
    generator (seed it with torch.manual_seed); a :class:`Batch` run to the end.

    A row that wrote end-of-song is followed by pad up to the longest row.
    """
    batch = Batch(model, eos_id, pad_id, window)
    rows = [Row(r[m.bool()].tolist(), cfg) for r, m in zip(ids, mask, strict=True)]
    batch.add(rows)
    while batch.rows:
        batch.step()
    width = max(len(r.new) for r in rows)
    return torch.tensor([r.new + [pad_id] * (width - len(r.new)) for r in rows], dtype=torch.long)


def reflow(text: str) -> str:
    """Break lines after commas and sentence ends, as the original did for one-line output."""
    text = re.sub(r"([,.!?;])\s+", r"\1\n", text)
    return "\n".join(line.strip() for line in text.splitlines())


def finish(
    tokenizer, prompt: list[int], new: list[int], eos_id: int, drop: set[int]
) -> tuple[str, int, bool]:
    """Cut at end-of-song, strip special and genre tokens, decode prompt + continuation."""
    ended = eos_id in new
    if ended:
        new = new[: new.index(eos_id) + 1]
    kept = [t for t in prompt + new if t not in drop]
    text = tokenizer.decode(kept, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    # Training songs have one blank line between stanzas; a sampled run of them is just noise.
    text = re.sub(r"\n[ \t]*(?:\n[ \t]*)+\n", "\n\n", text)
    return text.strip(), len(new), ended


def generate_songs(
    model,
    tokenizer,
    genres: Sequence[str],
    num_songs: int,
    cfg: Sampling,
    *,
    prompt: str | None = None,
    seed: int = 42,
    batch_size: int = 16,
    reflow_mode: str = "auto",
    artist: str | None = None,
    controls: Controls | None = None,
    forms: Mapping[str, Mapping] | None = None,
) -> list[Song]:
    """``num_songs`` songs for each genre tag, sampled ``batch_size`` at a time; with ``artist``
    (a name :func:`lyrics_gpt2.genres.model_artists` lists) each is conditioned on that artist.
    ``controls`` (lyrics_gpt2.songcraft.control) steer form, repeats, rhyme and syllables; a
    model trained with section tokens is steered even without them (its repeats are copied).
    ``forms`` (lyrics_gpt2.songcraft.forms.load_forms): without a form in ``controls``, each song
    of a genre in it gets a form drawn from that genre's table (by ``seed`` and its index)."""
    known = model_genres(tokenizer)
    artist_id = None
    if artist is not None:
        artist_id = model_artists(tokenizer).get(artist)
        if artist_id is None:
            raise UsageError(f"the model has no artist token for {artist!r}")
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise UsageError("the model's tokenizer has no end-of-text token; cannot stop songs")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    drop = set(tokenizer.all_special_ids) | set(known.values())
    if cfg.penalty_exempt is None and cfg.repetition_penalty != 1.0:
        cfg = replace(cfg, penalty_exempt=structure_ids(tokenizer))
    vocab = steering_vocab(tokenizer, controls)
    controls = controls or Controls()
    if controls.form and not (vocab and vocab.section_ids):
        raise UsageError(
            "this model was trained without section tokens, so it cannot follow a form; "
            "make its data with 'python -m pipeline.preprocess --sections' and train again"
        )
    forms = {} if controls.form or not (vocab and vocab.section_ids) else dict(forms or {})

    def song_controls(genre: str, index: int) -> Controls:
        if genre not in forms:
            return controls
        return replace(controls, form=draw_form(forms[genre], form_rng(seed, genre, index)))

    def new_row(genre: str, index: int) -> Row:
        asked = song_controls(genre, index)
        opening = [vocab.section_ids[asked.form[0]]] if asked.form else []
        ids = prompt_ids(tokenizer, known[genre], prompt, artist_id)
        return Row(
            with_opening(ids, opening, artist_id),
            cfg,
            row_generator(seed, index),
            prefix=1 if artist_id is None else 2,
            control=None if vocab is None else Steer(asked, vocab),
        )

    jobs = [(g, i) for g in genres for i in range(num_songs)]
    songs: list[Song] = []
    batch = Batch(model, eos_id, pad_id)
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        rows = [new_row(g, i) for g, i in chunk]
        batch.add(rows)
        while batch.rows:
            batch.step()
        for (genre, i), row in zip(chunk, rows, strict=True):
            text, n, ended = song_text(tokenizer, row, eos_id, drop, reflow_mode)
            parts = None
            if vocab is not None and vocab.section_ids:
                parts = split_sections(tokenizer, row, eos_id, vocab.kind_of)
            form = row.control.c.form if row.control is not None and genre in forms else None
            songs.append(Song(genre, text, n, ended, seed, i, artist, parts, form))
    return songs


def song_text(
    tokenizer, row: Row, eos_id: int, drop: set[int], reflow_mode: str = "auto"
) -> tuple[str, int, bool]:
    """A finished row as the command prints it: (text, new tokens, ended)."""
    text, n, ended = finish(tokenizer, row.prompt, row.new, eos_id, drop)
    if reflow_mode == "on" or (reflow_mode == "auto" and "\n" not in text):
        text = reflow(text)
    return text, n, ended
