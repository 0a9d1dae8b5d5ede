"""Who may give a review store new proposals: none while a review server runs on it.

A store takes an annotation CSV's proposals (made from it, or a new or changed CSV given) only
where no server is running on it; else `occreid review` stops with one line naming the store. A
server holds a shared lock on ``STORE.lock`` from before it opens the store until its process
ends; taking proposals needs that lock alone and does not wait for it. So a second server (another
reviewer) or an export works beside a running server with the CSV the store follows, and a CSV
with other tags reaches the store once the server stops (or dies: the system drops its locks).
Without this, an export given another CSV (``--store``), or the server's CSV after a tagger
rewrote it, moved every undecided frame to the new tags under the server's reviewers and made
the store follow that CSV, so that the server's next start moved them back. A re-tag
(ReviewStore.repropose) is the review's own proposal set: any running server makes one.

The lock is POSIX's (``fcntl.lockf``, as SQLite's own): per process, so a process never shuts
itself out (a server opens its store once; tests open several sessions in one process).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from occreid.common.errors import OccreidError


def lock_path(store: Path) -> Path:
    """The file whose lock the servers of ``store`` share."""
    return store.with_name(store.name + ".lock")


class StoreLock:
    """The lock of one store, held by this process until ``release`` (or its end)."""

    def __init__(self, store: Path, serving: bool = True) -> None:
        self.store = store
        self.serving = serving  # for a server (else an export: a store of its own has no reviews)
        self.fd: int | None = None

    def _open(self) -> int:
        if self.fd is None:
            path = lock_path(self.store)
            try:
                self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as err:
                raise OccreidError(
                    f"{path}: cannot open the review store's lock ({err.strerror}); pass "
                    "--store PATH in a folder you can write"
                ) from None
        return self.fd

    def share(self) -> None:
        """Hold it with the other servers (waits while another process takes proposals)."""
        fcntl.lockf(self._open(), fcntl.LOCK_SH)

    def take(self, csv: Path) -> None:
        """Hold it alone, to give the store ``csv``'s proposals; a one-line error where a
        server holds it."""
        try:
            fcntl.lockf(self._open(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            then = (
                "run this again, or pass --store PATH for a store of its own"
                if self.serving
                else "export again"  # from a store of its own, it would hold none of the reviews
            )
            raise OccreidError(
                f"{self.store}: a review server is running on this store, and {csv} would give "
                f"it new proposals; stop the server and {then}"
            ) from None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self) -> None:
        self.release()
