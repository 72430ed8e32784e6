"""``python -m lyrics_gpt2.serve --model DIR``: load the model once and serve it with uvicorn
(see lyrics_gpt2/serve/__init__.py)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import Problems, UsageError, require_extra
from lyrics_gpt2.modeling import (
    DEFAULT_MODEL,
    add_device_flag,
    load_trained,
    pick_device,
    quiet_transformers,
)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m lyrics_gpt2.serve",
        description="Serve a trained lyrics model: web page, HTTP API, metrics.",
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
    add_device_flag(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    require_extra("serve", "python -m lyrics_gpt2.serve", "fastapi", "uvicorn", "prometheus_client")
    with Problems() as problems:
        problems.require(args.max_batch >= 1, f"--max-batch must be >= 1 (got {args.max_batch})")
        problems.require(args.max_queue >= 0, f"--max-queue must be >= 0 (got {args.max_queue})")
        problems.require(
            args.queue_timeout > 0, f"--queue-timeout must be > 0 (got {args.queue_timeout})"
        )
        problems.require(0 < args.port < 65536, f"--port must be in 1..65535 (got {args.port})")
    if not (args.model / "config.json").is_file():
        raise UsageError(
            f"no trained model in {args.model}; run training first (make demo) or pass --model DIR"
        )
    quiet_transformers()
    import uvicorn

    from lyrics_gpt2.serve.app import create_app
    from lyrics_gpt2.serve.engine import Engine
    from lyrics_gpt2.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(args.model)
    model = load_trained(args.model, pick_device(args.device))
    engine = Engine(model, tokenizer, max_batch=args.max_batch, max_queue=args.max_queue)
    app = create_app(engine, model_name=args.model.name, queue_timeout=args.queue_timeout)
    print(f"serving {args.model} on http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
