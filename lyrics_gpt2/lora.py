"""LoRA for lyrics_gpt2/train.py: low-rank adapters on GPT-2, the genre-token rows trainable.

    accelerate launch -q lyrics_gpt2/train.py --preset gpt2 --lora 16             # alpha 32
    accelerate launch -q lyrics_gpt2/train.py --preset gpt2 --lora 8 --lora-alpha 8 --lora-dropout 0

The adapters come from PEFT (Hugging Face's parameter-efficient fine-tuning library, maintained
with transformers). GPT-2's attention and MLP projections are ``Conv1D`` layers whose weights
are stored transposed (``[in, out]``), hence ``fan_in_fan_out=True``; ``c_attn`` is the fused
query/key/value projection, so one adapter on it adapts all three.

The embedding matrix stays frozen except the rows of the ``[Genre: X]`` tokens, which the base
model never learned (for GPT-2 from the hub they are new rows). GPT-2 ties ``wte`` to
``lm_head``: one Parameter used twice. Its gradient is masked by a hook to those rows (both uses
summed, then masked), and the optimizer gives it no weight decay, so AdamW's update of every other
row is exactly zero (zero gradient -> zero moments -> zero step).

What a LoRA run writes: the output folder holds the merged weights (``merge_and_unload``), a plain
GPT-2 that ``from_pretrained`` and ``pipeline("text-generation")`` load; ``adapter/`` holds PEFT's
``save_pretrained`` (``adapter_config.json``, ``adapter_model.safetensors``) plus
``trainable_rows.safetensors`` (the genre rows: ``rows`` ids and ``values``). Checkpoints hold the
adapter weights, ``trainable_rows.safetensors``, the optimizer and the RNG states, not the frozen
base weights (a resume rebuilds those from ``--model``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

ROWS_FILE = "trainable_rows.safetensors"
DEFAULT_TARGETS = ("c_attn", "c_proj", "c_fc")
# Set on the tied embedding Parameter: the row ids whose gradient passes the mask.
_ROWS_ATTR = "_lyrics_trainable_rows"


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

    config = LoraConfig(
        r=rank,
        lora_alpha=default_alpha(rank) if alpha is None else alpha,
        lora_dropout=dropout,
        target_modules=list(targets),
        fan_in_fan_out=True,  # GPT-2's Conv1D stores weights as [in, out]
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, config)
    train_rows(peft_model, trainable_rows)
    return peft_model


def train_rows(model, rows: Sequence[int]) -> None:
    """Let only ``rows`` of the (tied) token embedding learn: a gradient hook zeroes the rest."""
    rows = sorted({int(r) for r in rows})
    if not rows:
        return
    weight = model.get_input_embeddings().weight
    mask = torch.zeros(weight.shape[0], 1, dtype=weight.dtype, device=weight.device)
    mask[rows] = 1
    cache: dict = {}

    def keep_rows(grad: torch.Tensor) -> torch.Tensor:
        key = (grad.device, grad.dtype)
        if key not in cache:
            cache[key] = mask.to(grad.device, grad.dtype)
        return grad * cache[key]

    weight.requires_grad_(True)
    weight.register_hook(keep_rows)
    setattr(weight, _ROWS_ATTR, torch.tensor(rows, dtype=torch.long))


def row_masked(param) -> bool:
    """True for the embedding whose gradient :func:`train_rows` masks (no weight decay for it:
    decay would move the frozen rows)."""
    return hasattr(param, _ROWS_ATTR)


def is_lora(model) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def trainable_counts(model) -> dict[str, int]:
    """Parameters that learn: adapter weights, embedding rows (counted as rows x width)."""
    adapter = rows = 0
    for p in model.parameters():
        if not p.requires_grad:
            continue
        if row_masked(p):
            rows += len(getattr(p, _ROWS_ATTR)) * p.shape[1]
        else:
            adapter += p.numel()
    total = sum(p.numel() for p in model.parameters())
    return {"trainable_parameters": adapter + rows, "adapter_parameters": adapter,
            "embedding_row_parameters": rows, "total_parameters": total}  # fmt: skip


# ----------------------------------------------------------------------------------- checkpoints
def _masked(model) -> tuple[str, torch.nn.Parameter] | None:
    return next(((n, p) for n, p in model.named_parameters() if row_masked(p)), None)


def save_rows(model, folder: str | Path) -> None:
    """The trainable embedding rows as ``folder/trainable_rows.safetensors`` (ids and values)."""
    from safetensors.torch import save_file

    found = _masked(model)
    if found is None:
        return
    rows = getattr(found[1], _ROWS_ATTR)
    values = found[1].detach()[rows.to(found[1].device)].float().cpu().contiguous()
    save_file({"rows": rows, "values": values}, str(Path(folder) / ROWS_FILE))


def load_rows(model, folder: str | Path) -> None:
    """Put the rows :func:`save_rows` wrote back into the embedding (no-op without the file)."""
    from safetensors.torch import load_file

    path = Path(folder) / ROWS_FILE
    found = _masked(model)
    if found is None or not path.is_file():
        return
    saved = load_file(str(path))
    weight = found[1]
    with torch.no_grad():
        weight[saved["rows"].to(weight.device)] = saved["values"].to(weight.device, weight.dtype)


def checkpoint_hook(models, weights, output_dir) -> None:
    """accelerate ``save_state`` pre-hook: keep only what learns (adapters), write the trainable
    rows beside them; the frozen base weights are rebuilt from ``--model`` on resume."""
    for model, state in zip(models, weights, strict=True):
        if not any(row_masked(p) or "lora_" in n for n, p in model.named_parameters()):
            continue  # full fine-tuning: the whole model is the checkpoint
        keep = {n for n, p in model.named_parameters() if p.requires_grad and not row_masked(p)}
        for key in [k for k in state if k not in keep]:
            del state[key]
        save_rows(model, output_dir)


# -------------------------------------------------------------------------------------- export
def export(model, folder: str | Path):
    """Write ``folder/adapter/`` (PEFT's adapter + the trainable rows) and return the merged plain
    model (adapters folded into the weights; the PeftModel is consumed). The adapter folder is
    written under a temporary name and renamed when complete."""
    import shutil
    import tempfile

    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".adapter.", dir=folder))
    try:
        # The genre rows travel in trainable_rows.safetensors, not as a whole embedding matrix
        # (PEFT's "auto" would also look the base model up on the hub to decide).
        model.save_pretrained(str(tmp), save_embedding_layers=False)
        save_rows(model, tmp)
        shutil.rmtree(folder / "adapter", ignore_errors=True)
        os.replace(tmp, folder / "adapter")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model.merge_and_unload()
