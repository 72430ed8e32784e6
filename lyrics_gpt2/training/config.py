"""Training settings: one typed dataclass, presets as JSON files, and the command-line parser.

Precedence: dataclass defaults < preset file (``--preset tiny`` or ``--preset my.json``) < flags.
Every field is a flag (``batch_size`` -> ``--batch-size``) documented by its one-line help.
A preset may also hold ``gpt2_config``: the architecture of the from-scratch model it names
(``"model": "tiny"``), so ``--model tiny`` builds that GPT-2 with fresh weights.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lyrics_gpt2.cli import ArgumentParser
from lyrics_gpt2.errors import Problems, UsageError
from lyrics_gpt2.modeling import PRESETS_DIR, architecture, preset_path
from lyrics_gpt2.training.tracking import TRACKERS

MIXED_PRECISION = ("auto", "no", "bf16", "fp16")
LR_SCHEDULES = ("cosine", "linear", "constant")
# GPT-2's Conv1D projections: fused q/k/v, attention and MLP outputs (both c_proj), MLP input.
LORA_TARGETS = ("c_attn", "c_proj", "c_fc")
# Preset keys that describe the preset rather than set a field.
PRESET_META = ("description", "gpt2_config")


def _f(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with its one line of documentation (shown by --help)."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainArgs:
    # Data and model
    data_dir: str = _f("artifacts/data", "folder with tokenizer/ and tokenized/ from preprocessing")
    output_dir: str = _f("artifacts/model", "where the model, metrics, plots and checkpoints go")
    model: str = _f("gpt2", "hub id, local HF model folder, or a from-scratch preset name (tiny)")
    model_config: dict = _f({}, "GPT2Config overrides for a from-scratch model, e.g. n_layer=1")  # noqa: RUF009
    dropout: float | None = _f(None, "set every dropout of the model (default: keep the model's)")
    # Optimisation
    batch_size: int = _f(8, "songs per batch on each process")
    grad_accum: int = _f(1, "batches accumulated per optimizer step")
    lr: float = _f(5e-5, "peak learning rate of AdamW")
    weight_decay: float = _f(0.01, "AdamW weight decay on weight matrices (not biases/norms)")
    warmup_steps: int = _f(100, "optimizer steps of linear warmup from 0 to --lr")
    lr_schedule: str = _f("cosine", f"decay after warmup: {', '.join(LR_SCHEDULES)}")
    min_lr_ratio: float = _f(0.1, "final learning rate as a fraction of --lr")
    max_grad_norm: float = _f(1.0, "clip the gradient norm to this (0: no clipping)")
    epochs: int = _f(1, "passes over the training split")
    max_steps: int | None = _f(None, "stop after this many optimizer steps (caps --epochs)")
    seed: int = _f(42, "seed for weights, shuffling and dropout")
    mixed_precision: str = _f("auto", "auto (bf16/fp16 on GPU, none on CPU), no, bf16 or fp16")
    compile: bool = _f(False, "torch.compile the model (GPU; pair with --pad-to-multiple-of)")
    pad_to_multiple_of: int = _f(
        1, "round trimmed batch width up to this (8 on GPU; seq_len: no trim)"
    )
    num_workers: int = _f(0, "DataLoader worker processes")
    pad_vocab: int = _f(
        1, "round embedding rows up to a multiple of this (64 on GPU); pad rows never score"
    )
    gradient_checkpointing: bool = _f(
        False, "recompute block activations in backward: less memory, slower steps"
    )
    log_every: int = _f(10, "copy step metrics to the host every N steps (no per-step sync)")
    loss_chunk: int | None = _f(
        None,
        "positions per slice of the output layer and loss, so a batch's full logits never exist "
        "(0: the model's own loss; default 256 on CPU, 0 on GPU or with --compile)",
    )
    # LoRA (lyrics_gpt2/training/lora.py)
    lora: int = _f(0, "LoRA rank: train adapters and genre-token rows only (0: full fine-tuning)")
    lora_alpha: float | None = _f(
        None, "LoRA alpha; adapter scale is alpha/rank (default: 2 x rank)"
    )
    lora_dropout: float = _f(0.05, "dropout on the LoRA adapters' input")
    lora_targets: str = _f(
        "c_attn,c_proj,c_fc", f"GPT-2 modules given adapters: {', '.join(LORA_TARGETS)}"
    )
    # Validation
    eval_every: int = _f(
        1000, "validate every N optimizer steps, and at step 0 (0: start/end only)"
    )
    eval_max_songs: int | None = _f(None, "validate on the first N validation songs (default: all)")
    eval_at_start: bool = _f(
        True, "validate the untrained model at step 0 (--no-eval-at-start: the first step sooner)"
    )
    eval_batch_size: int | None = _f(None, "songs per validation batch (default: --batch-size)")
    # Checkpoints
    checkpoint_every: int = _f(1000, "save a resumable checkpoint every N optimizer steps (0: off)")
    keep_checkpoints: int = _f(2, "how many of the newest checkpoints to keep")
    resume: str | None = _f(None, "'latest' or a checkpoint folder to continue from")
    overwrite: bool = _f(
        False, "start afresh even if --output-dir holds an earlier run's checkpoints"
    )
    # Logging
    report_to: str = _f("none", f"experiment tracker (accelerate's): {', '.join(TRACKERS)}")
    preset: str | None = _f(None, "preset name (tiny, gpt2, gpt2-scratch) or JSON file")

    def validate(self) -> None:
        """Check every field; raise one UsageError naming all problems."""
        problems = Problems()
        need = problems.require

        for name in (
            "batch_size",
            "grad_accum",
            "epochs",
            "pad_to_multiple_of",
            "keep_checkpoints",
            "pad_vocab",
            "log_every",
        ):
            need(getattr(self, name) >= 1, f"--{_flag(name)} must be at least 1")
        need(self.loss_chunk is None or self.loss_chunk >= 0, "--loss-chunk must not be negative")
        for name in ("max_steps", "eval_max_songs", "eval_batch_size"):
            value = getattr(self, name)
            need(value is None or value >= 1, f"--{_flag(name)} must be at least 1")
        for name in (
            "warmup_steps",
            "eval_every",
            "checkpoint_every",
            "num_workers",
            "seed",
            "lora",
        ):
            need(getattr(self, name) >= 0, f"--{_flag(name)} must not be negative")
        need(self.lr > 0, "--lr must be positive")
        need(self.weight_decay >= 0, "--weight-decay must not be negative")
        need(self.max_grad_norm >= 0, "--max-grad-norm must not be negative")
        need(0 <= self.min_lr_ratio <= 1, "--min-lr-ratio must be within 0..1")
        need(self.dropout is None or 0 <= self.dropout < 1, "--dropout must be within [0, 1)")
        need(
            self.mixed_precision in MIXED_PRECISION, f"--mixed-precision: one of {MIXED_PRECISION}"
        )
        need(self.lr_schedule in LR_SCHEDULES, f"--lr-schedule: one of {LR_SCHEDULES}")
        need(self.report_to in TRACKERS, f"--report-to: one of {TRACKERS}")
        need(isinstance(self.model_config, dict), "--model-config must be KEY=VALUE pairs")
        need(bool(self.model.strip()), "--model must not be empty")
        need(self.lora_alpha is None or self.lora_alpha > 0, "--lora-alpha must be positive")
        need(self.lora_alpha is None or self.lora > 0, "--lora-alpha needs --lora RANK (>= 1)")
        need(0 <= self.lora_dropout < 1, "--lora-dropout must be within [0, 1)")
        bad = [t for t in self.lora_target_list if t not in LORA_TARGETS]
        need(
            self.lora_target_list and not bad,
            f"--lora-targets: comma-separated names from {', '.join(LORA_TARGETS)}"
            + (f" (unknown: {', '.join(bad)})" if bad else ""),
        )
        problems.raise_if_any()

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> TrainArgs:
        """Build from a preset's and the flags' merged values, refusing every value of the wrong
        type in one UsageError (a preset is JSON: ``"batch_size": "abc"`` must not reach training,
        where it would fail as a traceback or, worse, compare as a string)."""
        problems = Problems()
        for f in dataclasses.fields(cls):
            if f.name in values:
                problems.require(
                    _type_ok(values[f.name], f.type),
                    f"{_flag(f.name)} must be {_TYPE_WORDS.get(f.type, f.type)} "
                    f"(got {values[f.name]!r})",
                )
        problems.raise_if_any()
        args = cls(**values)
        check_model_config(args.model_config)
        args.validate()
        return args

    @property
    def lora_target_list(self) -> list[str]:
        return [t.strip() for t in self.lora_targets.split(",") if t.strip()]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# The annotation strings of TrainArgs' fields -> the JSON values each accepts.
_TYPE_WORDS = {
    "int": "an integer",
    "int | None": "an integer or null",
    "float": "a number",
    "float | None": "a number or null",
    "bool": "true or false",
    "str": "a string",
    "str | None": "a string or null",
    "dict": "an object of KEY: VALUE",
}


def _type_ok(value: Any, annotation: str) -> bool:
    if annotation.endswith(" | None") and value is None:
        return True
    kind = annotation.removesuffix(" | None")
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):  # JSON true is not the integer 1 here
        return False
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, (int, float))
    if kind == "str":
        return isinstance(value, str)
    if kind == "dict":
        return isinstance(value, dict)
    return True


def gpt2_config_defaults() -> dict[str, Any]:
    """Every key a GPT2Config takes, with its default value (which gives its type)."""
    from transformers import GPT2Config

    return GPT2Config().to_dict()


def check_model_config(overrides: dict[str, Any], where: str = "--model-config") -> None:
    """Refuse unknown GPT2Config keys (a typo such as ``n_layers`` would be ignored otherwise)
    and values of the wrong type, naming the valid keys; one UsageError for all of them."""
    if not overrides:
        return
    defaults = gpt2_config_defaults()
    problems = Problems()
    unknown = sorted(k for k in overrides if k not in defaults)
    if unknown:
        valid = sorted(k for k, v in defaults.items() if isinstance(v, (int, float, str)))
        problems.add(
            f"{where}: unknown GPT2Config key(s) {', '.join(unknown)}; valid keys: "
            f"{', '.join(valid)}"
        )
    for key, value in overrides.items():
        default = defaults.get(key)
        if key in unknown or default is None:
            continue
        kind = type(default).__name__
        if kind == "float":
            kind = "float | None"  # an integer is a fine float
        problems.require(
            _type_ok(value, kind.removesuffix(" | None") if kind == "bool" else kind),
            f"{where}: {key} must be {_TYPE_WORDS.get(kind, kind)} (got {value!r})",
        )
    problems.raise_if_any()


def _flag(name: str) -> str:
    return name.replace("_", "-")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def load_preset(name: str) -> dict[str, Any]:
    """A preset's raw JSON; UsageError when it is missing, unreadable or names unknown fields."""
    path = preset_path(name)
    if path is None:
        raise UsageError(
            f"no preset {name!r}; use one of {', '.join(preset_names())} or a .json file"
        )
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise UsageError(f"preset {path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read preset {path}: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise UsageError(
            f"preset {path} must be a JSON object of settings, not a {type(data).__name__}"
        )
    arch = data.get("gpt2_config")
    if arch is not None and not isinstance(arch, dict):
        raise UsageError(f"preset {path}: gpt2_config must be an object of GPT2Config keys")
    known = {f.name for f in dataclasses.fields(TrainArgs)} | set(PRESET_META)
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"preset {path} has unknown keys: {', '.join(unknown)}")
    return data


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _model_config(text: str) -> dict[str, Any]:
    """``n_layer=1,n_embd=32`` -> {"n_layer": 1, "n_embd": 32}."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {part!r}")
        out[key.strip()] = _parse_value(value.strip())
    return out


def _optional(kind):
    def convert(text: str):
        return None if text.lower() in ("none", "") else kind(text)

    convert.__name__ = kind.__name__
    return convert


def build_parser(prog: str, description: str, epilog: str | None = None) -> ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for f in dataclasses.fields(TrainArgs):
        flag = f"--{_flag(f.name)}"
        help_text = f.metadata["help"]
        kw: dict[str, Any] = {"default": argparse.SUPPRESS, "help": help_text}
        if f.type == "bool":
            kw["action"] = argparse.BooleanOptionalAction
        elif f.name == "model_config":
            kw.update(type=_model_config, metavar="KEY=VALUE,...")
        elif f.type in ("int", "float"):
            kw["type"] = {"int": int, "float": float}[f.type]
        elif f.type in ("int | None", "float | None"):
            kw["type"] = _optional(int if f.type.startswith("int") else float)
        if f.name == "mixed_precision":
            kw["choices"] = MIXED_PRECISION
        elif f.name == "lr_schedule":
            kw["choices"] = LR_SCHEDULES
        elif f.name == "report_to":
            kw["choices"] = TRACKERS
        parser.add_argument(flag, **kw)
    return parser


def parse_train_args(
    argv: Sequence[str] | None,
    prog: str = "train",
    description: str = "",
    epilog: str | None = None,
) -> TrainArgs:
    """Defaults, then the preset (if any), then the flags; validated."""
    given = vars(build_parser(prog, description, epilog).parse_args(argv))
    values: dict[str, Any] = {}
    preset: dict[str, Any] = {}
    if given.get("preset"):
        preset = load_preset(given["preset"])
        values.update({k: v for k, v in preset.items() if k not in PRESET_META})
    flag_config = given.pop("model_config", None)
    values.update(given)
    # A preset's own architecture is honoured when its "model" names another preset (my.json
    # with "model": "tiny" and a gpt2_config): it overrides that preset's architecture, and
    # --model-config overrides both. With --model changed by a flag it no longer applies.
    own = preset.get("gpt2_config") or {}
    model = values.get("model", TrainArgs.model)
    base = values.get("model_config", {})
    same_model = own and model == preset.get("model") and isinstance(base, dict)
    if same_model and (not isinstance(model, str) or architecture(model) != own):
        values["model_config"] = {**own, **base}
    if flag_config is not None:
        base = values.get("model_config")
        values["model_config"] = {**(base if isinstance(base, dict) else {}), **flag_config}
    return TrainArgs.from_values(values)
