"""One process drives a run at a time: an OS file lock in the run's folder.

The lock goes away with the process that holds it (also on SIGKILL), so a reader can tell a run whose driver died
(``interrupted``) from one that is still being driven.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Optional

from cc_core.errors import RunLockedError

LOCK_NAME = ".runner.lock"


class RunLock:
    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_NAME
        self._file: Optional[IO[str]] = None

    def acquire(self, run_id: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        if not _try_lock(handle, exclusive=True):
            holder = _holder(handle)
            handle.close()
            raise RunLockedError(f"run {run_id} is already being driven by {holder}",
                                 hint=f"follow it with 'ccw status {run_id}', or stop it with 'ccw kill {run_id}'")
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {_hostname()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            _unlock(self._file)
            self._file.close()
            self._file = None


def is_driven(run_dir: Path) -> bool:
    """Whether some live process holds the run's lock."""
    path = run_dir / LOCK_NAME
    if not path.exists():
        return False
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError:
        return False
    try:
        if _try_lock(handle, exclusive=False):
            _unlock(handle)
            return False
        return True
    finally:
        handle.close()


def _holder(handle: IO[str]) -> str:
    """Who holds the lock, as the holder wrote it (never an error: the text is only for the message)."""
    try:
        handle.seek(0)
        return handle.read(200).strip() or "another process"
    except (OSError, ValueError):
        return "another process"


def _hostname() -> str:
    import socket

    return socket.gethostname()


# Windows locks are mandatory: a locked byte cannot even be read by another process. The lock therefore sits on a
# byte far past the holder's text ("process P on HOST"), which any process can still read for the message.
WINDOWS_LOCK_OFFSET = 1 << 20

if sys.platform == "win32":  # pragma: no cover - exercised on Windows
    import msvcrt

    def _try_lock(handle: IO[str], exclusive: bool) -> bool:
        try:
            handle.seek(WINDOWS_LOCK_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
        finally:
            handle.seek(0)

    def _unlock(handle: IO[str]) -> None:
        try:
            handle.seek(WINDOWS_LOCK_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(handle: IO[str], exclusive: bool) -> bool:
        try:
            fcntl.flock(handle.fileno(), (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
