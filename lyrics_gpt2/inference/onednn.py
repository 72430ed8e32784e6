"""GPT-2's linear layers on oneDNN's prepacked kernels, for sampling and scoring on a CPU.

    from lyrics_gpt2.inference.onednn import load_for_inference
    model = load_for_inference("artifacts/model")   # load_trained, then pack_linears on a CPU

A decode step reads every weight once for a handful of rows, so it is bound by memory and by
how well the matrix kernel streams the weights. The default CPU path (MKL's sgemm through
``torch.addmm`` in GPT-2's ``Conv1D``, ``F.linear`` for the head) streams them at about half the
machine's memory speed, and much worse at 8-32 rows. oneDNN's linear with its weight packed once
for the kernel (the op PyTorch's own compiler uses on CPUs, ``mkldnn::_linear_pointwise``) is
faster: on the 2-core benchmark machine, with one torch thread, a GPT-2 124M decode step went
from 23.9 to 16.4 ms at one row and from 59.6 to 24.7 ms at eight (``benchmarks/decode_kernels.py``,
figures in docs/serving.md). The logits agree to about 1e-5 (float32 summed in another order).

:func:`pack_linears` swaps each GPT-2 ``Conv1D`` and the output head for :class:`PackedLinear`
in a float32 model in eval mode on the CPU, in place; the packed head is a copy (the input
embedding it is tied to stays), about 150 MB more for GPT-2 124M. A packed model is for
inference only: it has no gradients and its state dict lacks the packed weights, so nothing
saves it. ``LYRICS_GPT2_ONEDNN=0`` keeps PyTorch's default kernels (to compare, or where oneDNN
misbehaves).
"""

from __future__ import annotations

import os

import torch

from lyrics_gpt2.modeling import load_trained

ENV = "LYRICS_GPT2_ONEDNN"


def load_for_inference(path, device=None):
    """:func:`lyrics_gpt2.modeling.load_trained`, with the linear layers packed on a CPU: what
    every command that samples or scores with a trained model loads it with."""
    model = load_trained(path, device)
    pack_linears(model)
    return model


class PackedLinear(torch.nn.Module):
    """``x @ weight.T + bias`` through oneDNN, with ``weight`` ([out, in]) packed once."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous(), None)
        self.register_buffer("packed", packed, persistent=False)
        self.register_buffer(
            "bias", None if bias is None else bias.detach().clone(), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, oneDNN"


def available() -> bool:
    """oneDNN's packed linear ops are in this PyTorch build and not turned off."""
    if os.environ.get(ENV, "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    ops = torch.ops.mkldnn
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
    )


def pack_linears(model) -> int:
    """Swap a CPU float32 GPT-2's linear layers for :class:`PackedLinear` in place; the number
    swapped (0 when the model is another kind, on another device or dtype, or oneDNN is off)."""
    from transformers.pytorch_utils import Conv1D

    param = next(model.parameters(), None)
    if (
        param is None
        or param.device.type != "cpu"
        or param.dtype != torch.float32
        or model.training
        or getattr(model.config, "model_type", None) != "gpt2"
        or not available()
    ):
        return 0
    swapped = 0
    with torch.no_grad():
        for module in list(model.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, Conv1D):  # weight is [in, out]: y = x @ W + b
                    setattr(module, name, PackedLinear(child.weight.t(), child.bias))
                    swapped += 1
        head = model.get_output_embeddings()
        if isinstance(head, torch.nn.Linear):
            model.set_output_embeddings(PackedLinear(head.weight, head.bias))
            swapped += 1
    return swapped
