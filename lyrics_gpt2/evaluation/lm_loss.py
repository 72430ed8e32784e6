"""GPT-2's output layer and next-token loss over a slice of positions at a time, so the whole
``[batch, positions, vocabulary]`` logits tensor never exists.

Training (``lyrics_gpt2/train.py --loss-chunk N``: :func:`batch_loss`) and scoring (validation, ``python -m
lyrics_gpt2.perplexity``: ``lyrics_gpt2.evaluation.scoring.score_songs``) call it::

    hidden, head = final_hidden(model, input_ids, attention_mask)   # [B, T, d], the output layer
    loss = sliced_loss(hidden, head, labels, chunk=512)             # = model(..., labels).loss
    nll = sliced_nll(hidden, head, labels, chunk=512)               # [B, T-1] per target, no grad

Why: with GPT-2's 50,259-token vocabulary one batch of 16 x 300 positions has 920 MB of fp32
logits, and the model's own loss keeps several tensors of that size alive at once (the logits,
their log-softmax, the gradient of each in backward): the ``tiny`` preset peaked at 3.7-3.9 GB
of RSS for a 6.9M-parameter model. Here the output layer and the cross-entropy run over ``chunk``
positions at a time. In training each slice's gradients (for its hidden states and for the
output layer's parameters) are taken in the forward pass, while the slice's logits exist, and
backward only scales them by the loss's gradient (the method of Liger Kernel's fused linear
cross-entropy, here in plain PyTorch for CPU and GPU alike): nothing is recomputed and at most one
slice of logits is alive, ``3 x chunk x vocabulary x 4`` bytes at the peak (~150 MB for 256
positions of GPT-2's vocabulary).

The loss is the model's (``transformers``' ``ForCausalLMLoss``: position t's logits scored
against label t+1, IGNORE_INDEX skipped, the mean over targets), summed in another order, so it
agrees to float rounding (tests/training/test_lm_loss.py checks values and gradients). The
output layer is called as a module, so whatever wraps it (PEFT's LoRA token rows, the pad-row
mask of ``--pad-vocab``) applies as in the model's own forward.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from lyrics_gpt2.data import IGNORE_INDEX

DEFAULT_CHUNK = 256  # positions per slice on CPU: ~150 MB of logits work for GPT-2's vocabulary


def output_parts(model) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The body (last hidden state after the final norm) and the output layer of a causal LM,
    through accelerate's wrappers (DDP, torch.compile) and PEFT's."""
    from accelerate.utils import extract_model_from_parallel

    inner = extract_model_from_parallel(model, keep_torch_compile=False)
    if hasattr(inner, "get_base_model"):  # a PeftModel
        inner = inner.get_base_model()
    return inner.base_model, inner.get_output_embeddings()


def final_hidden(model, input_ids, attention_mask) -> tuple[torch.Tensor, torch.nn.Module]:
    """Run ``model`` (through its wrappers, so DDP still syncs gradients) and return its last
    hidden states [B, T, d] with its output layer; the model's own logits are cut to one
    position (``logits_to_keep=1``), which costs B x vocabulary."""
    body, head = output_parts(model)
    seen: list[torch.Tensor] = []
    handle = body.register_forward_hook(lambda _module, _args, out: seen.append(out[0]))
    try:
        model(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=1)
    finally:
        handle.remove()
    return seen[-1], head


def _targets(labels: torch.Tensor) -> torch.Tensor:
    """Label t+1 for position t; the last position has none (the model's own shift)."""
    return F.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)


def _slice_nll(head, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = head(hidden).float()  # upcast as ForCausalLMLoss does
    return F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX, reduction="none")


@torch.no_grad()
def sliced_nll(hidden: torch.Tensor, head, labels: torch.Tensor, chunk: int) -> torch.Tensor:
    """NLL (nats, float32) of every position's next token, [B, T-1]; 0 where the label is
    IGNORE_INDEX. Slices with no target are skipped."""
    batch, width = labels.shape
    flat_h = hidden.reshape(batch * width, -1)
    flat_t = _targets(labels).reshape(-1)
    out = torch.zeros(batch * width, dtype=torch.float32, device=hidden.device)
    for start in range(0, batch * width, chunk):
        t = flat_t[start : start + chunk]
        if bool((t != IGNORE_INDEX).any()):
            out[start : start + chunk] = _slice_nll(head, flat_h[start : start + chunk], t)
    return out.view(batch, width)[:, :-1]


class _SlicedSum(torch.autograd.Function):
    """Summed NLL over all targets; gradients taken slice by slice in forward, scaled in
    backward. ``params``: the output layer's parameters that train (apply's trailing inputs)."""

    @staticmethod
    def forward(ctx, hidden, targets, head, chunk, *params):
        flat_h = hidden.detach().reshape(-1, hidden.shape[-1])
        flat_t = targets.reshape(-1)
        want_h = ctx.needs_input_grad[0]
        grad_h = torch.zeros_like(flat_h) if want_h else None
        grad_p = [torch.zeros_like(p) for p in params]
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, flat_t.numel(), chunk):
            t = flat_t[start : start + chunk]
            if not bool((t != IGNORE_INDEX).any()):
                continue  # padding only: no loss, no gradient
            h = flat_h[start : start + chunk].detach().requires_grad_(want_h)
            with torch.enable_grad():
                loss = _slice_nll(head, h, t).sum()
            inputs = ([h] if want_h else []) + list(params)
            if inputs:
                grads = torch.autograd.grad(loss, inputs, allow_unused=True)
                if want_h:
                    grad_h[start : start + chunk] = grads[0]
                    grads = grads[1:]
                for acc, g in zip(grad_p, grads, strict=True):
                    if g is not None:
                        acc += g
            total += loss.detach()
        ctx.shape = hidden.shape
        ctx.save_for_backward(*([grad_h] if want_h else []), *grad_p)
        ctx.want_h = want_h
        return total

    @staticmethod
    def backward(ctx, grad_out):
        saved = list(ctx.saved_tensors)
        grad_h = saved.pop(0).mul(grad_out).view(ctx.shape) if ctx.want_h else None
        return (grad_h, None, None, None, *(g.mul(grad_out) for g in saved))


def sliced_loss(hidden: torch.Tensor, head, labels: torch.Tensor, chunk: int) -> torch.Tensor:
    """Mean next-token NLL over the batch's targets, with gradients for ``hidden`` and the output
    layer's parameters: the model's own loss without its full logits."""
    targets = _targets(labels)
    count = (targets != IGNORE_INDEX).sum()
    params = [p for p in head.parameters() if p.requires_grad] if torch.is_grad_enabled() else []
    total = _SlicedSum.apply(hidden, targets, head, chunk, *params)
    return total / count


def choose_chunk(requested: int | None, device, compiled: bool) -> int:
    """``--loss-chunk``: as given, else sliced on CPU, where the logits' memory is the limit, and
    whole (0) on a GPU or under torch.compile, whose tuned recipe (benchmarks/train.py --gpu)
    stays as measured."""
    if requested is not None:
        return requested
    return 0 if compiled or torch.device(device).type != "cpu" else DEFAULT_CHUNK


def batch_loss(model, batch: dict, chunk: int, autocast=contextlib.nullcontext) -> torch.Tensor:
    """A training batch's mean next-token loss: the model's own (``chunk`` 0) or sliced.
    ``autocast``: the run's mixed-precision context (``accelerator.autocast``), which the model's
    forward has inside it and the sliced output layer, run outside it, needs as well."""
    if not chunk:
        return model(**batch).loss
    hidden, head = final_hidden(model, batch["input_ids"], batch["attention_mask"])
    with autocast():
        return sliced_loss(hidden, head, batch["labels"], chunk)
