"""All-or-nothing writes: a temporary name in the same folder, fsync, rename (DESIGN, "Data on
disk"). A reader sees the old file or the new one, never half; a killed writer leaves only a
``.NAME.tmp-PID`` entry, which ``remove_leftovers`` takes away at the next start.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")


def temporary_name(path: Path) -> Path:
    """``.NAME.tmp-PID`` beside ``path``: same folder (so the rename is atomic), hidden, and
    naming the process that writes it."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for f in files:
        with f.open("rb") as fh:
            os.fsync(fh.fileno())


def _discard(tmp: Path) -> None:
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path (file or folder) to write ``path``'s content to; on a clean exit it is
    fsynced and renamed onto ``path`` (a folder only where ``path`` does not exist yet), on an
    error removed."""
    tmp = temporary_name(path)
    _discard(tmp)
    try:
        yield tmp
        _fsync_tree(tmp)
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise
    _fsync_folder(path.parent)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    write_bytes(path, text.encode())


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: alive
    return True


def remove_leftovers(folder: Path, names: set[str] | None = None) -> list[Path]:
    """Remove the temporary entries of writes killed before their rename (of ``names`` only,
    when given), skipping those of processes still running; returns what was removed."""
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        match = _LEFTOVER.match(entry.name)
        if match is None or (names is not None and match["name"] not in names):
            continue
        if _alive(int(match["pid"])):
            continue
        _discard(entry)
        removed.append(entry)
    return removed
