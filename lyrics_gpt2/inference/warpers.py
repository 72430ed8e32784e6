"""Choosing each next token from a row's logits: the sampler's inner step, no loop and no model.

    from lyrics_gpt2.inference.warpers import candidates, draw, penalize_repeats, structure_ids

:func:`penalize_repeats` is transformers' repetition penalty, optionally sparing some tokens and
counting only a recent window; :func:`candidates` applies temperature, top-k and top-p to a batch
of logits exactly (checked against transformers' warpers in tests/inference/test_warpers.py);
:func:`draw` picks one token per row under that row's own settings and random stream, so a row's
token never depends on the rows beside it. lyrics_gpt2.inference.sampler runs them once per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from lyrics_gpt2.genres import model_genres

if TYPE_CHECKING:
    from lyrics_gpt2.inference.params import Row

# Top-p without top-k first looks among this many best tokens; it sorts the whole vocabulary
# only for rows whose nucleus is wider (rare for a trained model), so the result stays exact.
NUCLEUS_CANDIDATES = 512


def structure_ids(tokenizer) -> tuple[int, ...]:
    """Ids the repetition penalty leaves alone: tokens with no letter or digit (line breaks,
    spaces, punctuation) and the special and genre tokens. Repeating these is what gives a song
    its lines and choruses, so penalising them makes lines grow long and choruses vanish."""
    vocab = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(vocab)], clean_up_tokenization_spaces=False)
    plain = {i for i, t in enumerate(texts) if not any(c.isalnum() for c in t)}
    special = set(tokenizer.all_special_ids) | set(model_genres(tokenizer).values())
    return tuple(sorted(plain | special))


def penalize_repeats(
    logits: torch.Tensor,
    seen: torch.Tensor,
    penalty: float | torch.Tensor,
    exempt: Sequence[int] | torch.Tensor = (),
    window: int = 0,
) -> torch.Tensor:
    """transformers' repetition penalty: every token already in the row (prompt included) has
    its logit divided by ``penalty`` when positive, multiplied when negative. Tokens in
    ``exempt`` keep their logits; ``window`` > 0 counts only the last ``window`` tokens of
    ``seen`` [B, T]. ``penalty`` is one number or one per row ([B, 1]: a server's rows each
    have their own). Modifies logits."""
    if window > 0:
        seen = seen[:, -window:]
    picked = logits.gather(1, seen)
    hit = torch.where(picked < 0, picked * penalty, picked / penalty)
    if len(exempt):
        keep = torch.isin(seen, torch.as_tensor(exempt, dtype=seen.dtype, device=seen.device))
        hit = torch.where(keep, picked, hit)
    return logits.scatter_(1, seen, hit)  # in place: a [B, V] copy per step is not free


def candidates(logits: torch.Tensor, top_k: int, top_p: float, temperature: float = 1.0):
    """(values, token ids or None) of what temperature, top-k then top-p keep (dropped: -inf).

    The same filter as transformers' warpers, but sampling then touches a few hundred entries
    per row instead of sorting all 50k GPT-2 logits on every step, which would cost more than
    the whole 2-layer model. Temperature is applied to the candidates only (it does not change
    their order). ``None`` ids mean the full vocabulary, in order.
    """
    vocab = logits.shape[-1]
    if 0 < top_k < vocab:
        vals, idx = logits.topk(top_k, dim=-1)
        vals = vals / temperature
        log_norm = vals.logsumexp(dim=-1, keepdim=True)  # top-p sees renormalised top-k
    elif top_p < 1:
        log_norm = (logits / temperature).logsumexp(dim=-1, keepdim=True)
        vals, idx = logits.topk(min(NUCLEUS_CANDIDATES, vocab), dim=-1)
        vals = vals / temperature
        if bool((torch.exp(vals - log_norm).sum(-1) < top_p).any()):
            vals, idx = logits.sort(dim=-1, descending=True)  # a nucleus wider than the cut
            vals = vals / temperature
    else:
        return logits / temperature, None
    if top_p < 1:
        probs = torch.exp(vals - log_norm)
        better = probs.cumsum(dim=-1) - probs  # mass of better tokens; the best always stays
        vals = vals.masked_fill(better >= top_p, float("-inf"))
    return vals, idx


def draw(logits: torch.Tensor, seen: torch.Tensor, rows: Sequence[Row], eos_id: int):
    """One token per row of ``logits`` [B, V] under each row's own settings and generator.

    Rows sharing (temperature, top-k, top-p) are filtered together by :func:`candidates`; each
    row then takes the inverse CDF of its candidates at one uniform number from its generator,
    so a row's draw never depends on the rows beside it.
    """
    # Rows sharing exempt tokens and window are penalised together, each with its own penalty.
    penalised: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        if r.cfg.repetition_penalty != 1.0:
            penalised.setdefault((id(r.cfg.penalty_exempt), r.cfg.penalty_window), []).append(i)
    for members in penalised.values():
        cfg = rows[members[0]].cfg
        penalty = [rows[i].cfg.repetition_penalty for i in members]
        penalty = torch.tensor(penalty, device=logits.device)[:, None]
        exempt, window = cfg.penalty_exempt or (), cfg.penalty_window
        if len(members) == len(rows):
            logits = penalize_repeats(logits, seen, penalty, exempt, window)
        else:
            pick = torch.tensor(members, device=logits.device)
            logits[pick] = penalize_repeats(logits[pick], seen[pick], penalty, exempt, window)
    for i, row in enumerate(rows):
        if len(row.new) < row.cfg.min_new_tokens:
            logits[i, eos_id] = float("-inf")
    uniform = torch.tensor(
        [torch.rand((), generator=r.generator, dtype=torch.float64).item() for r in rows],
        dtype=torch.float64,
        device=logits.device,
    )
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault((r.cfg.temperature, r.cfg.top_k, r.cfg.top_p), []).append(i)
    tokens = torch.empty(len(rows), dtype=torch.long, device=logits.device)
    for (temperature, top_k, top_p), members in groups.items():
        pick = torch.tensor(members, device=logits.device) if len(groups) > 1 else None
        part = logits if pick is None else logits[pick]
        vals, idx = candidates(part, top_k, top_p, temperature)
        cdf = vals.softmax(dim=-1).double().cumsum(dim=-1)
        u = (uniform if pick is None else uniform[pick])[:, None] * cdf[:, -1:]
        # The first candidate whose cumulative mass passes u: one of zero mass never does.
        choice = torch.searchsorted(cdf, u, right=True).clamp(max=cdf.shape[1] - 1)
        token = (choice if idx is None else idx.gather(1, choice)).squeeze(1)
        if pick is None:
            tokens = token
        else:
            tokens[pick] = token
    return tokens
