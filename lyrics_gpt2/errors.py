"""The project's error types and their one-line wording: the shared piece under cli and fileio.

Every command turns bad input into one line and exit code 2 (``lyrics_gpt2.cli.run`` prints it):
code raises :class:`UsageError`, or :class:`OutputError` for an output that cannot be written, or
collects every bad flag first with :class:`Problems` (litgpt's ``validate_args``)::

    with Problems() as problems:
        problems.require(args.workers >= 0, f"--workers must be >= 0 (got {args.workers})")
        problems.require(0 < args.top_p <= 1, f"--top-p must be in (0, 1] (got {args.top_p})")
    # leaving the block raised one UsageError naming both, when both were wrong

:func:`require_extra` names the ``pip install`` a command needs when an optional dependency (the
``serve``, ``report``, ``music`` extras) is missing.
"""

from __future__ import annotations

import errno
import importlib.util
import os

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


class OutputError(UsageError):
    """An output that cannot be written where the user asked; printed as one line, exit code 2."""


def describe_os_error(exc: OSError, path: str | os.PathLike | None = None) -> str:
    """One line naming the path, what went wrong and what to do."""
    where = path if path is not None else (exc.filename or "the output")
    reason = WRITE_ERRNOS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
    return f"cannot write {where}: {reason}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (library errors can span a screen)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def require_extra(extra: str, what: str, *modules: str) -> None:
    """UsageError naming the ``pip install`` to run when any of ``modules`` (optional dependencies
    of ``what``, e.g. "python -m lyrics_gpt2.serve") is not installed. Call it before work."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"{what} needs {', '.join(missing)}, which the core install leaves out: "
            f'pip install "lyrics-gpt2[{extra}]" (in a checkout: pip install -e ".[{extra}]")'
        )


# errnos that mean "this place cannot take the output": the user fixes the place, not the code.
WRITE_ERRNOS = {
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free some space or write elsewhere",
    errno.EFBIG: "file too large for this file system; write elsewhere",
    errno.EROFS: "read-only file system; write elsewhere",
    errno.EACCES: "permission denied; write elsewhere or fix the permissions",
    errno.EPERM: "operation not permitted; write elsewhere or fix the permissions",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "it is a folder; name a file inside it instead",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
}
