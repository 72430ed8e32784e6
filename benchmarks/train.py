"""Training throughput, padding and data-loading figures (issue 4).

CPU (default), tiny preset, a minute or two::

    python benchmarks/train.py                    # tiny corpus from lyrics_gpt2.testing
    python benchmarks/train.py --data-dir artifacts/data --steps 60

prints, side by side for batches trimmed to their longest song (what training does) and batches
kept at the stored width (``--pad-to-multiple-of seq_len``): the share of batch positions that are
padding over one epoch, real tokens/s of the real training entry point, and the share of step
time spent waiting for the next batch (target < 5%).

GPU (GPT-2 124M at sequence length 300, bf16 + SDPA; target >= 400K tokens/s on one H100)::

    python benchmarks/train.py --gpu [--compile] [--batch-size 64] [--steps 60]

builds a synthetic corpus of full 300-token songs over a 50,257-token vocabulary (plus the genre
tokens), then runs ``accelerate launch lyrics_gpt2/train.py --preset gpt2-scratch`` with bf16 and
fused AdamW, and reports the median tokens/s of the second half of the steps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
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


def run_training(data_dir: Path, out: Path, flags: list[str], launcher: list[str]) -> dict:
    env = subprocess_env(TQDM_DISABLE="1")
    cmd = [*launcher, str(REPO / "lyrics_gpt2" / "train.py"), "--data-dir", str(data_dir)]
    cmd += ["--output-dir", str(out), *flags]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"training failed:\n{proc.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["tokens_per_s"] for r in records if r["kind"] == "train"]
    summary["median_tokens_per_s_late"] = statistics.median(rates[len(rates) // 2 :])
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


def synthetic_gpt2_corpus(out: Path, songs: int, seq_len: int = 300) -> Path:
    """Full-length songs over a GPT-2-sized vocabulary, in the training-data contract."""
    import numpy as np
    from datasets import Dataset, DatasetDict
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    from lyrics_gpt2.data import features
    from lyrics_gpt2.fileio import write_json
    from lyrics_gpt2.genres import GENRE_TOKENS

    vocab = {f"t{i}": i for i in range(50_256)} | {"<|endoftext|>": 50_256}
    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>")),
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
    )
    tok.add_special_tokens({"additional_special_tokens": list(GENRE_TOKENS.values())})
    genre_ids = {g: tok.convert_tokens_to_ids(t) for g, t in GENRE_TOKENS.items()}
    rng = np.random.default_rng(0)
    splits = {}
    for split, n in (("train", songs), ("validation", 256)):
        ids = rng.integers(0, 50_256, size=(n, seq_len), dtype=np.int32)
        ids[:, 0] = genre_ids["rap"]
        ids[:, -1] = 50_256
        splits[split] = Dataset.from_dict(
            {
                "input_ids": ids.tolist(),
                "length": [seq_len] * n,
                "genre": ["rap"] * n,
                "id": [f"{split}-{i}" for i in range(n)],
                "artist": ["a"] * n,
            },
            features=features("int32"),
        )
    tok.save_pretrained(out / "tokenizer")
    DatasetDict(splits).save_to_disk(str(out / "tokenized"))
    write_json(
        out / "tokenized" / "manifest.json",
        {
            "tokenizer": "synthetic GPT-2-sized word level (benchmark)",
            "vocab_size": len(tok),
            "seq_len": seq_len,
            "eos_token_id": 50_256,
            "pad_token_id": 50_256,
            "genre_tokens": dict(GENRE_TOKENS),
            "genre_token_ids": genre_ids,
        },
    )
    return out


def gpu(args: argparse.Namespace, work: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        sys.exit("--gpu needs a CUDA device; none is visible here")
    batch = args.batch_size or 64
    data_dir = synthetic_gpt2_corpus(work / "data", songs=batch * (args.steps + 5))
    flags = ["--preset", "gpt2-scratch", "--mixed-precision", "bf16", "--batch-size", str(batch)]
    flags += ["--max-steps", str(args.steps), "--eval-every", "0", "--checkpoint-every", "0"]
    flags += ["--eval-max-songs", "64", "--num-workers", "4"]
    if args.compile:
        flags.append("--compile")
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1"]
    launcher += ["--num_machines", "1", "--mixed_precision", "bf16", "--dynamo_backend", "no"]
    s = run_training(data_dir, work / "gpu", flags, launcher)
    print(
        f"GPT-2 124M (from scratch), seq_len 300, batch {batch}, bf16, SDPA, fused AdamW"
        f"{', torch.compile' if args.compile else ''}: {torch.cuda.get_device_name()}"
    )
    print(f"tokens/s median of 2nd half: {s['median_tokens_per_s_late']:,.0f}  (target >= 400,000)")
    print(f"tokens/s whole run: {s['tokens_per_s']:,.0f}; data wait {s['data_wait_share']:.2%}")
    print(f"load average: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="tokenized data (default: a tiny corpus)")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    parser.add_argument("--batch-size", type=int, help="songs per batch (default: the preset's)")
    parser.add_argument("--gpu", action="store_true", help="GPT-2 124M on a CUDA GPU")
    parser.add_argument("--compile", action="store_true", help="with --gpu: torch.compile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        (gpu if args.gpu else cpu)(args, Path(work))


if __name__ == "__main__":
    main()
