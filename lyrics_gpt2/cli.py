"""What every command shares: one-line errors with exit code 2 for bad input.

A user who passes a missing file or an impossible flag gets one line that names the problem and
what to do, never a traceback. Code raises :class:`UsageError`; :func:`run` turns it into that line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input the user can fix. The message is printed as one line; the exit code is 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (no usage dump) and exits with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors can span a screen)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def run(
    main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None
) -> int:
    """Call ``main(argv)``; map UsageError to one stderr line and exit code 2."""
    try:
        return main(argv) or 0
    except UsageError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
