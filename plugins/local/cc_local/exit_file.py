"""The exit-code file of an attempt, written so that a full disk cannot lose it.

It is created at launch holding a line of blanks (16 bytes), while there is room, and the exit code is later
written over those same bytes in place: that needs no new disk blocks, so a job that ends while ``CC_HOME`` is full
still leaves its real exit code. A file that still holds only blanks means "no exit code yet".
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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        os.write(fd, BLANK)
    finally:
        os.close(fd)


def write_exit_code(path: Union[str, Path], code: int) -> bool:
    """Write ``code`` over the blanks, in place; ``False`` when it could not be written (try again later)."""
    line = f"{code:<{WIDTH - 1}}\n".encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
    except OSError:
        return False
    try:
        os.pwrite(fd, line, 0)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read_exit_file(path: Union[str, Path]) -> Optional[int]:
    """The exit code the file holds, or ``None`` (missing, blank, unreadable)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None
