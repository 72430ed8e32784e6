"""Safe output writes, one-line messages for failed writes, and input fingerprints.

Every command writes its outputs through this module (generate --output, perplexity --json,
train's output folder, preprocess's chunks and tokenized folders); run it via any command, e.g.
``python -m lyrics_gpt2.generate --output songs.txt``.

API (what a command calls)::

    check_output(path, flag="--output")          # BEFORE any work: refuses a folder given for a
    check_output(out_dir, flag="--output-dir",   # file, a file given for a folder, a parent that
                 is_dir=True)                    # is a file, an unwritable/read-only place, /proc
    with atomic_path(dest) as tmp:               # write tmp; renamed onto dest only on success
        tmp.write_text(text)
    write_json(dest, data)                       # the same, for JSON
    with output_errors(dest):                    # any other write: OSError -> OutputError
        save_checkpoint(dest)
    folder = claim_folder(out, "train", inputs=[("--data-dir", d)])  # BEFORE any work
    folder.record("metrics.jsonl")   # list a name in the marker, then write it; .clear(): remove

Rules for what ``dest`` is:

- missing or a regular file: written under a temporary name beside it, renamed on success
  (a killed run leaves the old file or nothing, never half a file);
- a symlink to a regular file (or to nothing): the file it points at is replaced the same
  atomic way, and the link itself stays;
- a device, FIFO or socket (``/dev/null``, ``/dev/stdout`` -- also through symlinks, and any
  link through ``/proc`` or ``/dev``): never replaced; the finished output is written through
  it in one piece, in append mode (``--json /dev/stdout > log`` does not truncate ``log``);
- a folder where a file is expected (or a file where a folder is expected): OutputError.

Folder ownership (docs/reliability.md): a folder a command wrote holds ``.lyrics-gpt2.json``
naming the command and the top-level names it wrote; :func:`claim_folder` lets a command write
only into a new or empty folder or its own earlier run, and :func:`check_inputs` refuses an
output that is, holds or would replace a part of an input (links resolved first).

:class:`OutputError` is a :class:`~lyrics_gpt2.cli.UsageError`: ``cli.run`` prints it as one line
with exit code 2. ``cli.run`` also turns an OSError that escaped with a write errno (ENOSPC, EROFS,
EACCES, EPERM, ENOTDIR, EISDIR, EDQUOT, EFBIG) into the same kind of line via
:func:`describe_os_error`, so a command that forgot ``output_errors`` still prints no traceback.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from lyrics_gpt2.errors import WRITE_ERRNOS, OutputError, describe_os_error

# Paths the kernel makes up: nothing can be created there, and links through them (/dev/stdout
# -> /proc/self/fd/1 -> the shell's redirect target) must be written through, not replaced.
_VIRTUAL = ("/proc/", "/dev/", "/sys/")
# Where no file can be created at all (/dev/shm, a tmpfs, is a fine place for outputs).
_SYSTEM = ("/proc/", "/sys/")


@contextlib.contextmanager
def output_errors(path: str | os.PathLike | None = None) -> Iterator[None]:
    """Turn an OSError with a write errno raised inside the block into an :class:`OutputError`."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        raise OutputError(describe_os_error(exc, path)) from None


def _link_chain(path: Path) -> list[str]:
    """``path`` and every symlink target on the way to the real file (at most 40 hops)."""
    chain = [os.path.abspath(path)]
    current = chain[0]
    for _ in range(40):
        if not os.path.islink(current):
            break
        target = os.readlink(current)
        current = os.path.normpath(os.path.join(os.path.dirname(current), target))
        chain.append(current)
    return chain


def _is_stream(path: Path) -> bool:
    """True when ``path`` must be written in place: a device, FIFO or socket, or a link that
    passes through /proc or /dev (``/dev/stdout`` whatever it currently points at)."""
    try:
        st = os.stat(path)  # follows links
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        return True
    chain = _link_chain(path)
    return len(chain) > 1 and any(p.startswith(_VIRTUAL) for p in chain)


def check_output(path: str | os.PathLike, *, flag: str = "--output", is_dir: bool = False) -> None:
    """Refuse an output that cannot work, before any work is done (one line, exit code 2)."""
    path = Path(path)
    if not is_dir and _is_stream(path):
        return  # written in place: its parent need not be writable
    where = f"{flag} {path}"
    if is_dir and path.exists() and not path.is_dir():
        raise OutputError(f"{where} is a file, not a folder; name a folder")
    if not is_dir and path.is_dir():
        raise OutputError(f"{where} is a folder; name a file (e.g. {path / 'out'})")
    if os.path.abspath(path).startswith(_SYSTEM):
        raise OutputError(f"{where} is inside a system folder; write elsewhere")
    # The nearest existing ancestor decides: it must be a writable folder on a writable disk.
    parent = Path(os.path.abspath(path if is_dir and path.exists() else path.parent))
    while not parent.exists() and parent != parent.parent:
        if parent.is_symlink():  # a dangling link in the path
            break
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{where}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        try:
            ro = os.statvfs(parent).f_flag & os.ST_RDONLY
        except OSError:
            ro = False
        reason = "is on a read-only file system" if ro else "is not writable"
        raise OutputError(f"{where}: {parent} {reason}; write elsewhere")


@contextlib.contextmanager
def atomic_path(
    dest: str | os.PathLike, *, is_dir: bool = False, owner: str | None = None
) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success rename it onto ``dest``.

    ``owner`` (folders only): the command the folder belongs to. An existing ``dest`` is then
    replaced only when :func:`claim_folder` allows it (empty, or that command's earlier run),
    and the new folder gets the marker listing what it holds.

    On an exception the temporary file or folder is removed and ``dest`` is left untouched.
    A device/FIFO/``/dev/stdout`` is yielded as itself (written through), a symlink is followed
    (its target replaced, the link kept); see the module docstring. OSErrors with a write errno
    come out as :class:`OutputError`.
    """
    dest = Path(dest)
    if not is_dir and _is_stream(dest):
        # Written whole at the end, in append mode: opening /dev/stdout with "w" would truncate
        # the file the shell redirected stdout to, and a FIFO reader gets the text in one piece.
        with tempfile.TemporaryDirectory(prefix=".stream.") as tmp_dir, output_errors(dest):
            target = Path(tmp_dir) / dest.name
            yield target
            with target.open("rb") as src, open(dest, "ab") as out:
                shutil.copyfileobj(src, out)
        return
    shown = dest
    if os.path.abspath(dest).startswith(_SYSTEM):
        raise OutputError(f"cannot write {shown}: it is inside a system folder; write elsewhere")
    if dest.is_symlink():
        dest = Path(os.path.realpath(dest))
    if is_dir and dest.exists() and not dest.is_dir():
        raise OutputError(f"cannot write {shown}: it is a file, not a folder; name a folder")
    if owner is not None:
        claim_folder(dest, owner, flag="output")
    if not is_dir and dest.is_dir():
        raise OutputError(f"cannot write {shown}: {WRITE_ERRNOS[errno.EISDIR]}")
    with output_errors(shown):
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    # Held while this run writes: remove_stale_tmp of a concurrent run leaves the folder alone.
    lock_fd = os.open(tmp, os.O_RDONLY)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    target = tmp if is_dir else tmp / dest.name
    try:
        with output_errors(shown):
            yield target
            if is_dir:
                if owner is not None:
                    write_marker(tmp, owner, (e.name for e in tmp.iterdir()))
                if dest.exists():
                    shutil.rmtree(dest)
                os.replace(tmp, dest)
            else:
                os.replace(target, dest)
    finally:
        os.close(lock_fd)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_tmp(dest: str | os.PathLike) -> None:
    """Delete what killed runs left beside ``dest`` (atomic_path's ``.NAME.*.tmp``), except
    the temporary folder of a run still alive (atomic_path holds a lock on it)."""
    dest = Path(dest)
    if not dest.parent.is_dir():
        return
    for stale in dest.parent.glob(f".{dest.name}.*.tmp"):
        try:
            fd = os.open(stale, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # held: another run is writing it
        finally:
            os.close(fd)  # closing drops our lock again
        shutil.rmtree(stale, ignore_errors=True)


def listing(folder: str | os.PathLike, skip: tuple[str, ...] = ("manifest.json",)) -> list[dict]:
    """Every file under ``folder`` with its size, for a manifest; :func:`intact` checks it."""
    folder = Path(folder)
    return [
        {"file": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    ]


def intact(folder: str | os.PathLike, files: Any) -> bool:
    """True when every file a manifest lists is there with its recorded size (a truncated or
    deleted file means the output must be rebuilt, not reported up to date)."""
    folder = Path(folder)
    if not isinstance(files, list) or not files:
        return False
    try:
        return all((folder / f["file"]).stat().st_size == f["bytes"] for f in files)
    except (OSError, KeyError, TypeError):
        return False


def write_json(dest: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (or through a device; see atomic_path)."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any | None:
    """The JSON in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def file_fingerprint(path: str | os.PathLike, sample_bytes: int = 1 << 20) -> str:
    """A cheap identity for a (possibly 9 GB) input: size, mtime and a hash of its head and tail."""
    path = Path(path)
    st = path.stat()
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with path.open("rb") as f:
        h.update(f.read(sample_bytes))
        if st.st_size > sample_bytes:
            f.seek(max(sample_bytes, st.st_size - sample_bytes))
            h.update(f.read(sample_bytes))
    return h.hexdigest()


def params_digest(params: dict[str, Any]) -> str:
    """A stable hash of a stage's parameters (JSON with sorted keys)."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


# --------------------------------------------------------------------------- folder ownership
# Every command that writes a folder goes through claim_folder; see docs/reliability.md.
MARKER = ".lyrics-gpt2.json"
# Temporary names our writers leave in a run folder when killed (atomic_path's ``.NAME.*.tmp``,
# save_hf_folder's ``.export.*``, save_model_files' ``.model.*``): never counted as foreign.
TEMP_PATTERNS = (".*.tmp", ".export.*", ".model.*")


def _is_temp(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in TEMP_PATTERNS)


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


# Names in an input folder that commands read (a model folder's files, a data folder's stage
# manifests): a file output inside an input folder may never take one of them.
INPUT_NAMES = frozenset({
    "config.json", "model.safetensors", "pytorch_model.bin", "generation_config.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "merges.txt", "chat_template.jinja", "summary.json", "metrics.jsonl",
    "manifest.json", "dataset_dict.json", MARKER,
})  # fmt: skip


def _replaces_input_part(real_out: Path, real_in: Path, command: str | None) -> bool:
    """Whether an output inside the input folder ``real_in`` would replace a part of it: for a
    file output (``command`` None) a name the input is read by or anything in its subfolders; for
    a folder output an existing entry that is not an earlier run of ``command``."""
    parts = real_out.relative_to(real_in).parts
    top = real_in / parts[0]
    if command is None:
        return len(parts) > 1 or parts[0] in INPUT_NAMES
    return os.path.lexists(top) and (read_marker(top) or {}).get("command") != command


def check_inputs(
    outputs: Iterable[tuple[str, str | os.PathLike | None]],
    inputs: Iterable[tuple[str, str | os.PathLike | None]],
    *,
    command: str | None = None,
) -> None:
    """Refuse, before any work and in one line naming both paths, an output that is, holds or
    would replace a part of an input (links resolved first). (flag, path) pairs; None paths and
    inputs not on disk (hub ids) are skipped. ``command``: the outputs are that command's
    folders; None: files. ``--output MODEL/songs.txt`` is fine, ``MODEL/model.safetensors`` or
    ``--output-dir DATA/tokenizer`` are not (:func:`_replaces_input_part`)."""
    inputs = [(f, p) for f, p in inputs if p is not None and os.path.lexists(p)]
    for oflag, out in outputs:
        if out is None:
            continue
        real_out = Path(os.path.realpath(out))
        for iflag, inp in inputs:
            real_in = Path(os.path.realpath(inp))
            if real_in == real_out:
                how = "is"
            elif _inside(real_in, real_out):
                how = "holds"
            elif (
                real_in.is_dir()
                and _inside(real_out, real_in)
                and _replaces_input_part(real_out, real_in, command)
            ):
                how = "is inside"
            else:
                continue
            raise OutputError(
                f"{oflag} {out} {how} the input {iflag} {inp}; an output may never replace or "
                "hold an input: write elsewhere"
            )


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The ownership marker of ``folder`` ({"command", "files"}), or None when it has none
    (an unreadable or malformed marker counts as none: the folder is then not ours)."""
    marker = read_json(Path(folder) / MARKER)
    if not isinstance(marker, dict) or not isinstance(marker.get("command"), str):
        return None
    files = marker.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return marker


def write_marker(folder: str | os.PathLike, command: str, files: Iterable[str]) -> None:
    """Write (atomically) the marker that says ``command`` wrote ``files`` in ``folder``."""
    about = "written by lyrics-gpt2: the only names here a rerun or --overwrite may remove"
    names = sorted({f for f in files if f != MARKER})
    write_json(Path(folder) / MARKER, {"command": command, "files": names, "about": about})


class RunFolder:
    """A folder one command owns (:func:`claim_folder`): ``path`` as given, ``real`` resolved,
    ``owned`` the top-level names its marker lists (a listed folder is owned whole)."""

    def __init__(self, path: Path, real: Path, command: str, owned: list[str]):
        self.path, self.real, self.command, self.owned = path, real, command, owned

    def present(self) -> list[str]:  # the owned names that exist now
        return [n for n in self.owned if os.path.lexists(self.real / n)]

    def record(self, *names: str) -> None:
        """List ``names`` in the marker BEFORE writing them: a run killed midway leaves only
        listed names behind, so its rerun recognises them (and --overwrite may remove them)."""
        new = [n for n in names if n not in self.owned]
        if not new and (self.real / MARKER).is_file():
            return
        with output_errors(self.path):
            self.real.mkdir(parents=True, exist_ok=True)
            self.owned = sorted({*self.owned, *new})
            write_marker(self.real, self.command, self.owned)

    def clear(self) -> None:
        """Remove every name the marker lists (and our temporary leftovers), nothing else: the
        earlier run's outputs go before the new run writes, so a killed run never leaves a
        folder that mixes two runs."""
        with output_errors(self.path):
            for name in self.present():
                path = self.real / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            self.owned = []
            if self.real.is_dir():
                for leftover in [*self.real.glob(".export.*"), *self.real.glob(".model.*")]:
                    shutil.rmtree(leftover, ignore_errors=True)  # a killed save's temporary
                write_marker(self.real, self.command, [])


def claim_folder(
    path: str | os.PathLike,
    command: str,
    *,
    flag: str = "--output-dir",
    inputs: Iterable[tuple[str, str | os.PathLike | None]] = (),
    legacy: Callable[[Path], bool] | None = None,
    known: Iterable[str] = (),
) -> RunFolder:
    """Check, before any work, that ``command`` may write the folder ``path``; return it.

    Allowed: a new or empty folder, or this command's earlier run (its marker names the command
    and lists every other entry). Refused with one line (exit code 2): an output that is, holds
    or replaces a part of an input (``inputs``); anything this command did not write (named);
    another command's run. Links are resolved first. ``legacy(real)`` may adopt a marker-less
    folder of this command from before markers (by its own summary or manifest) when every entry
    matches a pattern of ``known``; it is marked at its first :meth:`RunFolder.record`."""
    path = Path(path)
    check_output(path, flag=flag, is_dir=True)
    check_inputs([(flag, path)], inputs, command=command)
    real = Path(os.path.realpath(path))
    where = f"{flag} {path}" + (f" (-> {real})" if real != Path(os.path.abspath(path)) else "")
    if not real.is_dir():
        return RunFolder(path, real, command, [])
    entries = sorted(e.name for e in real.iterdir() if not _is_temp(e.name))
    marker = read_marker(real)
    if marker is None:
        entries = [e for e in entries if e != MARKER]
        known = tuple(known)
        matches = all(any(fnmatch.fnmatchcase(e, k) for k in known) for e in entries)
        if entries and matches and legacy is not None and legacy(real):
            return RunFolder(path, real, command, entries)  # marked at its first record()
        owned: list[str] = []
    elif marker["command"] != command:
        raise OutputError(
            f"{where} holds a run of {marker['command']}, not of {command}; choose another folder"
        )
    else:
        owned = list(marker["files"])
    foreign = [e for e in entries if e != MARKER and e not in owned]
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise OutputError(
            f"{where} holds files {command} did not write ({', '.join(foreign[:3])}{more}); it "
            "writes only into a new or empty folder or its own earlier run: choose another "
            "folder or move them"
        )
    return RunFolder(path, real, command, owned)
