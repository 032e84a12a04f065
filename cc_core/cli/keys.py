"""Single key presses from a terminal, without Enter and without stopping the live table: the terminal is put in
cbreak mode (keys arrive one by one, Ctrl-C still interrupts) for as long as cc waits for an answer."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator, Optional


@contextmanager
def single_keys() -> Iterator[None]:
    """Read standard input key by key while inside; the terminal's settings are restored on the way out."""
    try:
        import termios
        import tty
    except ImportError:  # pragma: no cover - Windows: keys are read with msvcrt, nothing to set
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_key(timeout: float) -> Optional[str]:
    """One key pressed within ``timeout`` seconds (lower case), or ``None``."""
    if os.name == "nt":  # pragma: no cover
        import msvcrt
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if msvcrt.kbhit():
                return msvcrt.getwch().lower()
            time.sleep(0.02)
        return None
    import select

    try:
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
    except InterruptedError:
        return None
    if not ready:
        return None
    data = os.read(sys.stdin.fileno(), 1)
    return data.decode(errors="replace").lower() if data else None
