"""``python -m lyrics_gpt2.serve --model DIR``: load the model once and serve it with uvicorn
(see lyrics_gpt2/serve/__init__.py and docs/serving.md).

The socket is bound here before uvicorn starts, so a port in use or a host that is not this
machine's is one line saying what to do (exit 2), not uvicorn's ERROR after "serving on".
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from lyrics_gpt2.cli import ArgumentParser, Problems, UsageError, run
from lyrics_gpt2.modeling import (
    DEFAULT_MODEL,
    add_device_flag,
    load_trained,
    pick_device,
    quiet_transformers,
)
from lyrics_gpt2.serve.guard import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_READ_TIMEOUT

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
    model = load_trained(args.model, pick_device(args.device))
    return Engine(model, tokenizer, max_batch=args.max_batch, max_queue=args.max_queue)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or UsageError saying what to do."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise UsageError(
            f"cannot listen on --host {host!r} ({exc.strerror}): pass an address of this "
            "machine, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = {
            errno.EADDRINUSE: "stop what serves there or pass another --port",
            errno.EACCES: "ports below 1024 need privileges: pass --port 8000 or above",
            errno.EADDRNOTAVAIL: "that address is not this machine's: pass --host 127.0.0.1 or 0.0.0.0",
        }.get(exc.errno, "pass another --host or --port")
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}): {hint}") from None
    return sock


def draining_server_class(engine, drain: float):
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """uvicorn's server, telling the engine to drain on SIGTERM/SIGINT (waiting requests
        503 at once, running ones ended after ``drain`` s), and exiting 0 after a SIGTERM:
        uvicorn would raise the signal again and die of it (-15), which service managers log
        as a failure."""

        def handle_exit(self, sig, frame) -> None:
            first = not self.should_exit
            super().handle_exit(sig, frame)
            if first:  # a thread: the engine's lock may be held by the code this interrupted
                threading.Thread(target=engine.drain, args=(drain,), daemon=True).start()
            if sig == signal.SIGTERM and sig in self._captured_signals:
                self._captured_signals.remove(sig)

    return DrainingServer


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check(args)
    sock = bind(args.host, args.port)  # before the model loads: a busy port fails in a second
    import uvicorn

    from lyrics_gpt2.serve.app import create_app
    from lyrics_gpt2.serve.guard import BoundedH11

    engine = build_engine(args)
    DrainingServer = draining_server_class(engine, args.drain_seconds)
    origins = tuple(o.strip() for o in args.allowed_origins.split(",") if o.strip())
    app = create_app(
        engine,
        model_name=args.model.name,
        queue_timeout=args.queue_timeout,
        api_key=args.api_key,
        allowed_origins=origins,
        max_body_bytes=args.max_body_bytes,
        read_timeout=args.read_timeout,
    )
    BoundedH11.header_timeout = args.header_timeout
    config = uvicorn.Config(
        app,
        http=BoundedH11,
        log_level=args.log_level,
        access_log=args.access_log,
        root_path=args.root_path,
        # uvicorn's own cancel is the backstop: the engine ends the running songs at the drain.
        timeout_graceful_shutdown=args.drain_seconds + 5,
        proxy_headers=False,
    )
    server = DrainingServer(config)
    if args.access_log:  # one line per request even when --log-level hides uvicorn's notes
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"serving {args.model} on http://{shown}:{args.port}{args.root_path}/", file=sys.stderr)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
