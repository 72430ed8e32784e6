"""The batch loop the sampler and the server share: rows sampled together over one KV cache,
joining and leaving between steps (``lyrics_gpt2.inference.sampler.generate_songs`` runs one per
command, ``lyrics_gpt2.serve`` one for all its requests).

    batch = Batch(model, eos_id, pad_id)
    batch.add(rows)                      # prefill
    while batch.rows:
        for row, token in batch.step():  # one token per row
            ...
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import torch

from lyrics_gpt2.inference.params import Row
from lyrics_gpt2.inference.warpers import draw


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


MAX_REWIND = 16  # tokens a rewrite may take back or add and still skip a full prefill


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
        self.held: list[list[int]] = []  # the tokens each row's cache holds, in order
        self.cache_arg = cache_argument(model)

    @torch.no_grad()
    def add(self, rows: Sequence[Row], contexts: Sequence[list[int]] | None = None) -> None:
        """Prefill ``rows`` (one forward pass over their left-padded prompts, or over
        ``contexts`` for rows that go on past the window) and join them."""
        if not rows:
            return
        contexts = [list(c) for c in (contexts or [r.prompt for r in rows])]
        ids, mask = left_pad(contexts, self.pad_id)
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
            self.logits, self.held = logits, contexts
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
        self.held += contexts

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
        # A small rewrite (a line's last word swapped, a section token written in) feeds only
        # the changed tail in this step's forward pass; a larger one (a copied chorus) or a row
        # that slid past the window is prefilled again.
        tails = {}
        for i, r in enumerate(self.rows):
            if id(r) in again and r not in full:
                tail = self._tail(i)
                if tail is None:
                    full.append(r)
                else:
                    tails[id(r)] = tail
        self.drop(full)
        if self.rows:
            self._forward([tails.get(id(r), [r.new[-1]]) for r in self.rows])
        self.add(full, [self._context(r) for r in full])
        return drawn

    def _tail(self, i: int) -> list[int] | None:
        """Row ``i``'s tokens that its cache lacks after a steered rewrite, its cache cut back
        to the tokens that still stand (masked out); None when the rewrite is too large."""
        row, held = self.rows[i], self.held[i]
        tokens = row.prompt + row.new
        same = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            same += 1
        gone, tail = len(held) - same, tokens[same:]
        if same < len(row.prompt) or gone > MAX_REWIND or not 0 < len(tail) <= MAX_REWIND:
            return None
        if self.window and len(held) - gone + len(tail) > self.window:
            return None  # past the window: it slides, prefilled from its context
        if gone:
            columns = self.mask[i].nonzero().flatten()[-gone:]
            self.mask[i, columns] = 0
            self.seen[i, columns] = held[0]  # a token the row has: penalised anyway
            del held[same:]
        return tail

    def _forward(self, tails: list[list[int]]) -> None:
        """One forward pass over each row's new tokens (one per row, more after a rewrite),
        left-padded to the longest, appended to the cache; the last position's logits kept."""
        ids, mask = left_pad(tails, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        self.mask = torch.cat([self.mask, mask], dim=1)
        positions = (self.mask.cumsum(-1) - 1).clamp(min=0)[:, -ids.shape[1] :]
        result = self.model(
            input_ids=ids,
            attention_mask=self.mask,
            position_ids=positions,
            **{self.cache_arg: self.cache},
            use_cache=True,
            logits_to_keep=1,
        )
        self.cache = _cache_of(result)
        self.logits = result.logits[:, -1, :].float()
        # A pad slot repeats the row's last new token, which is penalised anyway.
        self.seen = torch.cat([self.seen, torch.where(mask.bool(), ids, ids[:, -1:])], dim=1)
        for held, tail in zip(self.held, tails, strict=True):
            held.extend(tail)

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
        self.held = [self.held[i] for i in index]
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
