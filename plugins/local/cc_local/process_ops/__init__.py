"""Process operations for the running system: :func:`current` is the implementation the local job type uses.

``sys.platform`` chooses it (:func:`for_platform`); tests choose another with :func:`select` (see
:mod:`cc_local.process_ops.simulated`), to run the macOS path on Linux.
"""

from __future__ import annotations

import sys
from typing import Optional

from cc_local.process_ops.base import SIGKILL, TAG_VARIABLE, ExitCallback, ExitWatching, ProcessOps

_selected: Optional[ProcessOps] = None


def for_platform(platform: str) -> ProcessOps:
    if platform.startswith("linux"):
        from cc_local.process_ops.linux import LinuxOps

        return LinuxOps()
    if platform == "win32":
        from cc_local.process_ops.windows import WindowsOps

        return WindowsOps()
    from cc_local.process_ops.macos import MacOSOps

    return MacOSOps()   # macOS and the BSDs: psutil, no /proc


def current() -> ProcessOps:
    global _selected
    if _selected is None:
        _selected = for_platform(sys.platform)
    return _selected


def select(ops: Optional[ProcessOps]) -> None:
    """Use ``ops`` from now on (``None``: the running system's again)."""
    global _selected
    _selected = ops


__all__ = ["ExitCallback", "ExitWatching", "ProcessOps", "SIGKILL", "TAG_VARIABLE", "current", "for_platform",
           "select"]
