"""Gradient checkpointing of a built GPT-2: activations recomputed in backward, not kept.

``accelerate launch lyrics_gpt2/train.py --gradient-checkpointing`` turns it on (lyrics_gpt2/train.py).
"""

from __future__ import annotations


def enable_gradient_checkpointing(model) -> None:
    """Recompute each transformer block's activations during backward instead of keeping them.

    Non-reentrant checkpointing: it restores the RNG state for the recomputation (same dropout
    masks, hence the same loss and gradients) and needs no input that requires grad (LoRA)."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers 5's name
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    model.config.use_cache = False


def checkpointing_enabled(model) -> bool:
    return any(getattr(m, "gradient_checkpointing", False) is True for m in model.modules())
