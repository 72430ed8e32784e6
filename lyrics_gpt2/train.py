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
    # LoRA rank 16 (adapters + genre rows train; exported merged, adapter in adapter/)
    accelerate launch -q lyrics_gpt2/train.py --preset gpt2 --lora 16
    # a new run from a finished model's weights, with its own schedule
    accelerate launch -q lyrics_gpt2/train.py --preset gpt2 --model artifacts/model --output-dir m2
    # every setting: python lyrics_gpt2/train.py --help

``-q`` keeps accelerate from printing its own CalledProcessError traceback after our one-line error
(single-process runs; multi-process runs print it anyway).

Outputs in ``--output-dir`` (default ``artifacts/model``): ``config.json``, ``model.safetensors``,
``generation_config.json`` and the tokenizer (``AutoModelForCausalLM.from_pretrained`` and
``pipeline("text-generation")`` load the folder), ``metrics.jsonl``, ``train_loss.png``,
``val_loss.png``, ``val_loss_late.png``, ``summary.json``, ``checkpoints/step-*/``, for a model
trained from scratch its untrained weights in ``untuned/``, and with ``--lora`` the adapter in
``adapter/`` (the folder itself holds the merged weights).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from lyrics_gpt2.cli import run
from lyrics_gpt2.data import EpochShuffle
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.evaluation.scoring import SongScores, score_songs
from lyrics_gpt2.fileio import (
    RunFolder,
    claim_folder,
    output_errors,
    read_json,
    write_json,
)
from lyrics_gpt2.modeling import build_model, pad_embeddings, unpad_embeddings
from lyrics_gpt2.training import lora
from lyrics_gpt2.training.checkpoints import (
    FIXED_ON_RESUME,
    STATE_FILE,
    TrainState,
    check_checkpoint_files,
    list_checkpoints,
    read_resumable,
    resolve_resume,
    save_checkpoint,
)
from lyrics_gpt2.training.config import TrainArgs, parse_train_args
from lyrics_gpt2.training.data import get_dataloaders, load_data
from lyrics_gpt2.training.launch import die_with_launcher, make_accelerator
from lyrics_gpt2.training.model_setup import enable_gradient_checkpointing
from lyrics_gpt2.training.optim import build_optimizer, get_lr_scheduler
from lyrics_gpt2.training.outputs import (
    RUN_OUTPUTS,
    MetricsLog,
    StepMeter,
    plain_state_dict,
    run_summary,
    save_forms,
    save_hf_folder,
)
from lyrics_gpt2.training.tracking import PROJECT, hparams, init_kwargs, scalars

PROG = "accelerate launch -q lyrics_gpt2/train.py"


# --------------------------------------------------------------------------------- output folder
def _legacy_run(real: Path) -> bool:
    """A run folder written before ownership markers (or a checkpoint copied into a new folder to
    resume there): its summary.json, or checkpoints that all hold our training state."""
    summary = read_json(real / "summary.json")
    if isinstance(summary, dict) and {"steps", "base_model_kind", "args"} <= summary.keys():
        return True
    states = [read_json(step / STATE_FILE) for step in (real / "checkpoints").glob("step-*")]
    return bool(states) and all(
        isinstance(s, dict) and {"step", "settings"} <= s.keys() for s in states
    )


def claim_output(args: TrainArgs) -> RunFolder:
    """Before any work: --output-dir must be new, empty or an earlier training run, and must not
    be, hold or replace a part of the data or the model it starts from (lyrics_gpt2.fileio)."""
    inputs = [("--data-dir", args.data_dir), ("--model", args.model)]
    return claim_folder(
        args.output_dir, "train", inputs=inputs, legacy=_legacy_run, known=RUN_OUTPUTS
    )


# --------------------------------------------------------------------------------- validation
def validate(model, val_loader, accelerator) -> SongScores:
    """Per-token validation loss over the whole (capped) split, gathered across processes.

    The same scoring the perplexity command uses (``lyrics_gpt2.evaluation.scoring.score_songs``).
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
    import torch
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
        accelerator.log(scalars({"kind": "val", **state.last_val}), step=state.step)
        accelerator.print(
            f"step {state.step}: validation loss {scores.mean_nll:.4f}, "
            f"perplexity {scores.perplexity:.2f}"
        )

    if state.step == 0:
        run_validation()
    show = accelerator.is_local_main_process and not os.environ.get("TQDM_DISABLE")
    bar = tqdm(total=total_steps, initial=state.step, disable=not show, desc="train", unit="step")
    model.train()
    meter = StepMeter(accelerator.device)
    grad_norms: list = []  # one device scalar per step, copied with the window's sums
    window_start = time.perf_counter()

    def flush() -> None:
        """Write the window's step records; its tokens/s is the window's (no per-step sync)."""
        rows = meter.flush(accelerator)
        if not rows:
            return
        # The same on every process: gradients are reduced before clipping measures them.
        norms = torch.stack(grad_norms).tolist() if len(grad_norms) == len(rows) else []
        grad_norms.clear()
        elapsed = time.perf_counter() - window_start
        state.train_time_s += elapsed
        rate = sum(r[3][2] for r in rows) / elapsed if elapsed > 0 else None
        for i, (step, lr, epoch, (nll, n_targets, n_tokens, n_positions)) in enumerate(rows):
            state.tokens_seen += int(n_tokens)
            state.positions_seen += int(n_positions)
            loss = nll / max(1.0, n_targets)
            record = {"kind": "train", "step": step, "epoch": epoch, "loss": loss, "lr": lr,
                      "grad_norm": norms[i] if norms else None, "tokens": int(n_tokens),
                      "tokens_per_s": rate, "tokens_seen": state.tokens_seen}  # fmt: skip
            metrics.write(record)
            accelerator.log(scalars(record), step=step)
        bar.update(len(rows))
        bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{rate or 0:.0f}")

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
                if accelerator.sync_gradients:
                    # Clipping at infinity (--max-grad-norm 0) only measures the norm.
                    norm = accelerator.clip_grad_norm_(
                        model.parameters(), args.max_grad_norm or math.inf
                    )
                    if norm is not None:
                        grad_norms.append(torch.as_tensor(norm, dtype=torch.float64).detach())
                lr = optimizer.param_groups[0]["lr"]
                optimizer.step()
                if accelerator.sync_gradients:
                    scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            meter.add(loss, batch)
            state.batch_in_epoch += 1
            if not accelerator.sync_gradients:
                continue

            state.step += 1
            meter.end_step(
                state.step, lr, state.epoch + state.batch_in_epoch / max(1, len(train_loader))
            )
            done = state.step >= total_steps
            evaluate = (args.eval_every and state.step % args.eval_every == 0) or done
            checkpoint = (
                args.checkpoint_every and state.step % args.checkpoint_every == 0 and not done
            )
            if evaluate or checkpoint or state.step % args.log_every == 0:
                flush()  # every process at the same steps: it reduces across them
                window_start = time.perf_counter()
            if evaluate:
                run_validation()
            if checkpoint:
                save_checkpoint(
                    accelerator, args.output_dir, state.step, asdict(state), args.keep_checkpoints
                )
            # Validation and checkpointing are not training time.
            if evaluate or checkpoint:
                window_start = time.perf_counter()
            if done:
                break
    flush()
    bar.close()
    if state.last_val.get("step") != state.step:
        run_validation()
    return state


def main(argv=None) -> int:
    die_with_launcher()
    # --help prints this module's docstring: the commands are written once, there.
    args = parse_train_args(argv, prog=PROG, description=__doc__)
    from accelerate.utils import set_seed

    out = Path(args.output_dir)
    # Before data and model load: a file, a folder under /proc, a read-only disk, the user's
    # folder, an input's folder are refused now.
    folder = claim_output(args)
    # 1. accelerator, logging quiet on other processes
    accelerator = make_accelerator(args)
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
    # summary.json is written last: without it the run was killed and is simply redone.
    if resume_from is None and "summary.json" in folder.present() and not args.overwrite:
        raise UsageError(
            f"{out} holds a finished training run (summary.json); pass --overwrite to replace "
            "it, or another --output-dir"
        )
    if resume_from is not None:
        check_checkpoint_files(resume_from)
    elif accelerator.is_main_process:
        # A fresh run removes the earlier run's outputs (only the names its marker lists) before
        # writing any of its own, so a run killed midway leaves a folder that is plainly
        # unfinished (no summary.json, no model.safetensors), never one that mixes two runs.
        folder.clear()
    if accelerator.is_main_process:
        folder.record(
            "metrics.jsonl", "checkpoints", *(["runs"] if args.report_to != "none" else [])
        )
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
            folder.record("untuned")
            with output_errors(untuned):
                save_hf_folder(model, data.tokenizer, untuned, data.seq_len)
    else:
        base_model = source.ref
    n_params = sum(p.numel() for p in model.parameters())
    vocab = len(data.tokenizer)
    pad_embeddings(model, vocab, args.pad_vocab)
    if args.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    model.to(accelerator.device)
    genre_rows = sorted(data.manifest.genre_token_ids.values())
    width = getattr(model.config, "n_embd", None)
    if args.lora and width is not None and args.lora > width:
        # A rank above the width adds parameters (2 x rank x width per matrix) and no capacity.
        raise UsageError(f"--lora {args.lora} is above the model's width {width}; use 1..{width}")
    if args.lora:
        model = lora.apply_lora(
            model, rank=args.lora, alpha=args.lora_alpha, dropout=args.lora_dropout,
            targets=args.lora_target_list, trainable_rows=genre_rows,
        )  # fmt: skip
        # Checkpoints then hold the adapters and genre rows, not the frozen base weights.
        accelerator.register_save_state_pre_hook(lora.checkpoint_hook)
    trainable = lora.trainable_counts(model)

    # 4. loaders, optimizer, schedule
    train_loader, val_loader, sampler = get_dataloaders(data, args)
    optimizer = build_optimizer(model, args)
    model, optimizer, train_loader, val_loader = accelerator.prepare(
        model, optimizer, train_loader, val_loader
    )
    steps_per_epoch = math.ceil(len(train_loader) / args.grad_accum)
    total_steps = args.epochs * steps_per_epoch
    if args.max_steps is not None:
        if args.max_steps > total_steps:  # said before the run, not only in the header
            accelerator.print(
                f"note: --epochs {args.epochs} ends training after {total_steps} steps, before "
                f"--max-steps {args.max_steps}; pass a larger --epochs to run them all"
            )
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
            # A LoRA checkpoint holds only adapters and genre rows: the rest stays as built.
            accelerator.load_state(str(resume_from), strict=not args.lora)
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
        config = {**args.to_dict(), **settings, "parameters": n_params, "model_kind": source.kind}
        accelerator.init_trackers(
            PROJECT,
            config=hparams(config),
            init_kwargs=init_kwargs(args.report_to, out.name, state.step if resume_from else 0),
        )
    accelerator.print(
        f"training {source.kind} model {args.model} ({n_params / 1e6:.1f}M parameters) on "
        f"{len(data.train)} rows ({data.songs['train']} songs) for {total_steps} steps; "
        f"{accelerator.num_processes} process(es), "
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
        from lyrics_gpt2.training.plots import plot_losses, read_metrics

        final = accelerator.unwrap_model(model, keep_torch_compile=False)
        folder.record("summary.json", "train_loss.png", "val_loss.png", "val_loss_late.png",
                      *(["adapter"] if args.lora else []))  # fmt: skip
        with output_errors(out):
            if args.lora or args.pad_vocab > 1:
                # Merged adapters, pad rows dropped: the folder is a plain GPT-2 of the
                # tokenizer's size, whose own weights are what is saved.
                final = lora.export(final, out) if args.lora else final
                unpad_embeddings(final, vocab)
                state_dict = None
            save_hf_folder(
                final,
                data.tokenizer,
                out,
                data.seq_len,
                state_dict=state_dict,
                record=folder.record,
            )
            plots = plot_losses(read_metrics(out / "metrics.jsonl"), out)
            save_forms(out, args.data_dir, data.manifest, folder.record)
        summary = run_summary(
            args, out, state, data, source, base_model, accelerator,
            parameters=n_params, trainable=trainable, genre_rows=genre_rows,
            batches_per_epoch=len(train_loader), resume_from=resume_from, plots=plots,
            wall_time_s=time.time() - started,
        )  # fmt: skip
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
