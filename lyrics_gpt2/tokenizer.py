"""Tokenizers, in one place: loading one, training a byte-level BPE, adding the genre tokens, and
checking that two vocabularies (or a tokenizer and the tokenized data) agree.

Used by stage ``tokenize`` (``python -m pipeline.preprocess --stages tokenize``), training
(``accelerate launch lyrics_gpt2/train.py``), ``python -m lyrics_gpt2.generate``,
``python -m lyrics_gpt2.perplexity`` and the tiny corpus of ``lyrics_gpt2.testing``.

The from-scratch BPE (``--tokenizer bpe:N``) is for offline runs and small models: no hub
download, and a vocabulary sized to the data. Like GPT-2's, it works on bytes (any text encodes,
nothing is unknown) and keeps spaces and line breaks inside tokens, so decoding gives back the
lyrics exactly. ``<|endoftext|>`` is its only special token; it ends every song and doubles as
padding (the mask comes from ``length``, see lyrics_gpt2/data.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from lyrics_gpt2.cli import UsageError, first_line
from lyrics_gpt2.genres import GENRE_TOKENS

EOS = "<|endoftext|>"
# 256 byte symbols + end-of-text; anything smaller cannot even hold the alphabet.
MIN_VOCAB = 257
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer_config.json")
_BPE_SPEC = re.compile(r"^bpe:(\d+)$")


# ------------------------------------------------------------------------------------- loading
def has_tokenizer(path: str | Path) -> bool:
    """False for a local folder without tokenizer files (e.g. saved initial weights).

    AutoTokenizer would otherwise build an empty tokenizer from such a folder's config.json.
    """
    local = Path(path)
    return not local.is_dir() or any((local / f).is_file() for f in TOKENIZER_FILES)


def load_tokenizer(path: str | Path):
    """The tokenizer saved with a model or with tokenized data (a folder, or a hub id)."""
    from transformers import AutoTokenizer

    if not has_tokenizer(path):
        raise UsageError(f"no tokenizer in {path}")
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load a tokenizer from {path} ({first_line(exc)})") from None


def load_source_tokenizer(spec: str):
    """The fast tokenizer that stage ``tokenize`` starts from (``--tokenizer``: hub id or folder).

    A local folder with tokenizer.json loads through the generic fast class, which skips
    torch's import (seconds); the caller keeps the source's class name in its saved config.
    """
    try:
        if (Path(spec) / "tokenizer.json").is_file():
            from transformers import PreTrainedTokenizerFast

            tok = PreTrainedTokenizerFast.from_pretrained(spec)
        else:
            from transformers import AutoTokenizer

            # Without a network the hub client logs every retry; the one-line error says enough.
            hub_log = logging.getLogger("huggingface_hub")
            level = hub_log.level
            hub_log.setLevel(logging.ERROR)
            try:
                tok = AutoTokenizer.from_pretrained(spec)
            finally:
                hub_log.setLevel(level)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = (
            "a hub id such as 'gpt2' needs the Hugging Face hub; "
            if not Path(spec).exists()
            else ""
        )
        raise UsageError(
            f"cannot load tokenizer {spec!r} ({first[:200]}); {hint}point --tokenizer at a local "
            "folder, e.g. one made by 'python -m lyrics_gpt2.gpt2_vocab --out "
            "artifacts/gpt2-tokenizer', or use --tokenizer bpe:8000"
        ) from None
    if not getattr(tok, "is_fast", False):
        raise UsageError(
            f"tokenizer {spec!r} has no fast (Rust) version; this stage needs one for speed"
        )
    return tok


# ---------------------------------------------------------------------------------- BPE training
def parse_bpe_spec(spec: str) -> int | None:
    """``bpe:8000`` -> 8000; None when ``spec`` names a pretrained tokenizer instead."""
    m = _BPE_SPEC.match(spec.strip())
    return int(m.group(1)) if m else None


def train_bpe(texts: Iterable[str], vocab_size: int):
    """Train a byte-level BPE on ``texts`` (streamed; memory does not grow with the corpus).

    Returns a ``PreTrainedTokenizerFast``; its ``save_pretrained`` folder loads with AutoTokenizer.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS)


# ---------------------------------------------------------------------------------- genre tokens
def add_genre_tokens(tok, genres: Iterable[str]) -> dict[str, int]:
    """Add ``[Genre: X]`` for each tag as a special token, set pad = eos when the tokenizer has
    no pad, and return {tag: id}. Each must encode to exactly one id, or it is no control token.
    """
    genres = list(genres)
    if tok.eos_token is None:
        raise UsageError(
            "the tokenizer has no end-of-text token; pick one that has (GPT-2's <|endoftext|>)"
        )
    tok.add_special_tokens(
        {"additional_special_tokens": [GENRE_TOKENS[g] for g in genres]},
        replace_extra_special_tokens=False,
    )
    if tok.pad_token is None:
        # The mask comes from `length`, so sharing eos's id is safe (see lyrics_gpt2/data.py).
        tok.pad_token = tok.eos_token
    genre_ids = {}
    for g in genres:
        ids = tok.encode(GENRE_TOKENS[g], add_special_tokens=False)
        if len(ids) != 1:
            raise UsageError(f"genre token {GENRE_TOKENS[g]!r} is not a single token: {ids}")
        genre_ids[g] = ids[0]
    return genre_ids


# ---------------------------------------------------------------------------- vocabulary checks
def mismatched_tokens(reference, tokenizer, *, missing_ok: bool = False) -> list[str]:
    """Tokens of ``reference`` that ``tokenizer`` numbers differently (or lacks, unless
    ``missing_ok``: a token the data never holds cannot be scored differently)."""
    vocab = tokenizer.get_vocab()
    if missing_ok:
        return [t for t, i in reference.get_vocab().items() if vocab.get(t, i) != i]
    return [t for t, i in reference.get_vocab().items() if vocab.get(t) != i]


def check_vocab_prefix(model_ref: str, tokenizer) -> None:
    """The model's own tokenizer (when it has one) must agree with the data's on shared ids.

    Data tokenized with another vocabulary (e.g. a small BPE) would otherwise train silently on
    meaningless embeddings.
    """
    from transformers import AutoTokenizer

    try:
        own = AutoTokenizer.from_pretrained(model_ref)
    except Exception:  # no tokenizer saved with the model: nothing to compare against
        return
    clashes = mismatched_tokens(own, tokenizer)
    if clashes:
        raise UsageError(
            f"the data was tokenized with another vocabulary than model {model_ref!r} "
            f"({len(clashes)} of its tokens differ, e.g. {clashes[0]!r}); re-run preprocessing "
            f"with --tokenizer {model_ref}"
        )


def check_data_vocab(
    tokenizer,
    vocab_size: int | None,
    genre_token_ids: Mapping[str, int],
    genre_tokens: Mapping[str, str],
    where: str | Path,
) -> None:
    """The tokenizer in ``where`` is the one the data was tokenized with: same size, and each
    genre's id is that genre's token."""
    if vocab_size is not None and int(vocab_size) != len(tokenizer):
        raise UsageError(
            f"vocabulary mismatch: the data was tokenized with {vocab_size} tokens but {where} "
            f"holds {len(tokenizer)}; re-run preprocessing so both come from the same tokenizer"
        )
    for tag, token_id in genre_token_ids.items():
        token = genre_tokens.get(tag)
        found = tokenizer.convert_ids_to_tokens(int(token_id))
        if token is not None and found != token:
            raise UsageError(
                f"vocabulary mismatch: genre {tag} is id {token_id} in the data but that id is "
                f"{found!r} in {where}, not {token!r}; re-run preprocessing"
            )
