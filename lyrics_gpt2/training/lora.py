"""LoRA for lyrics_gpt2/train.py: low-rank adapters on GPT-2, the genre-token rows trainable.

    accelerate launch -q lyrics_gpt2/train.py --preset gpt2 --lora 16             # alpha 32
    accelerate launch -q lyrics_gpt2/train.py --preset gpt2 --lora 8 --lora-alpha 8 --lora-dropout 0

The adapters come from PEFT (Hugging Face's parameter-efficient fine-tuning library, maintained
with transformers). GPT-2's attention and MLP projections are ``Conv1D`` layers whose weights
are stored transposed (``[in, out]``), hence ``fan_in_fan_out=True``; ``c_attn`` is the fused
query/key/value projection, so one adapter on it adapts all three.

The whole embedding matrix is frozen. The rows of the ``[Genre: X]`` tokens, which the base model
never learned (for GPT-2 from the hub they are new rows), train as their own small Parameter
(``[rows, width]``): PEFT's ``trainable_token_indices``. GPT-2 ties ``wte`` to ``lm_head``; PEFT
wraps both and the output side reads the same Parameter, so a genre row learns from both uses, and
``merge_and_unload`` writes the rows into the one shared matrix. The 50k-row matrix thus gets no
gradient and no AdamW moments (a hook masking a trainable whole matrix would still cost both).

What a LoRA run writes: the output folder holds the merged weights (``merge_and_unload``), a plain
GPT-2 that ``from_pretrained`` and ``pipeline("text-generation")`` load; ``adapter/`` holds PEFT's
``save_pretrained``: ``adapter_config.json`` (rank, alpha, targets, ``trainable_token_indices``)
and ``adapter_model.safetensors`` (the adapters and the genre rows,
``...wte.token_adapter.trainable_tokens_delta``), which ``PeftModel.from_pretrained`` puts on the
base model resized to the tokenizer. Checkpoints hold the same trainable tensors, the optimizer
(moments of those only) and the RNG states, not the frozen base weights (a resume rebuilds those
from ``--model``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

DEFAULT_TARGETS = ("c_attn", "c_proj", "c_fc")


def default_alpha(rank: int) -> float:
    """alpha = 2 x rank: the adapter's scale (alpha / rank) stays 2 whatever the rank, so a
    change of rank does not also change the effective learning rate of the adapters."""
    return 2.0 * rank


def apply_lora(
    model,
    *,
    rank: int,
    alpha: float | None = None,
    dropout: float = 0.05,
    targets: Sequence[str] = DEFAULT_TARGETS,
    trainable_rows: Sequence[int] = (),
):
    """``model`` wrapped by PEFT with LoRA adapters on ``targets``; only the adapters and the
    embedding rows ``trainable_rows`` train. Returns the PeftModel."""
    from peft import LoraConfig, get_peft_model

    rows = sorted({int(r) for r in trainable_rows})
    config = LoraConfig(
        r=rank,
        lora_alpha=default_alpha(rank) if alpha is None else alpha,
        lora_dropout=dropout,
        target_modules=list(targets),
        fan_in_fan_out=True,  # GPT-2's Conv1D stores weights as [in, out]
        bias="none",
        task_type="CAUSAL_LM",
        # PEFT finds the embedding and the head tied to it (GPT-2's lm_head) by itself.
        trainable_token_indices=rows or None,
    )
    # The padded vocabulary's mask (modeling.pad_embeddings) hooks the head's Linear, which
    # PEFT's wrapper no longer calls (it multiplies by the weight with the rows written in).
    pad_mask = getattr(model.get_output_embeddings(), "_pad_mask_fn", None)
    peft_model = get_peft_model(model, config)
    if pad_mask is not None and rows:
        head = peft_model.base_model.model.get_output_embeddings()
        head._pad_mask = head.register_forward_hook(pad_mask)
    return peft_model


def summary(args, rows: Sequence[int]) -> dict:
    """What ``summary.json`` records of a LoRA run (``args``: the run's TrainArgs)."""
    alpha = default_alpha(args.lora) if args.lora_alpha is None else args.lora_alpha
    return {"rank": args.lora, "alpha": alpha, "dropout": args.lora_dropout,
            "targets": args.lora_target_list, "trainable_rows": list(rows)}  # fmt: skip


def is_lora(model) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def _is_rows(name: str) -> bool:
    return "trainable_tokens_delta" in name


def trainable_counts(model) -> dict[str, int]:
    """Parameters that learn: adapter weights and the trainable embedding rows."""
    adapter = rows = 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            if _is_rows(name):
                rows += p.numel()
            else:
                adapter += p.numel()
    total = sum(p.numel() for n, p in model.named_parameters() if not _is_rows(n))
    return {"trainable_parameters": adapter + rows, "adapter_parameters": adapter,
            "embedding_row_parameters": rows, "total_parameters": total}  # fmt: skip


# ----------------------------------------------------------------------------------- checkpoints
def checkpoint_hook(models, weights, output_dir) -> None:
    """accelerate ``save_state`` pre-hook: keep only what learns (adapters and genre rows); the
    frozen base weights are rebuilt from ``--model`` on resume (``load_state(strict=False)``)."""
    for model, state in zip(models, weights, strict=True):
        if not any("lora_" in n for n, _ in model.named_parameters()):
            continue  # full fine-tuning: the whole model is the checkpoint
        # named_parameters lists the rows once (under wte); the head's tied copy is dropped too.
        keep = {n for n, p in model.named_parameters() if p.requires_grad}
        for key in [k for k in state if k not in keep]:
            del state[key]


# -------------------------------------------------------------------------------------- export
def export(model, folder: str | Path):
    """Write ``folder/adapter/`` (PEFT's adapter, genre rows included) and return the merged plain
    model (adapters and rows folded into the weights; the PeftModel is consumed). The adapter
    folder is written under a temporary name and renamed when complete."""
    import shutil
    import tempfile

    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".adapter.", dir=folder))
    try:
        # The genre rows travel as trainable-token rows, not as a whole embedding matrix (PEFT's
        # "auto" would also look the base model up on the hub to decide).
        model.save_pretrained(str(tmp), save_embedding_layers=False)
        shutil.rmtree(folder / "adapter", ignore_errors=True)
        os.replace(tmp, folder / "adapter")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model.merge_and_unload()
