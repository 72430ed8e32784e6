"""Write songs with a trained genre-conditioned model, many at a time.

    python -m lyrics_gpt2.generate --genre rap                      # 5 rap songs to stdout
    python -m lyrics_gpt2.generate --genre both --num-songs 20 --format jsonl --output songs.jsonl
    python -m lyrics_gpt2.generate --genre pop --prompt "I walked along the river" --seed 7
    python -m lyrics_gpt2.generate --genre rap --temperature 2.5 --repetition-penalty 0.8  # original

Each song starts from its genre token (``[Genre: Rap]``) and, with ``--prompt``, a first line to
continue. Songs are sampled in batches (left-padded, with an attention mask and the KV cache) and
each stops at end-of-song or after ``--max-length`` new tokens. Special tokens are stripped.
The same seed with the same flags gives the same songs.

Defaults (temperature 0.9, top-k 50, top-p 0.95, repetition penalty 1.1) come from
``python benchmarks/sampling_sweep.py``, which compares samples with held-out songs (distinct-1/2,
repeated lines, end-of-song rate, words per song, share of real words), and from how often songs
end. On the demo model (tiny preset, bundled sample) temperature 0.7 without a penalty came
closest to the held-out songs' word statistics but ended 2 of 32 songs within 480 tokens; these
defaults ended 27 of 32 (median 211 tokens) at the cost of fewer repeated chorus lines. The
original's temperature 2.5 with penalty 0.8 made up over half of its words. Top-k 50 also bounds
the per-step sampling work (see benchmarks/generate.py).
In transformers a repetition penalty below 1 *rewards* repetition: the original's 0.8 is still
accepted, with a warning.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from lyrics_gpt2.cli import ArgumentParser, UsageError, run
from lyrics_gpt2.fileio import atomic_path
from lyrics_gpt2.inference import (
    DEFAULT_MODEL,
    load_model,
    model_genres,
    pick_device,
    quiet_transformers,
    resolve_genres,
)
from lyrics_gpt2.tokenizer import load_tokenizer

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

    def check(self) -> None:
        """Raise one UsageError naming every invalid value and the valid range."""
        problems = []
        if not self.temperature > 0:
            problems.append(f"--temperature must be > 0 (got {self.temperature})")
        if not 0 < self.top_p <= 1:
            problems.append(f"--top-p must be in (0, 1] (got {self.top_p})")
        if self.top_k < 0:
            problems.append(f"--top-k must be >= 0, 0 = off (got {self.top_k})")
        if not self.repetition_penalty > 0:
            problems.append(
                f"--repetition-penalty must be > 0, 1.0 = off (got {self.repetition_penalty})"
            )
        if self.max_new_tokens < 1:
            problems.append(f"--max-length must be >= 1 (got {self.max_new_tokens})")
        if problems:
            raise UsageError("; ".join(problems))


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


def penalize_repeats(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """transformers' repetition penalty: every token already in the row (prompt included) has
    its logit divided by ``penalty`` when positive, multiplied when negative. Modifies logits."""
    picked = logits.gather(1, seen)
    picked = torch.where(picked < 0, picked * penalty, picked / penalty)
    return logits.scatter_(1, seen, picked)  # in place: a [B, V] copy per step is not free


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
            logits = penalize_repeats(logits, seen, cfg.repetition_penalty)
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


def render(songs: list[Song], fmt: str, settings: dict) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(asdict(s), ensure_ascii=False) + "\n" for s in songs)
    if fmt == "json":
        payload = {"settings": settings, "songs": [asdict(s) for s in songs]}
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    blocks = []
    for s in songs:
        end = "" if s.ended else f"  (cut at --max-length {settings['max_length']})"
        blocks.append(f"=== {s.genre} #{s.index + 1}{end} ===\n{s.text}\n")
    return "\n".join(blocks)


def build_parser() -> ArgumentParser:
    d = Sampling()
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.generate",
        description="Generate genre-conditioned lyrics with a trained model.",
    )
    p.add_argument(
        "--genre",
        default="both",
        help="rap, pop, both (rap and pop), all, any genre the model was trained with, "
        "or a comma list (default: %(default)s)",
    )
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model folder (%(default)s)")
    p.add_argument("--num-songs", type=int, default=5, help="songs per genre (%(default)s)")
    p.add_argument(
        "--max-length",
        type=int,
        default=None,
        help=f"most new tokens per song (default: {DEFAULT_MAX_LENGTH}, or less when the "
        "model's context is shorter)",
    )
    p.add_argument("--temperature", type=float, default=d.temperature, help="(%(default)s)")
    p.add_argument("--top-k", type=int, default=d.top_k, help="0 = off (%(default)s)")
    p.add_argument("--top-p", type=float, default=d.top_p, help="in (0, 1] (%(default)s)")
    p.add_argument(
        "--repetition-penalty",
        type=float,
        default=d.repetition_penalty,
        help="1.0 = off; below 1 rewards repetition (%(default)s)",
    )
    p.add_argument("--seed", type=int, default=42, help="same seed, same flags -> same songs")
    p.add_argument("--prompt", default=None, help="a first line for every song to continue")
    p.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    p.add_argument("--output", type=Path, default=None, help="write here (atomically), not stdout")
    p.add_argument("--batch-size", type=int, default=16, help="songs sampled together")
    p.add_argument(
        "--reflow",
        choices=("auto", "on", "off"),
        default="auto",
        help="break lines after commas and periods; auto = only songs without line breaks",
    )
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if available)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_transformers()
    if args.num_songs < 1:
        raise UsageError(f"--num-songs must be >= 1 (got {args.num_songs})")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1 (got {args.batch_size})")
    # Check the sampling flags before the (slow) model load.
    Sampling(
        max_new_tokens=args.max_length or DEFAULT_MAX_LENGTH,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
    ).check()
    if not (args.model / "config.json").is_file():
        raise UsageError(
            f"no trained model in {args.model}; run training first "
            "('accelerate launch lyrics_gpt2/train.py') or pass --model DIR"
        )
    tokenizer = load_tokenizer(args.model)
    genres = resolve_genres(args.genre, model_genres(tokenizer))
    model = load_model(args.model, pick_device(args.device))
    prompt_len = len(prompt_ids(tokenizer, 0, args.prompt))
    context = getattr(model.config, "n_positions", None) or getattr(
        model.config, "max_position_embeddings", 1 << 30
    )
    room = context - prompt_len
    if room < 1:
        raise UsageError(f"--prompt is {prompt_len} tokens; the model sees at most {context}")
    if args.max_length is not None and args.max_length > room:
        raise UsageError(
            f"--max-length {args.max_length} does not fit: the model sees {context} tokens and "
            f"the prompt takes {prompt_len}; use at most {room}"
        )
    cfg = Sampling(
        max_new_tokens=args.max_length or min(DEFAULT_MAX_LENGTH, room),
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        repetition_penalty=args.repetition_penalty,
    )
    if cfg.repetition_penalty < 1:
        print(
            f"warning: --repetition-penalty {cfg.repetition_penalty} < 1 rewards repeated "
            "tokens in transformers (1.0 = off, > 1 discourages repeats)",
            file=sys.stderr,
        )
    t0 = time.perf_counter()
    songs = generate_songs(
        model,
        tokenizer,
        genres,
        args.num_songs,
        cfg,
        prompt=args.prompt,
        seed=args.seed,
        batch_size=args.batch_size,
        reflow_mode=args.reflow,
    )
    elapsed = time.perf_counter() - t0
    settings = {
        "model": str(args.model),
        "genres": genres,
        "num_songs": args.num_songs,
        "max_length": cfg.max_new_tokens,
        "temperature": cfg.temperature,
        "top_k": cfg.top_k,
        "top_p": cfg.top_p,
        "repetition_penalty": cfg.repetition_penalty,
        "seed": args.seed,
        "prompt": args.prompt,
        "batch_size": args.batch_size,
    }
    text = render(songs, args.format, settings)
    if args.output:
        with atomic_path(args.output) as tmp:
            tmp.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    tokens = sum(s.tokens for s in songs)
    ended = sum(s.ended for s in songs)
    where = f" -> {args.output}" if args.output else ""
    print(
        f"{len(songs)} songs ({', '.join(genres)}), {tokens:,} tokens in {elapsed:.1f} s "
        f"({tokens / max(elapsed, 1e-9):,.0f} tokens/s); {ended}/{len(songs)} reached "
        f"end-of-song{where}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
