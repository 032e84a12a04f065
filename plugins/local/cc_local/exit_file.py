"""The exit-code file of an attempt, written so that a full disk cannot lose it.

It is created at launch holding two lines of blanks (16 bytes each), while there is room, and the exit code is
later written over the first line in place: that needs no new disk blocks, so a job that ends while ``CC_HOME`` is
full still leaves its real exit code. A first line that holds only blanks means "no exit code yet". The second line
holds the job's pid when the run's supervisor started it (it then writes no pid file of its own); the ``/bin/sh``
and ``cmd.exe`` wrappers leave it blank and write a pid file instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

WIDTH = 16
BLANK = b" " * (WIDTH - 1) + b"\n"
SHELL_WRITE = 'printf "%-15s\\n" $? 1<>"$CC_EXIT_FILE"'
"""The ``sh`` that writes ``$?`` over the blanks in place (``1<>`` opens the file without truncating it)."""


def make_folder(path: str) -> None:
    """Create the job's folder (and its parents) where it is missing; raises ``OSError`` when that is impossible."""
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)


def prepare_exit_file(path: Union[str, Path]) -> None:
    """Create (or reset) the file with its blanks; raises ``OSError`` when that is impossible."""
    os.close(open_exit_file(path))


def open_exit_file(path: Union[str, Path]) -> int:
    """Create (or reset) the file with its blanks and keep it open: the descriptor, for :func:`write_pid` and
    :func:`write_exit_code_to` (no open needed later). Raises ``OSError`` when that is impossible."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.write(fd, BLANK + BLANK)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_pid(fd: int, pid: int) -> None:
    """The pid over the blanks of the second line (in place)."""
    try:
        os.pwrite(fd, _line_of(pid), WIDTH)
    except OSError:
        pass


def write_exit_code_to(fd: int, code: int) -> bool:
    """The exit code over the blanks of the first line, in place, through a descriptor of :func:`open_exit_file`;
    ``False`` when it could not be written (try again later)."""
    try:
        os.pwrite(fd, _line_of(code), 0)
        return True
    except OSError:
        return False


def _line_of(number: int) -> bytes:
    return f"{number:<{WIDTH - 1}}\n".encode()


def read_exit_file(path: Union[str, Path]) -> Optional[int]:
    """The exit code the file holds, or ``None`` (missing, blank, unreadable)."""
    return _line(path, 0)


def read_pid_line(path: Union[str, Path]) -> Optional[int]:
    """The pid the run's supervisor wrote into the file, or ``None``."""
    return _line(path, 1)


def _line(path: Union[str, Path], index: int) -> Optional[int]:
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except OSError:
        return None
    try:
        return int(lines[index].strip())
    except (IndexError, ValueError):
        return None
