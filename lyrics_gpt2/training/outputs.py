"""What a training run writes besides checkpoints: ``metrics.jsonl`` and the model folder.

lyrics_gpt2/train.py appends one line per optimizer step and per validation to ``metrics.jsonl``
(:class:`MetricsLog`; lyrics_gpt2.training.plots draws the loss curves from it) and exports the weights,
config, generation defaults and tokenizer as a Hugging Face folder (:func:`save_hf_folder`) that
``AutoModelForCausalLM.from_pretrained`` and lyrics_gpt2.modeling.load_trained read.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lyrics_gpt2.data import load_tokenized
from lyrics_gpt2.fileio import atomic_path, read_json
from lyrics_gpt2.inference.params import generation_defaults
from lyrics_gpt2.modeling import ModelSource, base_from_summary, model_fingerprint
from lyrics_gpt2.songcraft.forms import FORMS_FILE, write_forms
from lyrics_gpt2.tokenizer import make_portable


class MetricsLog:
    """metrics.jsonl, one JSON object per line, written by the main process only."""

    def __init__(self, path: Path, enabled: bool, keep_through_step: int | None):
        self.path, self.enabled = path, enabled
        if not enabled:
            return
        kept = []
        if keep_through_step is not None and path.is_file():
            with path.open() as f:
                kept = [
                    ln for ln in f if ln.strip() and json.loads(ln)["step"] <= keep_through_step
                ]
        with atomic_path(path) as tmp:
            tmp.write_text("".join(kept))
        self._file = path.open("a")

    def write(self, record: dict) -> None:
        if self.enabled:
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self.enabled:
            self._file.close()


class StepMeter:
    """Per-step training sums kept on the device, copied to the host every few steps.

    ``float(loss)`` each step would make the host wait for the GPU each step. Here each step's
    sums (NLL, target tokens, real tokens, batch positions) stay on the device; :meth:`flush`
    reduces the window's [steps, 4] over all processes and copies it in one go (``--log-every``).
    """

    def __init__(self, device):
        import torch

        self.device, self.torch = device, torch
        self.current = torch.zeros(4, dtype=torch.float64, device=device)
        self.steps: list[tuple[int, float, float, object]] = []  # step, lr, epoch, sums

    def add(self, loss, batch) -> None:
        from lyrics_gpt2.data import IGNORE_INDEX

        mask = batch["attention_mask"]
        targets = (batch["labels"][:, 1:] != IGNORE_INDEX).sum().double()
        # new_full writes the host integer in a kernel argument: no host-to-device copy.
        positions = mask.new_full((), mask.numel(), dtype=self.torch.float64)
        nll = loss.detach().double() * targets
        self.current += self.torch.stack([nll, targets, mask.sum().double(), positions])

    def end_step(self, step: int, lr: float, epoch: float) -> None:
        self.steps.append((step, lr, epoch, self.current))
        self.current = self.torch.zeros(4, dtype=self.torch.float64, device=self.device)

    def flush(self, accelerator) -> list[tuple[int, float, float, list[float]]]:
        """The steps since the last flush: (step, lr, epoch, [nll, targets, tokens, positions])
        summed over processes. Every process must call it at the same steps."""
        if not self.steps:
            return []
        sums = self.torch.stack([s[3] for s in self.steps])
        sums = accelerator.reduce(sums, reduction="sum").tolist()
        out = [(*s[:3], row) for s, row in zip(self.steps, sums, strict=True)]
        self.steps = []
        return out


def save_hf_folder(
    model, tokenizer, dest: Path, seq_len: int, state_dict=None, record=None
) -> None:
    """A folder ``from_pretrained`` and ``pipeline`` load: weights, config, generation defaults,
    tokenizer. Files are written to a temporary folder and moved in one by one when complete;
    ``record(*names)`` (a RunFolder's) lists them as ours before they move in."""
    from transformers import GenerationConfig

    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export.", dir=dest))
    try:
        model.generation_config = GenerationConfig(**generation_defaults(tokenizer, seq_len))
        model.save_pretrained(tmp, state_dict=state_dict)
        tokenizer.save_pretrained(tmp)
        make_portable(tmp)  # transformers 4.x and vLLM load it too
        if record is not None:
            record(*(item.name for item in tmp.iterdir()))
        for item in sorted(tmp.iterdir()):
            os.replace(item, dest / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# What a training run writes into --output-dir: a folder written before ownership markers is
# adopted as a run (lyrics_gpt2.fileio.claim_folder) only when it holds nothing else.
RUN_OUTPUTS = (
    "summary.json",
    "forms.json",
    "model.safetensors",
    "pytorch_model.bin",
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "metrics.jsonl",
    "train_loss.png",
    "val_loss.png",
    "val_loss_late.png",
    "untuned",
    "adapter",
    "checkpoints",
    "runs",
)


def plain_state_dict(state_dict: dict) -> dict:
    """Weights keyed as the bare model names them: torch.compile's wrapper adds ``_orig_mod.``,
    which ``from_pretrained`` would not recognise (it would silently start from random weights)."""
    return {k.replace("_orig_mod.", ""): v for k, v in state_dict.items()}


def summary_base(model_dir: str | Path, base: str, kind: str) -> dict[str, Any]:
    """What summary.json records of the base model: a folder relative to ``model_dir`` (hub ids
    as they are) and the folder's fingerprint.

    When ``base`` is itself a training run's folder (``--model artifacts/model`` continues a
    finished run), the chain is followed to that run's own base, so the recorded base stays the
    original untuned model (the hub's GPT-2, or the from-scratch run's ``untuned/``)."""
    if kind != "hub" and (Path(base) / "summary.json").is_file():
        root = base_from_summary(base)
        if root is not None:
            base = root
            if not Path(root).exists():  # a hub id
                return {"base_model": root, "base_model_fingerprint": None}
    if kind == "hub":
        return {"base_model": base, "base_model_fingerprint": None}
    rel = os.path.relpath(Path(base).resolve(), Path(model_dir).resolve())
    return {"base_model": rel, "base_model_fingerprint": model_fingerprint(base)}


def parent_record(source: ModelSource) -> dict[str, Any] | None:
    """What summary.json records under ``parent`` when ``--model`` is an earlier training run's
    folder: its path, its weights' fingerprint and a digest of its summary.json (which run it
    was), with its steps and final validation loss. None for anything else."""
    import hashlib

    path = Path(source.ref)
    if source.kind != "local" or not (path / "summary.json").is_file():
        return None
    raw = (path / "summary.json").read_bytes()
    summary = read_json(path / "summary.json") or {}
    return {
        "path": str(path),
        "fingerprint": model_fingerprint(path),
        "summary_digest": hashlib.blake2b(raw, digest_size=12).hexdigest(),
        "steps": summary.get("steps"),
        "final_val_loss": summary.get("final_val_loss"),
    }


def save_forms(out: Path, data_dir, manifest, record) -> None:
    """``out/forms.json`` (the forms generate draws from without --form) for a model whose data
    has section tokens; nothing for one without."""
    if manifest.section_token_ids:
        record(FORMS_FILE)
        write_forms(out, load_tokenized(data_dir)[0]["train"], manifest.section_token_ids)


def peak_memory(device) -> dict:
    """This process's peak memory in MiB: resident set (weights, data, everything it touched) and,
    on CUDA, the allocator's peak on the device (what the training step itself needed there)."""
    import resource

    import torch

    out = {"peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if device.type == "cuda":
        out["peak_device_memory_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return out


def run_summary(
    args, out: Path, state, data, source, base_model: str, accelerator, *, parameters: int,
    trainable: dict, genre_rows, batches_per_epoch: int, resume_from, plots, wall_time_s: float,
) -> dict:  # fmt: skip
    """summary.json of a finished GPT-2 run: what was trained from what, on which data, how long
    and how well. Its ``base_model`` is what ``python -m lyrics_gpt2.perplexity`` compares with."""
    from lyrics_gpt2.training import lora

    seq_positions = state.positions_seen
    base = summary_base(out, base_model, source.kind)
    train_s = state.train_time_s
    return {
        **base,
        "base_model_kind": source.kind,
        "model_arg": args.model,
        "untuned_model": base["base_model"] if source.kind == "scratch" else None,
        "parameters": parameters,
        **trainable,
        "lora": lora.summary(args, genre_rows) if args.lora else None,
        "parent": parent_record(source),
        "gradient_checkpointing": args.gradient_checkpointing,
        "pad_vocab": args.pad_vocab,
        "data_dir": str(Path(args.data_dir).resolve()),
        "output_dir": str(out.resolve()),
        "preset": args.preset,
        "steps": state.step,
        "epochs": state.epoch + state.batch_in_epoch / max(1, batches_per_epoch),
        # rows: what a step draws from; songs: a long song is several rows
        "train_rows": len(data.train),
        "train_songs": data.songs["train"],
        "val_rows": len(data.validation),
        "val_songs": data.songs["validation"],
        "tokens_seen": state.tokens_seen,
        "final_val_loss": state.last_val.get("val_loss"),
        "final_val_perplexity": state.last_val.get("val_ppl"),
        "train_time_s": round(train_s, 3),
        "wall_time_s": round(wall_time_s, 3),
        "tokens_per_s": state.tokens_seen / train_s if train_s else None,
        "padding_share": 1 - state.tokens_seen / seq_positions if seq_positions else None,
        "data_wait_share": state.data_wait_s / train_s if train_s else None,
        **peak_memory(accelerator.device),
        "num_processes": accelerator.num_processes,
        "mixed_precision": accelerator.mixed_precision,
        "resumed_from": str(resume_from) if resume_from else None,
        "plots": [p.name for p in plots],
        "args": args.to_dict(),
    }
