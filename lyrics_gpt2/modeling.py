"""Models: build one to train (:func:`build_model`), load a trained one (:func:`load_trained`).

Training (lyrics_gpt2/train.py) calls ``build_model(name, tokenizer)``:
``build_model("gpt2", tokenizer)`` fetches GPT-2 from the hub (or its cache);
``build_model("path/to/folder", tokenizer)`` loads a saved model, e.g. a previous training run;
``build_model("tiny", tokenizer)`` builds a GPT-2 with fresh weights from the ``gpt2_config`` of
``lyrics_gpt2/presets/tiny.json``. The embeddings are resized to the tokenizer: rows for the
tokens the model lacks (the ``[Genre: X]`` control tokens) start as the mean of the existing rows,
so a new token begins as an "average" token rather than random noise far from the rest.

Generation and perplexity call ``load_trained(DIR)``: the causal LM a training run saved, on the
best device, in eval mode. A trained folder (``artifacts/model`` by default) is a Hugging Face
folder: ``config.json``, ``model.safetensors``, ``generation_config.json``, the tokenizer with its
``[Genre: X]`` tokens, and ``summary.json``, whose ``base_model`` names the untuned model it
started from (:func:`base_from_summary`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lyrics_gpt2.errors import UsageError, first_line
from lyrics_gpt2.fileio import read_json
from lyrics_gpt2.tokenizer import check_vocab_prefix, mismatched_tokens

DEFAULT_MODEL = Path("artifacts/model")


# Training presets (JSON): their gpt2_config names a from-scratch architecture.
PRESETS_DIR = Path(__file__).resolve().parent / "presets"


def preset_path(name: str) -> Path | None:
    """The file of a preset given by name (tiny) or path (my.json); None when there is none."""
    path = Path(name)
    if path.suffix == ".json" and path.is_file():
        return path
    builtin = PRESETS_DIR / f"{name}.json"
    return builtin if builtin.is_file() else None


def architecture(name: str) -> dict[str, Any] | None:
    """The GPT2Config keys of from-scratch model ``name`` (a preset with gpt2_config), or None.
    Only the architecture is read here; lyrics_gpt2.training.config checks the rest of a preset."""
    path = preset_path(name) if not Path(name).is_dir() else None
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read preset {path}: {first_line(exc)}") from None
    arch = data.get("gpt2_config") if isinstance(data, dict) else None
    if arch is not None and not isinstance(arch, dict):
        raise UsageError(f"preset {path}: gpt2_config must be an object of GPT2Config keys")
    return arch


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "scratch", "local" or "hub"
    ref: str  # preset name, absolute folder path, or hub id


def resolve_model(name: str) -> ModelSource:
    """Decide what ``--model`` names: a local folder wins over a preset, a preset over the hub."""
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource("local", str(path.resolve()))
    if path.suffix == ".json" or architecture(name) is not None:
        return ModelSource("scratch", name)
    # A hub id is NAME or ORG/NAME; anything else that names no folder is a missing local path.
    if not re.fullmatch(r"[\w-][\w.-]*(/[\w-][\w.-]*)?", name):
        raise UsageError(f"--model {name}: no such model folder (nor a hub id ORG/NAME)")
    return ModelSource("hub", name)


def build_model(
    name: str,
    tokenizer,
    *,
    model_config: dict[str, Any] | None = None,
    dropout: float | None = None,
    seq_len: int | None = None,
    pad_vocab: int = 1,
):
    """The model for ``name`` with embeddings matching ``tokenizer``; returns (model, source).

    Attention runs through PyTorch's scaled_dot_product_attention (flash/memory-efficient kernels
    on GPU). ``pad_vocab`` > 1 rounds the embedding rows up to a multiple of it (GPU matmuls
    prefer multiples of 64); those rows are masked out of the logits (:func:`pad_embeddings`).
    """
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

    source = resolve_model(name)
    vocab = len(tokenizer)
    special = {"eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    if source.kind == "scratch":
        arch = dict(architecture(source.ref) or {})
        arch.update(model_config or {})
        try:
            config = GPT2Config(
                **arch,
                vocab_size=vocab,
                bos_token_id=tokenizer.eos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                attn_implementation="sdpa",
            )
        except (TypeError, ValueError) as exc:
            raise UsageError(f"bad GPT-2 config for preset {source.ref!r}: {exc}") from None
        unknown = sorted(k for k in arch if not hasattr(config, k))
        if unknown:
            raise UsageError(f"unknown GPT2Config keys in --model-config: {', '.join(unknown)}")
        if config.n_embd % config.n_head:
            raise UsageError(f"n_embd {config.n_embd} is not divisible by n_head {config.n_head}")
        model = GPT2LMHeadModel(config)
    else:
        if model_config:
            raise UsageError(
                f"--model-config only applies to from-scratch presets, not {source.kind} model {name!r}"
            )
        if source.kind == "local":
            check_weights(source.ref)
        try:
            model = AutoModelForCausalLM.from_pretrained(source.ref, attn_implementation="sdpa")
        except (OSError, ValueError) as exc:
            if source.kind == "hub":
                raise UsageError(
                    f"cannot load {name!r}: no local folder of that name, and not from the "
                    f"Hugging Face hub ({first_line(exc)}); "
                    "without network access pass a local model folder with --model DIR"
                ) from None
            raise UsageError(f"{name} is not a loadable model folder: {first_line(exc)}") from None
        check_vocab_prefix(source.ref, tokenizer)
        if source.kind == "local" and (Path(source.ref) / "summary.json").is_file():
            check_parent_tokenizer(source.ref, tokenizer)
    positions = getattr(model.config, "n_positions", None) or getattr(
        model.config, "max_position_embeddings", None
    )
    if seq_len is not None and positions is not None and positions < seq_len:
        raise UsageError(
            f"model {name!r} has {positions} positions but the data has seq_len {seq_len}; "
            "re-tokenize with a smaller --seq-len or use a larger model"
        )
    resize_embeddings(model, vocab, name)
    model.config.update(special)
    if model.generation_config is not None:
        for key, value in special.items():
            setattr(model.generation_config, key, value)
    if dropout is not None:
        set_dropout(model, dropout)
    pad_embeddings(model, vocab, pad_vocab)
    return model, source


def check_parent_tokenizer(folder: str, tokenizer) -> None:
    """A run continued from an earlier run's folder must read data of that run's tokenizer:
    same tokens, same ids, same size (its genre rows mean those genres and no others)."""
    from transformers import AutoTokenizer

    try:
        own = AutoTokenizer.from_pretrained(folder)
    except Exception:  # no tokenizer saved: nothing to compare (the embedding size still is)
        return
    if len(own) != len(tokenizer) or mismatched_tokens(tokenizer, own):
        raise UsageError(
            f"the data's tokenizer ({len(tokenizer)} tokens) is not the one model {folder} was "
            f"trained with ({len(own)} tokens); tokenize the data with --tokenizer {folder}"
        )


def pad_embeddings(model, vocab: int, multiple: int) -> None:
    """Grow the (tied) embeddings to a multiple of ``multiple`` rows and mask the extra rows out
    of the logits (-inf: they never score, never take probability mass, never get sampled).
    :func:`unpad_embeddings` removes them again before export."""
    padded = -(-vocab // multiple) * multiple
    if padded == vocab:
        return
    model.resize_token_embeddings(padded, mean_resizing=False)
    with torch.no_grad():
        for emb in {id(e.weight): e for e in embedding_layers(model)}.values():
            emb.weight[vocab:] = 0

    def mask(module, inputs, logits):
        # In place: the head's backward needs its input and weight, not its output.
        logits[..., vocab:] = float("-inf")
        return logits

    head = model.get_output_embeddings()
    head._pad_mask = head.register_forward_hook(mask)
    head._pad_mask_fn = mask  # lora.apply_lora hooks it on PEFT's wrapper of the head too


def unpad_embeddings(model, vocab: int) -> None:
    """Back to ``vocab`` rows (the tokenizer's): what is exported has no row to sample."""
    head = model.get_output_embeddings()
    handle = getattr(head, "_pad_mask", None)
    if handle is not None:
        handle.remove()
        del head._pad_mask, head._pad_mask_fn
    if model.get_input_embeddings().weight.shape[0] != vocab:
        model.resize_token_embeddings(vocab, mean_resizing=False)


def resize_embeddings(model, vocab: int, name: str = "model") -> None:
    """Grow the token embeddings to ``vocab`` rows; new rows are the mean of the old ones."""
    old = model.get_input_embeddings().weight.shape[0]
    if old == vocab:
        return
    if old > vocab:
        raise UsageError(
            f"model {name!r} has {old} token embeddings but the data's tokenizer only {vocab}; "
            "tokenize the data with the model's tokenizer"
        )
    model.resize_token_embeddings(vocab, mean_resizing=False)
    with torch.no_grad():
        for emb in {id(e.weight): e for e in embedding_layers(model)}.values():
            emb.weight[old:] = emb.weight[:old].mean(dim=0, keepdim=True)


def embedding_layers(model):
    """The input embedding and, when there is one, the output head (tied or not)."""
    out = [model.get_input_embeddings()]
    head = model.get_output_embeddings()
    if head is not None:
        out.append(head)
    return out


def set_dropout(model, p: float) -> None:
    for key in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
        if hasattr(model.config, key):
            setattr(model.config, key, p)
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p


# ---------------------------------------------------------------------------- trained models
def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a torch.device (default: cuda when available, else cpu); UsageError for a
    name torch does not know or a device this machine does not have (``--device cuda`` on CPU)."""
    if not device:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise UsageError(f"--device {device}: not a device name; use cpu, cuda or cuda:N") from None
    if dev.type == "cpu":
        return dev
    backend = getattr(torch, dev.type, None)
    available = getattr(backend, "is_available", lambda: False)()
    if not available:
        raise UsageError(
            f"--device {device}: no {dev.type} device on this machine; use --device cpu"
        )
    count = getattr(backend, "device_count", lambda: 1)()
    if dev.index is not None and dev.index >= count:
        raise UsageError(
            f"--device {device}: this machine has {count} {dev.type} device(s) (0..{count - 1})"
        )
    return dev


def add_device_flag(parser) -> None:
    """``--device`` as every command that runs a trained model spells it (see pick_device)."""
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, ... (default: cuda if available)"
    )


def quiet_transformers() -> None:
    """No weight-loading progress bars or once-per-run notes on a command's stderr."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def load_trained(path: str | Path, device: torch.device | str | None = None):
    """The causal LM in ``path`` (a folder or, with the hub reachable, a hub id), in eval mode."""
    from transformers import AutoModelForCausalLM

    local = Path(path)
    if not local.exists() and (local.is_absolute() or str(path).startswith(".")):
        raise UsageError(f"no model at {path}; train one first or pass --model DIR")
    dev = pick_device(device)
    if local.is_dir():
        check_weights(local)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        hint = (
            "train one with 'accelerate launch lyrics_gpt2/train.py' or pass --model DIR"
            if local.exists() or "/" in str(path)
            else "a hub id needs the network (or a local copy: pass its folder)"
        )
        raise UsageError(f"cannot load a model from {path} ({first_line(exc)}); {hint}") from None
    return model.to(dev).eval()


def check_weights(folder: str | Path) -> None:
    """UsageError naming the file when a model folder's weights are damaged (a truncated copy,
    a disk that filled up): safetensors reads only the header when it opens a file, so the
    header's byte ranges are checked against the file's size here, before a load crashes with a
    traceback halfway through."""
    import json
    import struct

    for weights in sorted(Path(folder).glob("*.safetensors")):
        size = weights.stat().st_size
        problem = None
        try:
            with weights.open("rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    problem = f"{size} bytes, shorter than a safetensors header"
                else:
                    (n,) = struct.unpack("<Q", head)
                    if 8 + n > size:
                        problem = "its header runs past the end of the file"
                    else:
                        header = json.loads(f.read(n))
                        tensors = [t for k, t in header.items() if k != "__metadata__"]
                        end = max((t["data_offsets"][1] for t in tensors), default=0)
                        if 8 + n + end > size:
                            problem = f"{size} bytes but its tensors need {8 + n + end}"
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            problem = f"unreadable ({first_line(exc)})"
        if problem:
            raise UsageError(
                f"{weights} is damaged or truncated ({problem}); copy it again or retrain"
            )


# Training's summary.json names the untuned starting point under "base_model": a hub id as is, or
# a folder relative to the model folder ("untuned" for a from-scratch run), so the two can move
# together; "base_model_fingerprint" tells whether the folder found there is still that model.
# Older summaries held an absolute folder, also under "untuned_model".
SUMMARY_BASE_KEYS = ("untuned_model", "base_model")


def model_fingerprint(folder: str | Path) -> str | None:
    """A cheap identity of a model folder: its config and the size, head and tail of its weights
    (not mtimes, so a copied or moved folder keeps it). None when the folder has no weights."""
    import hashlib

    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("pytorch_model*.bin"))
    if not files or not (folder / "config.json").is_file():
        return None
    h = hashlib.blake2b(digest_size=12)
    h.update((folder / "config.json").read_bytes())
    for f in files:
        size = f.stat().st_size
        h.update(f"{f.name}:{size}".encode())
        with f.open("rb") as fh:
            h.update(fh.read(1 << 16))
            fh.seek(max(0, size - (1 << 16)))
            h.update(fh.read(1 << 16))
    return h.hexdigest()


DEFAULT_DATA_DIR = Path("artifacts/data")


def data_dir_from_summary(model_dir: str | Path) -> Path:
    """The data folder training recorded in the model's summary.json when it still holds
    tokenized data, else artifacts/data (the default of ``--data-dir`` of perplexity and
    report): a model trained on another folder is scored on the data it was trained for."""
    recorded = (read_json(Path(model_dir) / "summary.json") or {}).get("data_dir")
    if isinstance(recorded, str) and (Path(recorded) / "tokenized").is_dir():
        return Path(recorded)
    return DEFAULT_DATA_DIR


def base_from_summary(model_dir: str | Path) -> str | None:
    """The untuned starting point training recorded, as a loadable path or hub id.

    A relative folder is looked up beside the model first, then from the current directory, so
    a model folder that was moved together with its base still finds it. When the folder found
    there is another model than the one training recorded (its fingerprint differs), a
    UsageError says so rather than silently comparing against it. None when the summary names
    none. A base that is itself a training run's folder (a model recorded before training
    followed ``--model DIR`` chains) is followed to its own base.
    """
    return _base_from_summary(Path(model_dir), depth=0)


def _base_from_summary(model_dir: Path, depth: int) -> str | None:
    summary = read_json(Path(model_dir) / "summary.json") or {}
    value = next((summary[k] for k in SUMMARY_BASE_KEYS if summary.get(k)), None)
    if not isinstance(value, str):
        return None
    found = next(
        (c for c in (Path(model_dir) / value, Path(value)) if c.exists()),
        None,
    )
    if found is None:
        return value
    recorded = summary.get("base_model_fingerprint")
    if recorded and model_fingerprint(found) != recorded:
        raise UsageError(
            f"the base model at {found} is not the one {model_dir} was trained from (its "
            "weights or config changed); pass the original with --base DIR, or --base none"
        )
    if depth < 16 and (found / "summary.json").is_file() and found.resolve() != model_dir.resolve():
        return _base_from_summary(found, depth + 1) or str(found)
    return str(found)
