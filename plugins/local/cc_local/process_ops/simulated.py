"""Running the macOS path of the local job type on Linux, for tests.

:func:`select_macos_path` selects :class:`~cc_local.process_ops.macos.MacOSOps` and takes away what macOS lacks:
``os.pidfd_open``, ``select.epoll`` and cc's own ``/proc`` readers (which then fail loudly if called). psutil, which
reads ``/proc`` on Linux as it reads ``sysctl`` on macOS, stays: it is the layer whose own CI covers both.
"""

from __future__ import annotations

import os
import select
from typing import Any, NoReturn

from cc_local import job_processes, processes
from cc_local.process_ops import macos

PROC_READERS = {processes: ("process_start_time", "boot_tick", "start_time_between", "is_alive", "ExitWatcher"),
                job_processes: ("process_table", "carries_tag", "job_processes", "live")}


def select_macos_path(monkeypatch: Any) -> "macos.MacOSOps":
    """With pytest's ``monkeypatch``: the macOS implementation is the current one until the test ends."""
    ops = macos.MacOSOps()
    monkeypatch.setattr("cc_local.process_ops._selected", ops)
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    monkeypatch.delattr(select, "epoll", raising=False)
    for module, names in PROC_READERS.items():
        for name in names:
            monkeypatch.setattr(module, name, _not_on_macos(f"{module.__name__}.{name}"))
    return ops


def _not_on_macos(name: str) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise AssertionError(f"{name} reads /proc or uses Linux-only calls: the macOS path must not use it")
    return fail
