"""Waiting in tests without fixed sleeps: poll a condition until a deadline, and run ``ccw`` as a user would."""

from __future__ import annotations

import sys
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 20.0, what: str = "condition",
             interval: float = 0.05) -> T:
    """Return ``condition()``'s value as soon as it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def ccw_command(*args: str) -> list[str]:
    """The command line of ``ccw ARGS`` in this Python environment."""
    return [sys.executable, "-m", "cc_core", *args]
