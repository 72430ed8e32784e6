"""What every command's entry point shares: argparse that refuses in one line, :func:`run` that
turns lyrics_gpt2.errors' exceptions into one stderr line and exit code 2, and worker processes
that die with their parent.

A user who passes a missing file or an impossible flag gets one line that names the problem and
what to do, never a traceback::

    if __name__ == "__main__":
        sys.exit(run(main))
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence

from lyrics_gpt2.errors import EXIT_USAGE, WRITE_ERRNOS, UsageError, describe_os_error


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


def run(
    main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None
) -> int:
    """Call ``main(argv)``; map UsageError, and an OSError that could not write an output
    (disk full, read-only, no permission: lyrics_gpt2.fileio.WRITE_ERRNOS), to one stderr line
    and exit code 2."""
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
