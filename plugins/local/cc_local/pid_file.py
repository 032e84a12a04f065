"""The pid file of an attempt, as the runner writes it: created before the process starts, filled right after.

The job's wrapper writes the same pid into the same file as its first step; whichever comes first, the file ends
up holding the pid. ``LocalJobType.find`` reads a missing or empty file as "never started".
"""

from __future__ import annotations

import os
from typing import Optional


def open_pid_file(path: str) -> Optional[int]:
    """Create (or open) the pid file before the process exists; ``None`` if that fails (the wrapper still writes
    it)."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
    except OSError:
        return None


def fill_pid_file(fd: Optional[int], pid: int) -> None:
    """Write the pid, as the wrapper writes it (``echo $$``), and close the file."""
    if fd is None:
        return
    try:
        os.write(fd, b"%d\n" % pid)
    except OSError:
        pass
    finally:
        os.close(fd)


def discard_pid_file(fd: Optional[int], path: str) -> None:
    """The process did not start: leave no pid file behind."""
    if fd is None:
        return
    os.close(fd)
    try:
        os.unlink(path)
    except OSError:
        pass
