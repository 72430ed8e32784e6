"""Atomic file writes and input fingerprints.

Every artifact is written under a temporary name next to its destination and renamed into place
only when complete, so a killed run never leaves a file (or folder) that looks finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success rename it onto ``dest``.

    On an exception the temporary file or folder is removed and ``dest`` is left untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    target = tmp if is_dir else tmp / dest.name
    try:
        yield target
        if is_dir:
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        else:
            os.replace(target, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_json(dest: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
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
