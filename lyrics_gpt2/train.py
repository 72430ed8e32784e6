"""Train a genre-conditioned GPT-2 on tokenized lyrics: one CPU to many GPUs through accelerate.

It reads what preprocessing wrote (``DATA/tokenizer``, ``DATA/tokenized``) and writes a Hugging
Face model folder, metrics, loss curves and resumable checkpoints to ``--output-dir``::

    # CPU, a few minutes: a 2-layer GPT-2 from scratch (``python`` works as well as the launcher)
    accelerate launch --cpu lyrics_gpt2/train.py --preset tiny --data-dir artifacts/data
    python lyrics_gpt2/train.py --preset tiny --data-dir artifacts/data
    # one GPU: fine-tune GPT-2 124M (bf16, 32 songs per step, validation every 1000 steps)
    accelerate launch lyrics_gpt2/train.py --preset gpt2 --data-dir artifacts/data
    # 8 GPUs on one machine (DDP); --batch-size is per GPU
    accelerate launch --multi_gpu --num_processes 8 lyrics_gpt2/train.py --preset gpt2
    # continue an interrupted run where it stopped (same flags plus --resume)
    accelerate launch lyrics_gpt2/train.py --preset gpt2 --resume latest
    # every setting: python lyrics_gpt2/train.py --help

Outputs in ``--output-dir`` (default ``artifacts/model``): ``config.json``, ``model.safetensors``,
``generation_config.json`` and the tokenizer (``AutoModelForCausalLM.from_pretrained`` and
``pipeline("text-generation")`` load the folder), ``metrics.jsonl``, ``train_loss.png``,
``val_loss.png``, ``val_loss_late.png``, ``summary.json``, ``checkpoints/step-*/`` and, for a model
trained from scratch, its untrained weights in ``untuned/``.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file, sys.path[0] is lyrics_gpt2/ itself, whose modules would shadow top-level ones
    # (config, data, ...); the repository root goes there instead so `import lyrics_gpt2` works.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import torch

from lyrics_gpt2.checkpoints import (
    FIXED_ON_RESUME,
    TrainState,
    check_checkpoint_files,
    list_checkpoints,
    read_resumable,
    resolve_resume,
    save_checkpoint,
)
from lyrics_gpt2.cli import UsageError, die_with_parent, run
from lyrics_gpt2.config import TrainArgs, parse_train_args
from lyrics_gpt2.data import IGNORE_INDEX, EpochShuffle
from lyrics_gpt2.evaluation import SongScores, score_songs
from lyrics_gpt2.fileio import check_output, output_errors, write_json
from lyrics_gpt2.modeling import build_model, summary_base
from lyrics_gpt2.optim import build_optimizer, get_lr_scheduler
from lyrics_gpt2.outputs import MetricsLog, clear_run_outputs, plain_state_dict, save_hf_folder
from lyrics_gpt2.train_data import get_dataloaders, load_data

PROG = "accelerate launch lyrics_gpt2/train.py"


# --------------------------------------------------------------------------------- validation
def validate(model, val_loader, accelerator) -> SongScores:
    """Per-token validation loss over the whole (capped) split, gathered across processes.

    The same scoring the perplexity command uses (``lyrics_gpt2.evaluation.score_songs``).
    """
    return score_songs(model, val_loader, accelerator)


# ------------------------------------------------------------------------------------ training
def fit(
    accelerator,
    model,
    optimizer,
    scheduler,
    train_loader,
    val_loader,
    sampler: EpochShuffle,
    args: TrainArgs,
    state: TrainState,
    total_steps: int,
    metrics: MetricsLog,
) -> TrainState:
    """The training loop: optimizer steps until ``total_steps``, validating and checkpointing."""
    from tqdm.auto import tqdm

    def run_validation() -> None:
        scores = validate(model, val_loader, accelerator)
        state.last_val = {
            "step": state.step,
            "val_loss": scores.mean_nll,
            "val_ppl": scores.perplexity,
            "val_tokens": int(scores.tokens.sum()),
            "val_songs": len(scores.tokens),
        }
        metrics.write({"kind": "val", **state.last_val})
        accelerator.log(
            {"val/loss": scores.mean_nll, "val/ppl": scores.perplexity}, step=state.step
        )
        accelerator.print(
            f"step {state.step}: validation loss {scores.mean_nll:.4f}, "
            f"perplexity {scores.perplexity:.2f}"
        )

    if state.step == 0:
        run_validation()
    show = accelerator.is_local_main_process and not os.environ.get("TQDM_DISABLE")
    bar = tqdm(total=total_steps, initial=state.step, disable=not show, desc="train", unit="step")
    model.train()
    device = accelerator.device
    # Per optimizer step: summed NLL and target count over its batches (token-weighted loss).
    step_nll = torch.zeros((), dtype=torch.float64, device=device)
    step_targets = torch.zeros((), dtype=torch.long, device=device)
    step_tokens = torch.zeros((), dtype=torch.long, device=device)
    step_positions = torch.zeros((), dtype=torch.long, device=device)
    step_start = time.perf_counter()
    while state.step < total_steps:
        if state.batch_in_epoch >= len(train_loader):
            state.epoch, state.batch_in_epoch = state.epoch + 1, 0
        if state.epoch >= args.epochs:
            break
        loader = train_loader
        if state.batch_in_epoch:
            # A checkpoint is only taken after a synced step, so the skipped batches end on an
            # accumulation boundary and accelerate's own counter (restored by load_state) agrees.
            loader = accelerator.skip_first_batches(train_loader, state.batch_in_epoch)
        # accelerate's loaders reseed their sampler from their own epoch counter when iterated
        # (a fresh skip loader would say 0), so the epoch is set on the loader, not just the sampler.
        sampler.set_epoch(state.epoch)
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(state.epoch)
        batches = iter(loader)
        while True:
            wait_start = time.perf_counter()
            batch = next(batches, None)
            state.data_wait_s += time.perf_counter() - wait_start
            if batch is None:
                state.epoch, state.batch_in_epoch = state.epoch + 1, 0
                break
            with accelerator.accumulate(model):
                loss = model(**batch).loss
                accelerator.backward(loss)
                if accelerator.sync_gradients and args.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                lr = optimizer.param_groups[0]["lr"]
                optimizer.step()
                if accelerator.sync_gradients:
                    scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            targets = (batch["labels"][:, 1:] != IGNORE_INDEX).sum()
            step_nll += loss.detach().double() * targets
            step_targets += targets
            step_tokens += batch["attention_mask"].sum()
            step_positions += batch["attention_mask"].numel()
            state.batch_in_epoch += 1
            if not accelerator.sync_gradients:
                continue

            state.step += 1
            totals = accelerator.reduce(
                torch.stack(
                    [step_nll, step_targets.double(), step_tokens.double(), step_positions.double()]
                ),
                reduction="sum",
            )
            nll, n_targets, n_tokens, n_positions = (float(x) for x in totals)
            step_nll.zero_(), step_targets.zero_(), step_tokens.zero_(), step_positions.zero_()
            now = time.perf_counter()
            elapsed = now - step_start
            step_start = now
            state.train_time_s += elapsed
            state.tokens_seen += int(n_tokens)
            state.positions_seen += int(n_positions)
            record = {
                "kind": "train",
                "step": state.step,
                "epoch": state.epoch + state.batch_in_epoch / max(1, len(train_loader)),
                "loss": nll / max(1.0, n_targets),
                "lr": lr,
                "tokens": int(n_tokens),
                "tokens_per_s": n_tokens / elapsed if elapsed > 0 else None,
                "tokens_seen": state.tokens_seen,
            }
            metrics.write(record)
            accelerator.log({"train/loss": record["loss"], "train/lr": lr}, step=state.step)
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.3f}", tok_s=f"{record['tokens_per_s']:.0f}")
            done = state.step >= total_steps
            if (args.eval_every and state.step % args.eval_every == 0) or done:
                run_validation()
            if args.checkpoint_every and state.step % args.checkpoint_every == 0 and not done:
                save_checkpoint(
                    accelerator, args.output_dir, state.step, asdict(state), args.keep_checkpoints
                )
            # Validation and checkpointing are not training time.
            step_start = time.perf_counter()
            if done:
                break
    bar.close()
    if state.last_val.get("step") != state.step:
        run_validation()
    return state


def make_accelerator(args: TrainArgs):
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration, TorchDynamoPlugin

    precision = args.mixed_precision
    if precision == "auto":
        if torch.cuda.is_available():
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "no"
    elif precision != "no" and not torch.cuda.is_available():
        raise UsageError(
            f"--mixed-precision {precision} needs a GPU here; use --mixed-precision no"
        )
    kwargs = {}
    if args.compile:
        # Trimmed batches vary in width; dynamic shapes avoid one recompile per width.
        kwargs["dynamo_plugin"] = TorchDynamoPlugin(backend="inductor", dynamic=True)
    # `accelerate launch --multi_gpu` (torchrun) on a machine without CUDA: accelerate only picks
    # DDP over gloo when told it runs on CPU, otherwise each process would train alone.
    if not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        kwargs["cpu"] = True
    trackers = None if args.report_to == "none" else args.report_to
    if args.report_to == "tensorboard":
        from accelerate.utils import is_tensorboard_available

        if not is_tensorboard_available():
            raise UsageError("--report-to tensorboard needs tensorboard: pip install tensorboard")
    return Accelerator(
        gradient_accumulation_steps=args.grad_accum,
        mixed_precision=precision,
        log_with=trackers,
        project_config=ProjectConfiguration(
            project_dir=args.output_dir, logging_dir=str(Path(args.output_dir) / "runs")
        ),
        **kwargs,
    )


def die_with_launcher() -> None:
    """Under ``accelerate launch`` (or torchrun), end this process when the launcher dies.

    ``kill -9`` of the launcher cannot forward a signal, and the training process would go on
    writing checkpoints and metrics into a folder the user believes idle. Run by hand (``python
    train.py``) nothing changes, so closing a shell's parent does not end a run started with nohup.
    """
    # What the launchers put in the environment of the process they start (accelerate's
    # launch prepares ACCELERATE_MIXED_PRECISION; torchrun sets TORCHELASTIC_RUN_ID).
    if any(k in os.environ for k in ("ACCELERATE_MIXED_PRECISION", "TORCHELASTIC_RUN_ID")):
        die_with_parent(os.getppid(), signal.SIGTERM)


def main(argv=None) -> int:
    die_with_launcher()
    args = parse_train_args(argv, prog=PROG, description=__doc__)
    from accelerate.utils import set_seed

    # Before data and model load: a file, a folder under /proc, a read-only disk are refused now.
    check_output(args.output_dir, flag="--output-dir", is_dir=True)
    # 1. accelerator, logging quiet on other processes
    accelerator = make_accelerator(args)
    out = Path(args.output_dir)
    check_output(out, flag="--output-dir", is_dir=True)  # a file, /proc, read-only: before work
    if not accelerator.is_main_process:
        import transformers

        transformers.logging.set_verbosity_error()
    started = time.time()

    # 2. data
    data = load_data(args.data_dir, args.eval_max_songs)
    resume_from = resolve_resume(args.resume, out) if args.resume else None
    if resume_from is None and list_checkpoints(out) and not args.overwrite:
        raise UsageError(
            f"{out} holds checkpoints of an earlier run; pass --resume latest to continue it, "
            "--overwrite to start afresh, or another --output-dir"
        )
    if resume_from is not None:
        check_checkpoint_files(resume_from)
    elif accelerator.is_main_process:
        # A fresh run removes the earlier run's outputs before writing any of its own (summary
        # first: it marks a finished run), so a run killed midway leaves a folder that is plainly
        # unfinished (no summary.json, no model.safetensors), never one that mixes two runs.
        clear_run_outputs(out)
    accelerator.wait_for_everyone()

    # 3. model (same seed on every process, so every replica starts equal)
    set_seed(args.seed)
    model, source = build_model(
        args.model,
        data.tokenizer,
        model_config=args.model_config,
        dropout=args.dropout,
        seq_len=data.seq_len,
    )
    untuned = out / "untuned"
    if source.kind == "scratch":
        base_model = str(untuned.resolve())
        if accelerator.is_main_process and (resume_from is None or not untuned.is_dir()):
            with output_errors(untuned):
                save_hf_folder(model, data.tokenizer, untuned, data.seq_len)
    else:
        base_model = source.ref
    n_params = sum(p.numel() for p in model.parameters())

    # 4. loaders, optimizer, schedule
    train_loader, val_loader, sampler = get_dataloaders(data, args)
    optimizer = build_optimizer(model.to(accelerator.device), args)
    model, optimizer, train_loader, val_loader = accelerator.prepare(
        model, optimizer, train_loader, val_loader
    )
    steps_per_epoch = math.ceil(len(train_loader) / args.grad_accum)
    total_steps = args.epochs * steps_per_epoch
    if args.max_steps is not None:
        total_steps = min(total_steps, args.max_steps)
    scheduler = get_lr_scheduler(optimizer, args, total_steps)
    accelerator.register_for_checkpointing(scheduler)

    # 5. fresh start or resume
    settings = {
        "batch_size": args.batch_size,
        "grad_accum": args.grad_accum,
        "seed": args.seed,
        "num_processes": accelerator.num_processes,
        "train_songs": len(data.train),
        "total_steps": total_steps,
        **{k: getattr(args, k) for k in FIXED_ON_RESUME},
    }
    state = TrainState(settings=settings)
    if resume_from is not None:
        saved = read_resumable(resume_from, settings)
        try:
            accelerator.load_state(str(resume_from))
        except (OSError, RuntimeError, ValueError, EOFError) as exc:
            raise UsageError(
                f"cannot load checkpoint {resume_from} ({type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); resume from "
                "an older checkpoint or start afresh with --overwrite"
            ) from None
        state = TrainState(**saved)
        accelerator.print(f"resumed from {resume_from} at step {state.step}")
    accelerator.wait_for_everyone()
    metrics = MetricsLog(
        out / "metrics.jsonl",
        accelerator.is_main_process,
        keep_through_step=state.step if resume_from else None,
    )
    if args.report_to != "none":
        flat = {k: v for k, v in args.to_dict().items() if isinstance(v, (int, float, str, bool))}
        accelerator.init_trackers("lyrics-gpt2", config=flat)
    accelerator.print(
        f"training {source.kind} model {args.model} ({n_params / 1e6:.1f}M parameters) on "
        f"{len(data.train)} songs for {total_steps} steps; {accelerator.num_processes} process(es), "
        f"{accelerator.device}, mixed precision {accelerator.mixed_precision}"
    )

    # 6. train
    state = fit(
        accelerator, model, optimizer, scheduler, train_loader, val_loader, sampler, args,
        state, total_steps, metrics,
    )  # fmt: skip
    metrics.close()

    # 7. save the model, plots and summary
    accelerator.wait_for_everyone()
    state_dict = plain_state_dict(accelerator.get_state_dict(model))
    if accelerator.is_main_process:
        from lyrics_gpt2.plots import plot_losses, read_metrics

        unwrapped = accelerator.unwrap_model(model)
        with output_errors(out):
            save_hf_folder(unwrapped, data.tokenizer, out, data.seq_len, state_dict=state_dict)
            plots = plot_losses(read_metrics(out / "metrics.jsonl"), out)
        seq_positions = state.positions_seen
        base = summary_base(out, base_model, source.kind)
        summary = {
            **base,
            "base_model_kind": source.kind,
            "model_arg": args.model,
            "untuned_model": base["base_model"] if source.kind == "scratch" else None,
            "parameters": n_params,
            "data_dir": str(Path(args.data_dir).resolve()),
            "output_dir": str(out.resolve()),
            "preset": args.preset,
            "steps": state.step,
            "epochs": state.epoch + state.batch_in_epoch / max(1, len(train_loader)),
            "train_songs": len(data.train),
            "val_songs": len(data.validation),
            "tokens_seen": state.tokens_seen,
            "final_val_loss": state.last_val.get("val_loss"),
            "final_val_perplexity": state.last_val.get("val_ppl"),
            "train_time_s": round(state.train_time_s, 3),
            "wall_time_s": round(time.time() - started, 3),
            "tokens_per_s": state.tokens_seen / state.train_time_s if state.train_time_s else None,
            "padding_share": 1 - state.tokens_seen / seq_positions if seq_positions else None,
            "data_wait_share": state.data_wait_s / state.train_time_s
            if state.train_time_s
            else None,
            "num_processes": accelerator.num_processes,
            "mixed_precision": accelerator.mixed_precision,
            "resumed_from": str(resume_from) if resume_from else None,
            "plots": [p.name for p in plots],
            "args": args.to_dict(),
        }
        with output_errors(out / "summary.json"):
            write_json(out / "summary.json", summary)
        print(
            f"saved {out}: validation loss {summary['final_val_loss']:.4f} "
            f"(perplexity {summary['final_val_perplexity']:.2f}) after {state.step} steps"
        )
    if args.report_to != "none":
        accelerator.end_training()
    accelerator.wait_for_everyone()
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
