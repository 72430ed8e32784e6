"""``python -m lyrics_gpt2.serve --model DIR``: load the model once and serve it with uvicorn
(see lyrics_gpt2/serve/__init__.py and docs/serving.md).

The socket is bound here before uvicorn starts, so a port in use or a host that is not this
machine's is one line saying what to do (exit 2), not uvicorn's ERROR after "serving on".
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
import threading
from collections.abc import Sequence

from lyrics_gpt2.cli import run
from lyrics_gpt2.errors import UsageError, require_extra
from lyrics_gpt2.serve.settings import build_engine, build_parser, check


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
    require_extra("serve", "python -m lyrics_gpt2.serve", "fastapi", "uvicorn", "prometheus_client")
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
