"""How tokens are drawn: the sampling settings, their flags and their JSON fields in one place.

    from lyrics_gpt2.inference.params import Sampling, add_sampling_flags, sampling_from

:class:`Sampling` is what the sampler (lyrics_gpt2.inference.sampler) runs with;
:func:`add_sampling_flags` and :func:`sampling_from` are the command-line side of it, shared by
``python -m lyrics_gpt2.generate`` and ``python -m lyrics_gpt2.report``; the server
(lyrics_gpt2.serve.schemas) builds its Sampling with :func:`sampling_from` from a request body's
fields of the same names. :class:`Row` is one song's settings and state while it is sampled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from lyrics_gpt2.cli import ArgumentParser
from lyrics_gpt2.errors import Problems

DEFAULT_MAX_LENGTH = 256
# For a song that follows a form, whose end the form decides: room for a real song (pop ~450, rap
# ~950 GPT-2 tokens); the sampler slides the model's window past its context.
FORM_MAX_LENGTH = 1024
# For such a song, no repetition penalty: the form ends it (the penalty's work in a free song),
# and a penalty on every seen token forbids the lines a song repeats (benchmarks/sampling_sweep.py:
# closest to held-out songs; docs/generation.md).
FORM_REPETITION_PENALTY = 1.0
# The smallest temperature accepted. Logits divided by less overflow float range (1e-300 gave
# inf - inf = nan: empty songs with top-k off, the 50th-best token with it on); 0.001 already
# samples the greedy token for any logit gap above ~0.02, so nothing is lost by refusing below.
MIN_TEMPERATURE = 1e-3


@dataclass(frozen=True)
class Sampling:
    """How tokens are drawn. top_k 0 and top_p 1.0 switch those filters off."""

    max_new_tokens: int = DEFAULT_MAX_LENGTH
    temperature: float = 0.9
    top_k: int = 50
    top_p: float = 0.95
    repetition_penalty: float = 1.1
    min_new_tokens: int = 0  # > 0 only for benchmarks that need a fixed amount of work
    # Tokens the penalty never touches. (): none, transformers' behaviour (the default: it ends
    # more songs, see the README's sampling table). None: the tokenizer's structure tokens (line
    # breaks, punctuation, genre and special tokens; structure_ids), filled in by generate_songs.
    penalty_exempt: tuple[int, ...] | None = ()
    penalty_window: int = 0  # > 0: only the last N tokens count as seen; 0 = the whole song

    def check(self, problems: Problems | None = None) -> None:
        """Name every invalid value and its valid range: added to ``problems`` when given (a
        command's other flags), else raised at once as one UsageError."""
        found = Problems() if problems is None else problems
        need = found.require
        need(
            self.temperature >= MIN_TEMPERATURE,
            f"--temperature must be >= {MIN_TEMPERATURE} (got {self.temperature}); smaller "
            "values divide the logits past float range",
        )
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


@dataclass(eq=False)
class Row:
    """One song being sampled: its prompt ids, settings and random stream (None: torch's global
    generator). ``new`` collects its tokens; ``done`` is set once it wrote end-of-song or
    ``cfg.max_new_tokens`` tokens. ``owner`` is free for the caller (a server's request)."""

    prompt: list[int]
    cfg: Sampling
    generator: torch.Generator | None = None
    owner: object = None
    new: list[int] = field(default_factory=list)
    done: bool = False
    prefix: int = 1  # conditioning tokens the prompt opens with (genre, + artist): kept on slides
    # lyrics_gpt2.songcraft.control.Steer: form, repeated sections, rhyme, syllables; None: off
    control: object = None


def add_sampling_flags(p: ArgumentParser) -> None:
    """How tokens are drawn, shared with the evaluation report (lyrics_gpt2.report)."""
    d = Sampling()
    p.add_argument("--temperature", type=float, default=d.temperature, help="(%(default)s)")
    p.add_argument("--top-k", type=int, default=d.top_k, help="0 = off (%(default)s)")
    p.add_argument("--top-p", type=float, default=d.top_p, help="in (0, 1] (%(default)s)")
    p.add_argument(
        "--repetition-penalty",
        type=float,
        default=None,
        help=f"1.0 = off; below 1 rewards repetition (default {d.repetition_penalty}; "
        f"{FORM_REPETITION_PENALTY} for songs that follow a form)",
    )
    p.add_argument(
        "--penalty-window",
        type=int,
        default=d.penalty_window,
        help="the penalty counts only the last N tokens; 0 = the whole song (%(default)s)",
    )
    p.add_argument(
        "--penalty-exempt",
        choices=("structure", "none"),
        default="none",
        help="structure: line breaks, punctuation and genre tokens are never penalised; "
        "none: every seen token is, as in transformers and the original notebooks (%(default)s)",
    )


def sampling_from(values, max_new_tokens: int, shaped: bool = False) -> Sampling:
    """The Sampling that add_sampling_flags' flags name, from parsed flags or any object with
    attributes of the same names (a request body); absent ones keep Sampling's defaults, except
    that songs which follow a form (``shaped``) get FORM_REPETITION_PENALTY."""
    d = Sampling()
    exempt = getattr(values, "penalty_exempt", "none")
    penalty = getattr(values, "repetition_penalty", None)
    if penalty is None:
        penalty = FORM_REPETITION_PENALTY if shaped else d.repetition_penalty
    return Sampling(
        max_new_tokens=max_new_tokens,
        temperature=getattr(values, "temperature", d.temperature),
        top_k=getattr(values, "top_k", d.top_k),
        top_p=getattr(values, "top_p", d.top_p),
        repetition_penalty=penalty,
        penalty_window=getattr(values, "penalty_window", d.penalty_window),
        penalty_exempt=None if exempt == "structure" else (),
    )


def generation_defaults(tokenizer, seq_len: int) -> dict[str, Any]:
    """Sampling settings saved as generation_config.json: varied but coherent lyrics.

    repetition_penalty stays >= 1 (below 1 rewards repetition, a trap of the original notebooks).
    """
    # The same defaults as `python -m lyrics_gpt2.generate`, chosen by benchmarks/sampling_sweep.py.
    sampling = Sampling()
    return {
        "do_sample": True,
        "top_k": sampling.top_k,
        "top_p": sampling.top_p,
        "temperature": sampling.temperature,
        "repetition_penalty": sampling.repetition_penalty,
        "max_new_tokens": seq_len,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.eos_token_id,
    }
