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
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import torch

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.genres import model_artists, model_genres
from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.warpers import draw, structure_ids
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


def left_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, T] ids and attention mask with padding on the left, so every row's last prompt token
    sits in the same column and new tokens are appended in step."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids, mask


def row_generator(seed: int, index: int) -> torch.Generator:
    """The random stream of song ``index`` under ``seed``: its own generator, so a song does not
    depend on which other songs share its batch (the command's batch size, a server's traffic)."""
    digest = hashlib.blake2b(f"{seed}/{index}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


class Batch:
    """Rows sampled together over one KV cache; rows join and leave between steps.

        batch = Batch(model, eos_id, pad_id)
        batch.add(rows)              # prefill: their first token is drawn by the next step
        while batch.rows:
            for row, token in batch.step():   # one token per row; finished rows have left
                ...

    The cache is [rows, heads, width, dim] with each row's tokens right-aligned (left padding
    masked out), so a row that joins later is padded on the left to the current width, or the
    others are when it is wider. Positions count a row's real tokens only, so padding never shifts
    them. A row leaves the cache as soon as it is done or :meth:`drop` is called (a client went
    away), and columns that are padding for every remaining row are cut, so the width stays the
    longest live row's length. A song may run past the model's window (``window``, default its
    n_positions): a row whose next position would not fit leaves the cache and joins again from
    :func:`window_context` (its genre token and most recent tokens), re-prefilled.
    """

    def __init__(self, model, eos_id: int, pad_id: int, window: int | None = None):
        self.model, self.eos_id, self.pad_id = model, eos_id, pad_id
        self.window = window or model_window(model)
        self.device = next(model.parameters()).device
        self.rows: list[Row] = []
        self.cache = None  # transformers Cache; its per-layer keys/values are [B, H, W, D]
        self.mask = torch.zeros((0, 0), dtype=torch.long, device=self.device)  # [B, W]
        # [B, W] the tokens in the cache, for the repetition penalty; a pad column repeats one
        # of the row's own tokens (already penalised), so it changes nothing.
        self.seen = torch.zeros((0, 0), dtype=torch.long, device=self.device)
        self.logits = None  # [B, V]: each row's next-token logits, drawn from by step()
        self.cache_arg = cache_argument(model)

    @torch.no_grad()
    def add(self, rows: Sequence[Row], contexts: Sequence[list[int]] | None = None) -> None:
        """Prefill ``rows`` (one forward pass over their left-padded prompts, or over
        ``contexts`` for rows that go on past the window) and join them."""
        if not rows:
            return
        ids, mask = left_pad(list(contexts or [r.prompt for r in rows]), self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        result = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
            use_cache=True,
            logits_to_keep=1,  # only the last position's logits are sampled from
        )
        # A pad slot repeats the row's last prompt token, which is penalised anyway.
        seen = torch.where(mask.bool(), ids, ids[:, -1:])
        logits = result.logits[:, -1, :].float()
        if not self.rows:
            self.rows, self.cache, self.mask, self.seen = (
                list(rows),
                _cache_of(result),
                mask,
                seen,
            )
            self.logits = logits
            return
        width = max(self.mask.shape[1], mask.shape[1])
        self.mask = torch.cat([_pad_left(self.mask, width, 0), _pad_left(mask, width, 0)])
        for old, new in zip(_layers(self.cache), _layers(_cache_of(result)), strict=True):
            old.keys = torch.cat(
                [_pad_left(old.keys, width, 0, -2), _pad_left(new.keys, width, 0, -2)]
            )
            old.values = torch.cat(
                [_pad_left(old.values, width, 0, -2), _pad_left(new.values, width, 0, -2)]
            )
        self.seen = torch.cat([_pad_left(self.seen, width, None), _pad_left(seen, width, None)])
        self.logits = torch.cat([self.logits, logits])
        self.rows += rows

    def drop(self, rows: Sequence[Row]) -> None:
        """Remove rows now (abandoned by their caller); their tokens stay in ``row.new``."""
        gone = {id(r) for r in rows}
        self._keep([i for i, r in enumerate(self.rows) if id(r) not in gone])

    @torch.no_grad()
    def step(self) -> list[tuple[Row, int]]:
        """Draw one token for every row, let finished rows leave, then run one forward pass over
        the others' new tokens (the last position only, with the cache)."""
        if not self.rows:
            return []
        for i, row in enumerate(self.rows):
            if row.control is not None:
                row.control.before(self.logits[i], row)
        tokens = draw(self.logits, self.seen, self.rows, self.eos_id).tolist()
        drawn = []
        rewritten = []  # rows whose steering changed more than the drawn token: prefill again
        for row, token in zip(self.rows, tokens, strict=True):
            if row.control is None:
                row.new.append(token)
            elif row.control.after(row, token):
                rewritten.append(row)
            token = row.new[-1]
            row.done = token == self.eos_id or len(row.new) >= row.cfg.max_new_tokens
            drawn.append((row, token))
        self._keep([i for i, r in enumerate(self.rows) if not r.done])
        # mask.sum() is a row's cached tokens, so its new token would go at that position.
        full = []
        if self.window and self.rows:
            cached = self.mask.sum(-1).tolist()
            full = [r for r, n in zip(self.rows, cached, strict=True) if n >= self.window]
        again = {id(r) for r in rewritten if not r.done}
        full += [r for r in self.rows if id(r) in again and r not in full]
        self.drop(full)
        if self.rows:
            step_ids = torch.tensor([r.new[-1] for r in self.rows], device=self.device)[:, None]
            self.mask = torch.cat([self.mask, self.mask.new_ones(len(self.rows), 1)], dim=1)
            positions = self.mask.sum(-1, keepdim=True) - 1
            result = self.model(
                input_ids=step_ids,
                attention_mask=self.mask,
                position_ids=positions,
                **{self.cache_arg: self.cache},
                use_cache=True,
                logits_to_keep=1,
            )
            self.cache = _cache_of(result)
            self.logits = result.logits[:, -1, :].float()
            self.seen = torch.cat([self.seen, step_ids], dim=1)
        self.add(full, [self._context(r) for r in full])
        return drawn

    def _context(self, row: Row) -> list[int]:
        """What a row that left the cache is prefilled with: all its tokens while they fit the
        window (a steered rewrite), else :func:`window_context`."""
        tokens = row.prompt + row.new
        if not self.window or len(tokens) < self.window:
            return tokens
        return window_context(tokens, self.window, row.prefix)

    def _keep(self, index: list[int]) -> None:
        if len(index) == len(self.rows):
            return
        self.rows = [self.rows[i] for i in index]
        if not self.rows:
            self.cache, self.logits = None, None
            self.mask = self.mask[:0, :0]
            self.seen = self.seen[:0, :0]
            return
        pick = torch.tensor(index, device=self.device)
        self.mask, self.seen, self.logits = self.mask[pick], self.seen[pick], self.logits[pick]
        # Columns that are left padding for every remaining row: cut, so width = longest row.
        cut = int((self.mask.sum(0) == 0).long().cumprod(0).sum())
        self.mask, self.seen = self.mask[:, cut:], self.seen[:, cut:]
        for layer in _layers(self.cache):
            layer.keys, layer.values = layer.keys[pick, :, cut:], layer.values[pick, :, cut:]


def model_window(model) -> int | None:
    """How many positions the model can attend to (GPT-2's n_positions), None when unbounded."""
    cfg = model.config
    n = getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)
    return int(n) if n else None


def window_context(tokens: list[int], window: int, prefix: int = 1) -> list[int]:
    """What a song that filled the window goes on from: its first ``prefix`` tokens (the genre
    token, and the artist token if any, as every training row starts with them) and its most
    recent ``window // 2`` tokens — the way a later piece of a long training song reads —
    leaving half a window before the next slide."""
    keep = max(1, window // 2)
    return [*tokens[:prefix], *tokens[-keep:]] if len(tokens) > keep + prefix else list(tokens)


def cache_argument(model) -> str:
    """The forward argument that takes the KV cache: ``cache`` from transformers 5.x (passing
    ``past_key_values`` there prints a FutureWarning on every step), ``past_key_values`` before."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a LoRA model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _cache_of(result):
    """The KV cache a forward pass returned: ``cache`` from transformers 5.x (reading
    ``past_key_values`` there prints a deprecation note), ``past_key_values`` before."""
    cache = result.get("cache")
    return cache if cache is not None else result.get("past_key_values")


def _layers(cache):
    return cache.layers  # transformers >= 4.56: one DynamicLayer (keys, values) per block


def _pad_left(t: torch.Tensor, width: int, value: int | None, dim: int = 1) -> torch.Tensor:
    """``t`` padded on the left of ``dim`` to ``width``: with ``value``, or None = its first
    column repeated (for ``seen``: a token the row already has)."""
    missing = width - t.shape[dim]
    if missing <= 0:
        return t
    if value is None:
        fill = t.narrow(dim, 0, 1).expand(*[missing if d == dim else -1 for d in range(t.dim())])
    else:
        shape = list(t.shape)
        shape[dim] = missing
        fill = t.new_full(shape, value)
    return torch.cat([fill, t], dim=dim)


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
