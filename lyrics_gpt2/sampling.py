"""The batched sampler behind ``python -m lyrics_gpt2.generate``, with no command line of its own.

    from lyrics_gpt2.tokenizer import load_tokenizer
    from lyrics_gpt2.modeling import load_trained
    from lyrics_gpt2.sampling import Sampling, generate_songs

    model, tokenizer = load_trained("artifacts/model"), load_tokenizer("artifacts/model")
    songs = generate_songs(model, tokenizer, ["rap"], 4, Sampling(temperature=0.8), seed=7)

Each song starts from its genre token (``[Genre: Rap]``) and, with ``prompt``, a first line to
continue. Songs are sampled in batches (left-padded, with an attention mask and the KV cache) and
each stops at end-of-song or after ``Sampling.max_new_tokens`` new tokens. Special tokens are
stripped. The same seed with the same settings gives the same songs. The command
(lyrics_gpt2/generate.py), benchmarks and notebooks call :func:`generate_songs`; a service or an
evaluation report can do the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from lyrics_gpt2.cli import Problems, UsageError
from lyrics_gpt2.genres import model_genres

DEFAULT_MAX_LENGTH = 256


@dataclass(frozen=True)
class Sampling:
    """How tokens are drawn. top_k 0 and top_p 1.0 switch those filters off."""

    max_new_tokens: int = DEFAULT_MAX_LENGTH
    temperature: float = 0.9
    top_k: int = 50
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    min_new_tokens: int = 0  # > 0 only for benchmarks that need a fixed amount of work
    # Tokens the penalty never touches. None: the tokenizer's structure tokens (line breaks,
    # punctuation, genre and special tokens; structure_ids), filled in by generate_songs.
    # (): none, transformers' behaviour, which starves long songs of line breaks and choruses.
    penalty_exempt: tuple[int, ...] | None = None
    penalty_window: int = 0  # > 0: only the last N tokens count as seen; 0 = the whole song

    def check(self, problems: Problems | None = None) -> None:
        """Name every invalid value and its valid range: added to ``problems`` when given (a
        command's other flags), else raised at once as one UsageError."""
        found = Problems() if problems is None else problems
        need = found.require
        need(self.temperature > 0, f"--temperature must be > 0 (got {self.temperature})")
        need(0 < self.top_p <= 1, f"--top-p must be in (0, 1] (got {self.top_p})")
        need(self.top_k >= 0, f"--top-k must be >= 0, 0 = off (got {self.top_k})")
        need(
            self.repetition_penalty > 0,
            f"--repetition-penalty must be > 0, 1.0 = off (got {self.repetition_penalty})",
        )
        need(self.max_new_tokens >= 1, f"--max-length must be >= 1 (got {self.max_new_tokens})")
        need(
            self.penalty_window >= 0,
            f"--penalty-window must be >= 0, 0 = whole song (got {self.penalty_window})",
        )
        if problems is None:
            found.raise_if_any()


@dataclass
class Song:
    genre: str
    text: str
    tokens: int  # new tokens generated, end-of-song included when reached
    ended: bool  # True when the model wrote end-of-song before --max-length
    seed: int
    index: int  # position among this genre's songs


def prompt_ids(tokenizer, genre_id: int, prompt: str | None) -> list[int]:
    ids = [genre_id]
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
    penalty: float,
    exempt: Sequence[int] | torch.Tensor = (),
    window: int = 0,
) -> torch.Tensor:
    """transformers' repetition penalty: every token already in the row (prompt included) has
    its logit divided by ``penalty`` when positive, multiplied when negative. Tokens in
    ``exempt`` keep their logits; ``window`` > 0 counts only the last ``window`` tokens of
    ``seen`` [B, T]. Modifies logits."""
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


@torch.no_grad()
def sample(model, ids: torch.Tensor, mask: torch.Tensor, cfg: Sampling, eos_id: int, pad_id: int):
    """New tokens [B, <= max_new_tokens] for a left-padded batch.

    One forward pass per step over the last token only (KV cache); positions count real tokens,
    so a row's left padding does not shift its positions. A row that wrote end-of-song gets pad
    from then on; the loop ends when every row has ended.
    """
    device = next(model.parameters()).device
    ids, mask = ids.to(device), mask.to(device)
    batch = ids.shape[0]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    # Tokens the repetition penalty looks at: the prompt without its padding (a pad slot
    # repeats the row's last prompt token, which is penalised anyway).
    seen = torch.where(mask.bool(), ids, ids[:, -1:])
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    past, step_ids, out = None, ids, []
    for step in range(cfg.max_new_tokens):
        result = model(
            input_ids=step_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=past,
            use_cache=True,
            logits_to_keep=1,  # only the last position's logits are sampled from
        )
        past = result.past_key_values
        logits = result.logits[:, -1, :].float()
        if cfg.repetition_penalty != 1.0:
            logits = penalize_repeats(
                logits, seen, cfg.repetition_penalty, cfg.penalty_exempt or (), cfg.penalty_window
            )
        if step < cfg.min_new_tokens:
            logits[:, eos_id] = float("-inf")
        vals, idx = candidates(logits, cfg.top_k, cfg.top_p, cfg.temperature)
        choice = torch.multinomial(vals.softmax(dim=-1), 1)
        token = (choice if idx is None else idx.gather(1, choice)).squeeze(1)
        token = token.masked_fill(done, pad_id)
        out.append(token)
        done |= token == eos_id
        if bool(done.all()):
            break
        step_ids = token[:, None]
        seen = torch.cat([seen, step_ids], dim=1)
        mask = torch.cat([mask, mask.new_ones(batch, 1)], dim=1)
        positions = positions[:, -1:] + 1
    return torch.stack(out, dim=1).cpu()


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
) -> list[Song]:
    """``num_songs`` songs for each genre tag, sampled ``batch_size`` at a time."""
    known = model_genres(tokenizer)
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise UsageError("the model's tokenizer has no end-of-text token; cannot stop songs")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    drop = set(tokenizer.all_special_ids) | set(known.values())
    if cfg.penalty_exempt is None and cfg.repetition_penalty != 1.0:
        cfg = replace(cfg, penalty_exempt=structure_ids(tokenizer))
    jobs = [(g, i) for g in genres for i in range(num_songs)]
    songs: list[Song] = []
    torch.manual_seed(seed)
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        prompts = [prompt_ids(tokenizer, known[g], prompt) for g, _ in chunk]
        ids, mask = left_pad(prompts, pad_id)
        new = sample(model, ids, mask, cfg, eos_id, pad_id)
        for (genre, i), p, row in zip(chunk, prompts, new.tolist(), strict=True):
            text, n, ended = finish(tokenizer, p, row, eos_id, drop)
            if reflow_mode == "on" or (reflow_mode == "auto" and "\n" not in text):
                text = reflow(text)
            songs.append(Song(genre, text, n, ended, seed, i))
    return songs
