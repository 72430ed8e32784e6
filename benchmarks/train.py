"""Training benchmarks: padding and data loading, our loop vs HF Trainer (tokens/s, MFU), LoRA
vs full fine-tuning and gradient checkpointing (tokens/s, peak memory). Every mode prints figures.

    python benchmarks/train.py                      # padding/trimming, tiny preset, CPU (issue 4)
    python benchmarks/train.py --data-dir artifacts/data --steps 60
    python benchmarks/train.py --mode loop          # ours vs transformers.Trainer, tiny, CPU
    python benchmarks/train.py --mode loop --threads 1 --steps 40   # the same, shared machine
    python benchmarks/train.py --gpu [--compile]    # the same on CUDA, GPT-2 124M, bf16
    python benchmarks/train.py --mode lora          # LoRA vs full, tiny and GPT-2 124M, CPU
    python benchmarks/train.py --mode checkpointing # gradient checkpointing on/off, same shapes

``--mode loop`` (``--gpu`` = ``--mode loop --device cuda --shape gpt2``) builds a synthetic corpus
of full-length rows (no padding, so tokens = positions), runs the real entry point
(``lyrics_gpt2/train.py``: bf16 autocast on CUDA, SDPA, fused AdamW, --pad-vocab 64, metrics
copied every --log-every steps) and ``transformers.Trainer`` on the same model (built by
``modeling.build_model``), data, collator, batch, optimizer settings and dropout 0, alternately
(``--repeats``, default 3), and prints the median and each run's real tokens/s and the MFU. Both
sides count real tokens (attention mask) over the same steps, N/2+1 .. N, timed from the end of
step N/2 to the end of step N (ours: its second --log-every window), with the same torch thread
count (``OMP_NUM_THREADS``; ``--threads``, default the cores): on a shared machine two threads
per process swing several-fold with the load, one thread is stable.

MFU = achieved FLOP/s / peak FLOP/s, with FLOPs per token = 6·N + 12·L·d·T (N: parameters
without the position table, the tied embedding counted once since it is the output layer's
matmul; L layers, d width, T sequence length: the attention scores and values, PaLM's
appendix B). Peak assumed: bf16 dense tensor-core figures (H100/H200 989 TFLOP/s, A100 312,
L4 121); on CPU cores x 3 GHz x 32 fp32 FLOP/cycle (two AVX2 FMA units), a rough ceiling;
``--peak-tflops`` overrides.

``--mode lora`` / ``--mode checkpointing`` run each configuration in a fresh process (GPT2Config,
random weights, GPT-2's vocabulary of 50,263, batch 4 x 256 tokens, 1 warm-up + 3 steps) and
print tokens/s and peak resident memory (the process's ``ru_maxrss``: everything it touched,
weights included) and its rise over the built model (the training step's own peak: gradients,
optimizer state, activations), the size of the gradient and AdamW state of what trains, and what
autograd saves for backward in one forward (activations and logits, weights left out; measured
after the peak is read, since the hooks change how tensors are kept).

The padding mode prints, for batches trimmed to their longest song (what training does) and
batches kept at the stored width, the share of positions that are padding, real tokens/s of the
real entry point and the share of step time spent waiting for the next batch (target < 5%).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lyrics_gpt2.testing import REPO, subprocess_env


def padding_shares(data_dir: Path, batch_size: int, seed: int = 42) -> tuple[float, float]:
    """Padding share of one epoch's batches: (stored width, trimmed to the longest song)."""
    from lyrics_gpt2.data import EpochShuffle, load_tokenized

    dataset, manifest = load_tokenized(data_dir)
    lengths = dataset["train"]["length"]
    order = list(EpochShuffle(len(lengths), seed))
    seq_len = manifest.seq_len
    real = full = trimmed = 0
    for i in range(0, len(order), batch_size):
        batch = [int(lengths[j]) for j in order[i : i + batch_size]]
        real += sum(batch)
        full += len(batch) * seq_len
        trimmed += len(batch) * max(batch)
    return 1 - real / full, 1 - real / trimmed


def run_training(
    data_dir: Path, out: Path, flags: list[str], launcher: list[str], env_extra=None
) -> dict:
    env = subprocess_env(TQDM_DISABLE="1", **(env_extra or {}))
    cmd = [*launcher, str(REPO / "lyrics_gpt2" / "train.py"), "--data-dir", str(data_dir)]
    cmd += ["--output-dir", str(out), *flags]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"training failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["tokens_per_s"] for r in records if r["kind"] == "train"]
    summary["median_tokens_per_s_late"] = statistics.median(rates[len(rates) // 2 :])
    summary["last_window_tokens_per_s"] = rates[-1]  # every step of a window has its rate
    return summary


def cpu(args: argparse.Namespace, work: Path) -> None:
    from lyrics_gpt2.testing import write_tiny_dataset

    data_dir = args.data_dir
    if data_dir is None:
        # Many songs, stored at width 300 like the real data; the tiny songs are short.
        data_dir = write_tiny_dataset(
            work / "data", genres=("pop", "rap", "rock"), train_per_genre=400, seq_len=300
        )
    from lyrics_gpt2.data import load_tokenized

    seq_len = load_tokenized(data_dir)[1].seq_len
    untrimmed_pad, trimmed_pad = padding_shares(data_dir, args.batch_size or 16)
    common = ["--preset", "tiny", "--max-steps", str(args.steps), "--eval-every", "0"]
    common += ["--checkpoint-every", "0", "--eval-max-songs", "32", "--epochs", "100"]
    if args.batch_size:
        common += ["--batch-size", str(args.batch_size)]
    launcher = [sys.executable]
    runs = {}
    for name, multiple in (("untrimmed", seq_len), ("trimmed", 1)):
        flags = [*common, "--pad-to-multiple-of", str(multiple)]
        runs[name] = run_training(data_dir, work / name, flags, launcher)
    print(f"data: {data_dir} (seq_len {seq_len}); tiny preset, {args.steps} steps, CPU")
    print(f"{'':34}{'untrimmed':>14}{'trimmed':>14}")
    print(f"{'padding share of batches (epoch)':34}{untrimmed_pad:>14.1%}{trimmed_pad:>14.1%}")
    row = [runs[k]["padding_share"] for k in ("untrimmed", "trimmed")]
    print(f"{'padding share (trained batches)':34}{row[0]:>14.1%}{row[1]:>14.1%}")
    row = [runs[k]["tokens_per_s"] for k in ("untrimmed", "trimmed")]
    print(f"{'real tokens/s (incl. warm-up)':34}{row[0]:>14,.0f}{row[1]:>14,.0f}")
    row = [runs[k]["median_tokens_per_s_late"] for k in ("untrimmed", "trimmed")]
    print(f"{'real tokens/s (steady, median)':34}{row[0]:>14,.0f}{row[1]:>14,.0f}")
    row = [runs[k]["data_wait_share"] for k in ("untrimmed", "trimmed")]
    print(f"{'share of step time waiting data':34}{row[0]:>14.2%}{row[1]:>14.2%}   (target < 5%)")
    print(f"load average: {os.getloadavg()}  cpus: {os.cpu_count()}")


def synthetic_gpt2_corpus(out: Path, songs: int, seq_len: int = 300, vocab: int = 50_257) -> Path:
    """Full-length songs over a ``vocab``-token vocabulary (plus the genre tokens), in the
    training-data contract (GPT-2's size by default)."""
    import numpy as np
    from datasets import Dataset, DatasetDict
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from lyrics_gpt2.data import features
    from lyrics_gpt2.fileio import write_json
    from lyrics_gpt2.genres import GENRE_TOKENS

    eos = vocab - 1
    words = {f"t{i}": i for i in range(eos)} | {"<|endoftext|>": eos}
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel(words, unk_token="<|endoftext|>")),
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    tok.add_special_tokens({"additional_special_tokens": list(GENRE_TOKENS.values())})
    genre_ids = {g: tok.convert_tokens_to_ids(t) for g, t in GENRE_TOKENS.items()}
    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", songs), ("validation", 64)):
        ids = rng.integers(0, eos, size=(n, seq_len), dtype=np.int32)
        ids[:, 0] = genre_ids["rap"]
        ids[:, -1] = eos
        splits[split] = Dataset.from_dict(
            {
                "input_ids": ids.tolist(),
                "length": [seq_len] * n,
                "genre": ["rap"] * n,
                "id": [f"{split}-{i}" for i in range(n)],
                "piece": [0] * n,
                "artist": ["a"] * n,
            },
            features=features("int32"),
        )
    tok.save_pretrained(out / "tokenizer")
    DatasetDict(splits).save_to_disk(str(out / "tokenized"))
    write_json(
        out / "tokenized" / "manifest.json",
        {
            "tokenizer": f"synthetic word level, {vocab} tokens (benchmark)",
            "vocab_size": len(tok),
            "seq_len": seq_len,
            "eos_token_id": eos,
            "pad_token_id": eos,
            "genre_tokens": dict(GENRE_TOKENS),
            "genre_token_ids": genre_ids,
        },
    )
    return out


# ------------------------------------------------------------------ ours vs transformers.Trainer
SHAPES = {  # model name for build_model, GPT2Config overrides
    "tiny": ("tiny", {"n_layer": 2, "n_embd": 128, "n_head": 2, "n_positions": 1024}),
    "gpt2": ("gpt2-scratch", {}),
}
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0}


def peak_flops(device: str, override: float | None) -> tuple[float, str]:
    import torch

    if override:
        return override * 1e12, f"{override} TFLOP/s (given)"
    if device == "cuda":
        name = torch.cuda.get_device_name()
        for key, tflops in PEAK_TFLOPS.items():
            if key in name:
                return tflops * 1e12, f"{tflops:g} TFLOP/s bf16 dense ({name})"
        return 989e12, f"989 TFLOP/s assumed ({name} not in the table; pass --peak-tflops)"
    cores = len(os.sched_getaffinity(0))
    return cores * 3e9 * 32, f"{cores * 0.096:.3f} TFLOP/s ({cores} cores x 3 GHz x 32 fp32)"


def flops_per_token(model, seq_len: int) -> float:
    cfg = model.config
    n = sum(p.numel() for name, p in model.named_parameters() if "wpe" not in name)
    return 6 * n + 12 * cfg.n_layer * cfg.n_embd * seq_len


def trainer_worker(cfg: dict) -> dict:
    """transformers.Trainer on our model, data, collator and batch: real tokens and seconds of
    the same late steps as ours (steps half+1 .. N, from the end of step half to the end of N)."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from lyrics_gpt2.data import Collator
    from lyrics_gpt2.modeling import build_model, pad_embeddings
    from lyrics_gpt2.training.data import load_data

    cuda = cfg["device"] == "cuda"
    data = load_data(cfg["data_dir"])
    model, _ = build_model(
        cfg["model"], data.tokenizer, model_config=cfg["model_config"], dropout=0.0
    )
    pad_embeddings(model, len(data.tokenizer), 64)
    times: list[float] = []
    tokens: list = []  # real tokens (attention mask) per step, kept on the device: no sync

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter())

    class Counting(Trainer):
        def training_step(self, model, inputs, *a, **kw):
            tokens.append(inputs["attention_mask"].sum())
            return super().training_step(model, inputs, *a, **kw)

    # Matched: the same precision, optimizer and compilation as ours. Defaults: what a Trainer
    # run gets when none of them is asked for (fp32, its default optimizer, no compile).
    matched = {} if cfg.get("defaults") else dict(
        bf16=cuda, optim="adamw_torch_fused" if cuda else "adamw_torch",
        torch_compile=cfg["compile"])  # fmt: skip
    targs = TrainingArguments(
        output_dir=cfg["out"], per_device_train_batch_size=cfg["batch"], max_steps=cfg["steps"],
        learning_rate=6e-4, weight_decay=0.1, warmup_steps=2, lr_scheduler_type="cosine",
        max_grad_norm=1.0, use_cpu=not cuda, report_to=[], save_strategy="no",
        logging_strategy="no", remove_unused_columns=False, seed=42,
        dataloader_num_workers=cfg["workers"], dataloader_pin_memory=cuda, **matched,
    )  # fmt: skip
    collator = Collator(data.pad_token_id, data.seq_len, 8, data.manifest.conditioning_ids)
    trainer = Counting(model=model, args=targs, train_dataset=data.train, data_collator=collator,
                       callbacks=[Clock()])  # fmt: skip
    trainer.train()
    half = cfg["steps"] // 2
    late = sum(int(t) for t in tokens[half:])
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    return {"tokens_per_s": late / (times[-1] - times[half - 1]),
            "peak_device_memory_mib": peak,
            "flops_per_token": flops_per_token(model, data.seq_len),
            "torch_threads": torch.get_num_threads()}  # fmt: skip


def loop(args: argparse.Namespace, work: Path) -> None:
    import torch

    device = "cuda" if args.gpu else args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda needs a CUDA device; none is visible here")
    shape = args.shape or ("gpt2" if device == "cuda" else "tiny")
    model, model_config = SHAPES[shape]
    cuda = device == "cuda"
    batch = args.batch_size or (32 if cuda else 8)
    seq_len = args.seq_len or (1024 if cuda else 128)
    vocab = 50_257 if cuda or shape == "gpt2" else 8_000
    steps = args.steps + args.steps % 2  # even: two logging windows of equal length
    data_dir = synthetic_gpt2_corpus(work / "data", batch * (steps + 2), seq_len, vocab)
    flags = ["--model", model, "--batch-size", str(batch), "--max-steps", str(steps)]
    flags += ["--eval-every", "0", "--checkpoint-every", "0", "--eval-max-songs", "8"]
    flags += ["--lr", "6e-4", "--weight-decay", "0.1", "--warmup-steps", "2", "--pad-vocab", "64"]
    # Two logging windows: the second (steps half+1 .. N) is the one the Trainer side times.
    flags += ["--log-every", str(steps // 2), "--pad-to-multiple-of", "8", "--dropout", "0.0"]
    flags += ["--num-workers", str(2 if cuda else 0)]
    flags += ["--mixed-precision", "bf16" if cuda else "no"]
    if model_config:
        flags += ["--model-config", ",".join(f"{k}={v}" for k, v in model_config.items())]
    if args.compile:
        flags.append("--compile")
    # The same torch thread count in both processes (each otherwise picks its own).
    threads = {"OMP_NUM_THREADS": str(args.threads or len(os.sched_getaffinity(0)))}
    cfg = {"data_dir": str(data_dir), "model": model, "model_config": model_config,
           "device": device, "batch": batch, "steps": steps, "compile": args.compile,
           "workers": 2 if cuda else 0, "out": str(work / "trainer")}  # fmt: skip
    # Interleaved repeats, medians: on a shared machine one pair of runs can differ 2x by load.
    ours, theirs, loads = [], [], [os.getloadavg()[0]]
    for i in range(args.repeats):
        out = work / f"ours-{i}"
        ours.append(run_training(data_dir, out, flags, [sys.executable], threads))
        theirs.append(worker_process("trainer", cfg, threads))
        loads.append(os.getloadavg()[0])
    defaults = []
    if args.trainer_defaults:
        defaults.append(worker_process("trainer", {**cfg, "defaults": True}, threads))
    peak, peak_text = peak_flops(device, args.peak_tflops)
    fpt = theirs[0]["flops_per_token"]
    name = torch.cuda.get_device_name() if cuda else f"CPU ({os.cpu_count()} cores)"
    print(
        f"{shape} shape ({model}), vocab {vocab:,} padded to 64, seq_len {seq_len}, batch {batch}, "
        f"{steps} steps, {'bf16 autocast' if cuda else 'fp32'}, SDPA, "
        f"{'fused ' if cuda else ''}AdamW{', torch.compile' if args.compile else ''}: {name}"
    )
    print(f"FLOPs/token = 6N + 12·L·d·T = {fpt / 1e6:,.1f} MFLOP; peak {peak_text}")
    print(f"real tokens/s of steps {steps // 2 + 1}-{steps} (end of step {steps // 2} to end of "
          f"step {steps}), {theirs[0]['torch_threads']} torch threads in each process, "
          f"{args.repeats} interleaved runs each")  # fmt: skip
    print(f"{'':24}{'median tokens/s':>16}{'MFU':>7}{'peak GPU MiB':>14}   runs")
    rows = [("lyrics_gpt2/train.py", ours, "last_window_tokens_per_s"),
            ("transformers.Trainer", theirs, "tokens_per_s")]  # fmt: skip
    if defaults:
        rows.append(("Trainer, its defaults", defaults, "tokens_per_s"))
    medians = {}
    for label, results, key in rows:
        rates = [r[key] for r in results]
        rate = medians[label] = statistics.median(rates)
        memory = max((r.get("peak_device_memory_mib") or 0) for r in results)
        shown = f"{memory:>14,.0f}" if memory else f"{'-':>14}"
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{label:24}{rate:>16,.0f}{rate * fpt / peak:>7.1%}{shown}   {runs}")
    ratio = medians["lyrics_gpt2/train.py"] / medians["transformers.Trainer"]
    print(f"ours / Trainer: {ratio:.2f}x (median tokens/s)")
    if defaults:
        ratio = medians["lyrics_gpt2/train.py"] / medians["Trainer, its defaults"]
        print(f"ours / Trainer with its defaults (fp32, its default optimizer, no compile): "
              f"{ratio:.2f}x")  # fmt: skip
    print(
        f"load average (1 min) before and after each pair: {', '.join(f'{x:.1f}' for x in loads)}"
    )


# --------------------------------------------------------- LoRA / gradient checkpointing, CPU
def step_worker(cfg: dict) -> dict:
    """A few optimizer steps of one configuration; tokens/s and peak RSS of this process."""
    import resource

    import torch

    from lyrics_gpt2.training import lora
    from lyrics_gpt2.training.config import TrainArgs
    from lyrics_gpt2.training.model_setup import enable_gradient_checkpointing
    from lyrics_gpt2.training.optim import build_optimizer

    torch.manual_seed(0)
    from transformers import GPT2Config, GPT2LMHeadModel

    _, arch = SHAPES[cfg["shape"]]
    config = GPT2Config(**arch, vocab_size=50_263)
    config._attn_implementation = "sdpa"
    model = GPT2LMHeadModel(config)
    if cfg["checkpointing"]:
        enable_gradient_checkpointing(model)
    if cfg["lora"]:
        model = lora.apply_lora(
            model, rank=cfg["lora"], dropout=cfg["dropout"], trainable_rows=range(50_257, 50_263)
        )
    opt = build_optimizer(model, TrainArgs(model="tiny"))
    built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(50_257, (cfg["batch"], cfg["seq_len"]), generator=gen)
    model.train()
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def keep(t):  # what autograd holds for backward (activations), weights left out
        ptr = t.untyped_storage().data_ptr()
        if ptr not in weights:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    for i in range(cfg["steps"] + 1):
        if i == 1:  # the first step allocates the optimizer state: a warm-up
            start = time.perf_counter()
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # After the peak is read: the hooks change how autograd keeps tensors (and so the RSS).
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        model(input_ids=ids, labels=ids)
    counts = lora.trainable_counts(model)
    trainable = counts["trainable_parameters"]
    return {"tokens_per_s": cfg["steps"] * ids.numel() / elapsed, "peak_mib": peak,
            "rise_mib": peak - built, "trainable": trainable,
            "saved_mib": sum(saved.values()) / 2**20,
            "state_mib": 3 * 4 * trainable / 2**20,  # fp32 gradient + AdamW's two moments
            "logits_mib": ids.numel() * config.vocab_size * 4 / 2**20}  # fmt: skip


def compare(args: argparse.Namespace, work: Path) -> None:
    """LoRA vs full (``--mode lora``) or checkpointing on/off (``--mode checkpointing``)."""
    runs = (
        [("full", 0, False, 0.0), (f"LoRA r{args.lora_rank}", args.lora_rank, False, 0.05),
         (f"LoRA r{args.lora_rank}, dropout 0", args.lora_rank, False, 0.0)]
        if args.mode == "lora"
        else [("no checkpointing", 0, False, 0.0), ("gradient checkpointing", 0, True, 0.0)]
    )  # fmt: skip
    batch, seq_len = args.batch_size or 4, args.seq_len or 256
    print(f"CPU, GPT2Config random weights, vocab 50,263, batch {batch} x {seq_len} tokens, "
          f"1 warm-up + {args.steps} steps, {torch_threads()} torch threads")  # fmt: skip
    print(f"{'shape':8}{'run':26}{'trainable':>14}{'tokens/s':>10}{'peak RSS':>11}{'rise':>10}"
          f"{'grad+Adam':>11}{'saved':>10}")  # fmt: skip
    for shape in ("tiny", "gpt2"):
        for label, rank, ckpt, dropout in runs:
            cfg = {"shape": shape, "lora": rank, "checkpointing": ckpt, "batch": batch,
                   "seq_len": seq_len, "steps": args.steps, "dropout": dropout}  # fmt: skip
            r = worker_process("step", cfg)
            print(f"{shape:8}{label:26}{r['trainable']:>14,}{r['tokens_per_s']:>10,.0f}"
                  f"{r['peak_mib']:>8,.0f} MiB{r['rise_mib']:>6,.0f} MiB"
                  f"{r['state_mib']:>7,.0f} MiB{r['saved_mib']:>6,.0f} MiB")  # fmt: skip
    print(f"grad+Adam: fp32 gradient and two AdamW moments of what trains; saved: tensors autograd "
          f"holds for backward (activations, logits {r['logits_mib']:,.0f} MiB a copy at the last "
          f"shape), weights excluded")  # fmt: skip
    print(f"load average: {os.getloadavg()}  cpus: {os.cpu_count()}")


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def worker_process(kind: str, cfg: dict, env_extra=None) -> dict:
    """Run ``kind``'s worker in a fresh process (its own peak memory); its JSON result."""
    cmd = [sys.executable, __file__, "--worker", kind, "--worker-config", json.dumps(cfg)]
    env = subprocess_env(TQDM_DISABLE="1", HF_HUB_OFFLINE="1", **(env_extra or {}))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{kind} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("padding", "loop", "lora", "checkpointing"),
                        default="padding", help="what to measure (see the module docstring)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, help="padding mode: tokenized data")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per run")
    parser.add_argument("--batch-size", type=int, help="songs per batch (default per mode)")
    parser.add_argument("--seq-len", type=int, help="loop/lora/checkpointing: tokens per row")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="loop mode")
    parser.add_argument("--shape", choices=tuple(SHAPES), help="loop mode: model shape")
    parser.add_argument("--gpu", action="store_true", help="= --mode loop --device cuda")
    parser.add_argument("--compile", action="store_true", help="loop mode: torch.compile")
    parser.add_argument("--peak-tflops", type=float, help="peak FLOP/s for MFU (default: table)")
    parser.add_argument("--threads", type=int, help="loop mode: torch threads (default: cores)")
    parser.add_argument("--repeats", type=int, default=3, help="loop mode: interleaved runs")
    parser.add_argument("--trainer-defaults", action="store_true",
                        help="loop mode: also time Trainer with its default settings")  # fmt: skip
    parser.add_argument("--lora-rank", type=int, default=16, help="lora mode: the rank")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = {"trainer": trainer_worker, "step": step_worker}[args.worker]
        print(json.dumps(worker(json.loads(args.worker_config))))
        return
    if args.gpu:
        args.mode, args.device = "loop", "cuda"
    if args.steps is None:
        args.steps = {"padding": 30, "loop": 20, "lora": 3, "checkpointing": 3}[args.mode]
    with tempfile.TemporaryDirectory() as work:
        run = {"padding": cpu, "loop": loop, "lora": compare, "checkpointing": compare}
        run[args.mode](args, Path(work))


if __name__ == "__main__":
    main()
