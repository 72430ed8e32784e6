"""Tokenizers, in one place: loading one, training a byte-level BPE, adding the genre (and artist)
tokens, and checking that two vocabularies (or a tokenizer and the tokenized data) agree.

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
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from lyrics_gpt2.errors import UsageError, first_line
from lyrics_gpt2.genres import GENRE_TOKENS, artist_token, usable_artist_name

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


def make_portable(folder: str | Path) -> None:
    """Rewrite a saved ``tokenizer_config.json`` so that transformers 4.x and 5.x, and tools
    pinned to either (vLLM), load the same tokenizer from ``folder``.

    transformers 5 saves ``tokenizer_class: TokenizersBackend`` (a class 4.x lacks) and the
    genre tokens as a list under ``extra_special_tokens`` (4.x wants a dict there). A byte-level
    BPE is named ``GPT2TokenizerFast`` (both versions load it from tokenizer.json, ids
    unchanged) and the list moves to ``additional_special_tokens``, which both read.
    """
    import json

    from lyrics_gpt2.fileio import read_json, write_json

    path = Path(folder) / "tokenizer_config.json"
    config = read_json(path)
    if config is None:
        return
    try:
        spec = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        spec = {}
    byte_bpe = (spec.get("model") or {}).get("type") == "BPE" and "ByteLevel" in json.dumps(
        spec.get("pre_tokenizer")
    )
    generic = ("TokenizersBackend", "PreTrainedTokenizerFast", "GPT2Tokenizer")
    if byte_bpe and config.get("tokenizer_class") in generic:
        config["tokenizer_class"] = "GPT2TokenizerFast"
    extra = config.get("extra_special_tokens")
    if isinstance(extra, list):
        del config["extra_special_tokens"]
        known = config.get("additional_special_tokens") or []
        config["additional_special_tokens"] = known + [t for t in extra if t not in known]
    write_json(path, config)


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
    genre_ids = _add_control_tokens(tok, {g: GENRE_TOKENS[g] for g in genres}, "genre")
    if tok.pad_token is None:
        # The mask comes from `length`, so sharing eos's id is safe (see lyrics_gpt2/data.py).
        tok.pad_token = tok.eos_token
    return genre_ids


def add_artist_tokens(tok, names: Iterable[str]) -> dict[str, int]:
    """Add ``[Artist: Name]`` for each name as a special token (after the genre tokens, so the
    genre ids do not move) and return {name: id}; like a genre token, each must be one id."""
    names = list(names)
    bad = [n for n in names if not usable_artist_name(n)]
    if bad:
        raise UsageError(f"artist name {bad[0]!r} cannot be a token (blank or control characters)")
    return _add_control_tokens(tok, {n: artist_token(n) for n in names}, "artist")


def add_section_tokens(tok, tokens: Mapping[str, str]) -> dict[str, int]:
    """Add ``tokens`` ({kind: "[Verse]", ...}: lyrics_gpt2.songcraft.sections.TOKENS) as special
    tokens, after the genre and artist tokens, and return {kind: id}. Unlike those, the model
    learns to write them (``python -m pipeline.preprocess --sections``)."""
    return _add_control_tokens(tok, tokens, "section")


def _add_control_tokens(tok, texts: Mapping[str, str], what: str) -> dict[str, int]:
    """Add ``texts`` ({key: token text}) as special tokens after those already there (ids never
    move) and return {key: id}; each must encode to exactly one id, or it is no control token."""
    tok.add_special_tokens(
        {"additional_special_tokens": list(texts.values())}, replace_extra_special_tokens=False
    )
    found = {}
    for key, text in texts.items():
        ids = tok.encode(text, add_special_tokens=False)
        if len(ids) != 1:
            raise UsageError(f"{what} token {text!r} is not a single token: {ids}")
        found[key] = ids[0]
    return found


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


# ------------------------------------------------------------------------------ fast encoding
# GPT-2's pre-tokenizer regex (the one its ByteLevel pre-tokenizer applies, use_regex=True).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# blake2b of GPT-2's BPE model (50,257 tokens and 50,000 merges, as bpe_fingerprint reads them):
# gpt2, distilgpt2 and gpt2-medium/large/xl share it.
GPT2_FINGERPRINT = "54d3eec7b4b19bd8d4983aa5703878ad"


def bpe_fingerprint(spec: Mapping) -> str | None:
    """A digest of a tokenizer.json's BPE model (vocabulary and merges, added tokens aside) and of
    the settings that change its ids; None when it is not a byte-level BPE without a normalizer."""
    import hashlib
    import json

    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    if (
        model.get("type") != "BPE"
        or spec.get("normalizer") is not None
        or pre.get("type") != "ByteLevel"
        or pre.get("add_prefix_space")
        or not pre.get("use_regex", True)
        or model.get("dropout") is not None
    ):
        return None
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(sorted(model.get("vocab", {}).items()), ensure_ascii=False).encode())
    h.update("\n".join(merges).encode())
    return h.hexdigest()


def is_byte_level(spec: Mapping) -> bool:
    """Every token stands for bytes, one vocabulary character per byte (GPT-2's, bpe:N)."""
    return (spec.get("decoder") or {}).get("type") == "ByteLevel"


class Encoder:
    """Lyrics -> ids for stage ``tokenize``, fast: tiktoken for GPT-2's BPE (built offline from
    the same vocabulary and merges, ids identical, ~3x faster), the Rust tokenizer otherwise
    (``bpe:N`` and any other tokenizer). ``kind`` says which; added tokens are never produced
    (the stage drops lyrics that hold one verbatim).

    ``token_bytes[id]`` is how many bytes of text a token stands for (byte-level tokenizers only,
    else None): stage tokenize cuts long songs at line boundaries with it.
    """

    def __init__(self, tokenizer_json: str | Path, use_tiktoken: bool = True):
        import json

        import numpy as np

        path = Path(tokenizer_json)
        spec = json.loads(path.read_text(encoding="utf-8"))
        vocab = (spec.get("model") or {}).get("vocab") or {}
        size = max([*vocab.values(), *(t["id"] for t in spec.get("added_tokens", []))], default=-1)
        self.token_bytes = None
        if is_byte_level(spec):
            lengths = np.zeros(size + 1, dtype=np.int64)
            for token, i in vocab.items():
                lengths[i] = len(token)
            self.token_bytes = lengths
        self._tiktoken = None
        self._rust = None
        if use_tiktoken and bpe_fingerprint(spec) == GPT2_FINGERPRINT:
            self._tiktoken = _gpt2_tiktoken(spec)
            self.kind = "tiktoken"
        else:
            from tokenizers import Tokenizer

            self._rust = Tokenizer.from_file(str(path))
            self.kind = "tokenizers"

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        if self._tiktoken is not None:
            # Ordinary: special-token strings in lyrics stay text (they are filtered out anyway).
            # One text at a time: the stage runs one process per core, and tiktoken's batch call
            # would add a thread pool and a future per text (measured: ~2x slower per song).
            encode = self._tiktoken.encode_ordinary
            return [encode(text) for text in texts]
        encode = getattr(self._rust, "encode_batch_fast", self._rust.encode_batch)
        return [e.ids for e in encode(texts, add_special_tokens=False)]


def _gpt2_tiktoken(spec: Mapping):
    """tiktoken's Encoding from the tokenizer.json's own vocabulary and merges (no download):
    written out as GPT-2's vocab.json/merges.txt and read by tiktoken's data-gym loader."""
    import json
    import tempfile

    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    model = spec["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    # tiktoken caches what it reads under a key made of the path; these paths are fresh each
    # time, so caching would only litter the temp folder: "" switches it off.
    cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""
    try:
        with tempfile.TemporaryDirectory(prefix="lyrics-gpt2-bpe-") as tmp:
            encoder_json, vocab_bpe = Path(tmp) / "vocab.json", Path(tmp) / "merges.txt"
            encoder_json.write_text(json.dumps(model["vocab"], ensure_ascii=False), "utf-8")
            vocab_bpe.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", "utf-8")
            ranks = data_gym_to_mergeable_bpe_ranks(str(vocab_bpe), str(encoder_json))
    finally:
        if cache is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = cache
    return tiktoken.Encoding(
        "lyrics-gpt2-gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={}
    )
