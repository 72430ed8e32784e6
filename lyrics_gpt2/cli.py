"""What every command shares: one-line errors with exit code 2 for bad input.

A user who passes a missing file or an impossible flag gets one line that names the problem and
what to do, never a traceback. Code raises :class:`UsageError`; :func:`run` turns it into that line.
A command checks all its flags with :class:`Problems` so that one run names every bad value, not
just the first (litgpt's ``validate_args``)::

    with Problems() as problems:
        problems.require(args.workers >= 0, f"--workers must be >= 0 (got {args.workers})")
        problems.require(0 < args.top_p <= 1, f"--top-p must be in (0, 1] (got {args.top_p})")
    # leaving the block raised one UsageError naming both, when both were wrong
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input the user can fix. The message is printed as one line; the exit code is 2."""


class Problems:
    """Collects what is wrong with a command's input and raises it as one :class:`UsageError`.

    Use it as a context manager (raises on leaving the block) or call :meth:`raise_if_any`.
    Messages are joined with ``"; "`` in the order they were found.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []

    def require(self, ok: object, message: str) -> bool:
        """Record ``message`` unless ``ok`` holds; returns ``bool(ok)`` so later checks can
        skip what depends on a value already found wrong."""
        if not ok:
            self.messages.append(message)
        return bool(ok)

    def add(self, message: str) -> None:
        self.messages.append(message)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def raise_if_any(self) -> None:
        if self.messages:
            raise UsageError("; ".join(self.messages))

    def __enter__(self) -> Problems:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:  # an exception already on its way out wins over the collected list
            self.raise_if_any()


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (no usage dump) and exits with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def die_with_parent(parent_pid: int, signum: int | None = None) -> None:
    """Make this worker process exit quietly as soon as ``parent_pid`` is gone (``kill -9`` of
    the command): no orphan keeps computing, nor prints BrokenPipeError tracebacks when it
    sends its result. Call it first thing in a pool initializer, with the parent's pid taken
    before the pool started. Linux: the kernel sends ``signum`` (default SIGKILL;
    PR_SET_PDEATHSIG); a daemon thread also polls the parent pid (the only watch elsewhere)."""
    import os
    import signal
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            sig = signal.SIGKILL if signum is None else signum
            ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # 1 = PR_SET_PDEATHSIG

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.2)
        os._exit(0)

    if os.getppid() != parent_pid:  # died before the prctl above: nothing to wait for
        os._exit(0)
    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors can span a screen)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def run(
    main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None
) -> int:
    """Call ``main(argv)``; map UsageError, and an OSError that could not write an output
    (disk full, read-only, no permission: lyrics_gpt2.fileio.WRITE_ERRNOS), to one stderr line
    and exit code 2."""
    from lyrics_gpt2.fileio import WRITE_ERRNOS, describe_os_error  # fileio imports this module

    try:
        return main(argv) or 0
    except UsageError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        print(f"error: {' '.join(describe_os_error(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
