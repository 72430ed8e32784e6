"""The service's settings: the command line of ``python -m lyrics_gpt2.serve`` (also read by
``lyrics_gpt2.serve.app:factory`` from LYRICS_GPT2_* variables), their checks, and the engine
they build. See docs/serving.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser
from lyrics_gpt2.errors import Problems, UsageError
from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.modeling import (
    DEFAULT_MODEL,
    add_device_flag,
    pick_device,
    quiet_transformers,
)

DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: a prompt is at most 1,000 characters
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_HEADER_TIMEOUT = 10.0
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
API_KEY_ENV = "LYRICS_GPT2_API_KEY"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.serve",
        description="Serve a trained lyrics model: web page, HTTP API (OpenAI's included), metrics.",
    )
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model folder (%(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    p.add_argument("--port", type=int, default=8000, help="(%(default)s)")
    p.add_argument("--max-batch", type=int, default=32, help="songs sampled together (%(default)s)")
    p.add_argument(
        "--max-queue", type=int, default=64, help="waiting requests before 429 (%(default)s)"
    )
    p.add_argument(
        "--queue-timeout",
        type=float,
        default=30.0,
        help="seconds a request may wait for a row before 503 (%(default)s)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for sampling (default: one per core but one, at least 1)",
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"require 'Authorization: Bearer KEY' on /v1/ routes (default: ${API_KEY_ENV})",
    )
    p.add_argument(
        "--allowed-origins",
        default="",
        help="comma-separated browser origins allowed to call the API (CORS), '*' for any",
    )
    p.add_argument("--root-path", default="", help="path prefix a proxy serves this under")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="warning", help="(%(default)s)")
    p.add_argument("--access-log", action="store_true", help="log one line per request")
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY,
        help="larger request bodies get 413 (%(default)s)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        help="seconds a connection may take to send its request headers (%(default)s)",
    )
    p.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT,
        help="seconds a request body may take to arrive before 408 (%(default)s)",
    )
    p.add_argument(
        "--drain-seconds",
        type=float,
        default=10.0,
        help="on SIGTERM, seconds to let requests in flight finish before ending them (%(default)s)",
    )
    add_device_flag(p)
    return p


def check(args) -> None:
    with Problems() as problems:
        need = problems.require
        need(args.max_batch >= 1, f"--max-batch must be >= 1 (got {args.max_batch})")
        need(
            args.max_queue >= 1,
            f"--max-queue must be >= 1 (got {args.max_queue}; 0 would refuse every request)",
        )
        need(args.queue_timeout > 0, f"--queue-timeout must be > 0 (got {args.queue_timeout})")
        need(0 < args.port < 65536, f"--port must be in 1..65535 (got {args.port})")
        need(
            args.threads is None or args.threads >= 1,
            f"--threads must be >= 1 (got {args.threads})",
        )
        need(
            args.max_body_bytes >= 1024,
            f"--max-body-bytes must be >= 1024 (got {args.max_body_bytes})",
        )
        for flag in ("header_timeout", "read_timeout"):
            value = getattr(args, flag)
            need(value > 0, f"--{flag.replace('_', '-')} must be > 0 (got {value})")
        need(args.drain_seconds >= 0, f"--drain-seconds must be >= 0 (got {args.drain_seconds})")
        need(
            not args.root_path or args.root_path.startswith("/"),
            f"--root-path must start with / (got {args.root_path!r})",
        )  # fmt: skip
    if args.api_key is not None and not args.api_key.strip():
        raise UsageError(f"--api-key (or ${API_KEY_ENV}) is empty; give a key or leave it unset")
    if not (args.model / "config.json").is_file():
        raise UsageError(
            f"no trained model in {args.model}; run training first (make demo) or pass --model DIR"
        )


def default_threads() -> int:
    """Torch threads for the sampling thread: the cores this process may use, less one left to
    the event loop, HTTP and the tokenizer (as vLLM's CPU build reserves one). Measured on
    2 shared cores (docs/serving.md, Speed): a 2-thread pool waits at every op for a thread the
    OS has given to another process, and fell to a fifth of one thread's speed under load."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def build_engine(args):
    """The engine around the model in ``args.model`` (shared with app.factory)."""
    check(args)
    quiet_transformers()
    import torch

    from lyrics_gpt2.serve.engine import Engine
    from lyrics_gpt2.tokenizer import load_tokenizer

    torch.set_num_threads(args.threads or default_threads())
    tokenizer = load_tokenizer(args.model)
    model = load_for_inference(args.model, pick_device(args.device))
    return Engine(model, tokenizer, max_batch=args.max_batch, max_queue=args.max_queue)
