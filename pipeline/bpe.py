"""A byte-level BPE trained from scratch with the `tokenizers` library (``--tokenizer bpe:N``).

For offline runs and small models: no hub download, and a vocabulary sized to the data. Like
GPT-2's, it works on bytes (any text encodes, nothing is unknown) and keeps spaces and line
breaks inside tokens, so decoding gives back the lyrics exactly. ``<|endoftext|>`` is its only
special token; it ends every song and doubles as padding (the mask comes from ``length``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EOS = "<|endoftext|>"
_SPEC = re.compile(r"^bpe:(\d+)$")
# 256 byte symbols + end-of-text; anything smaller cannot even hold the alphabet.
MIN_VOCAB = 257


def parse_spec(spec: str) -> int | None:
    """``bpe:8000`` -> 8000; None when ``spec`` names a pretrained tokenizer instead."""
    m = _SPEC.match(spec.strip())
    return int(m.group(1)) if m else None


def train(texts: Iterable[str], vocab_size: int):
    """Train on ``texts`` (streamed; memory does not grow with the corpus).

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
