"""Waiting in tests without fixed sleeps: poll a condition until a deadline, and run ``ccw`` as a user would."""

from __future__ import annotations

import sys
import time
from typing import Callable


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition",
             interval: float = 0.05) -> None:
    """Return as soon as ``condition()`` is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def ccw_command(*args: str) -> list[str]:
    """The command line of ``ccw ARGS`` in this Python environment."""
    return [sys.executable, "-m", "cc_core", *args]
