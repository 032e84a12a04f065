"""Linux's process facts, read from ``/proc``, for :mod:`cc_local.process_ops.linux`.

:class:`ExitWatcher` learns of exits as they happen: on Linux one thread waits on a pidfd per process with epoll
(no polling, no thread per job); elsewhere a small thread per process waits on it. Processes this runner did not
start (found again after a resume) are watched through their pidfd too, and their exit code read from the file
the wrapper wrote.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

ExitCallback = Callable[[int], None]   # called with the exit code (negative: killed by that signal)


def process_start_time(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22): with the pid, it names
    one process for sure, even after pids wrap. ``None`` when the process is gone (or not on Linux)."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    fields = data[data.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None


def _tick_length() -> Optional[int]:
    """Nanoseconds per clock tick of ``/proc/PID/stat`` start times, where the boot clock can tell them."""
    if not sys.platform.startswith("linux") or not hasattr(time, "CLOCK_BOOTTIME"):
        return None
    try:
        hertz = os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError):
        return None
    return 1_000_000_000 // hertz if hertz > 0 and 1_000_000_000 % hertz == 0 else None


_TICK_NS = _tick_length()


def boot_tick() -> Optional[int]:
    """The current clock tick since boot, in the unit of a process's start time in ``/proc/PID/stat``."""
    if _TICK_NS is None:
        return None
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // _TICK_NS


def start_time_between(pid: int, before: Optional[int], after: Optional[int]) -> Optional[str]:
    """The start time of ``pid``, a process started between the ticks ``before`` and ``after``.

    The kernel stamps a new process with the boot clock and reports that time in whole ticks, so when no tick
    began while the process was started, its start time is that tick, and ``/proc`` need not be read (reading it
    while the process starts waits for the process). Otherwise :func:`process_start_time` reads it."""
    if before is not None and before == after:
        return str(before)
    return process_start_time(pid)


def is_alive(pid: int, start_time: Optional[str]) -> bool:
    if sys.platform.startswith("linux") and start_time is not None:
        now = process_start_time(pid)
        if now is None or now != start_time:
            return False
        return not _is_zombie(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2:data.rfind(b")") + 3] == b"Z"


class ExitWatcher:
    """Calls back once per watched process when it exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: dict[int, tuple[Optional[subprocess.Popen[bytes]], int, ExitCallback]] = {}
        self._use_pidfd = hasattr(os, "pidfd_open") and hasattr(select, "epoll")
        self._thread: Optional[threading.Thread] = None
        self._foreign_codes: dict[int, Callable[[], Optional[int]]] = {}
        if self._use_pidfd:
            self._epoll = select.epoll()
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            self._epoll.register(self._wake_r, select.EPOLLIN)
            self._closed = False

    def watch(self, process: Optional[subprocess.Popen[bytes]], pid: int, start: Optional[str],
              callback: ExitCallback, exit_code: Callable[[], Optional[int]] = lambda: None) -> None:
        """Watch ``process`` (a child of ours) or the foreign ``pid`` started at ``start``; ``exit_code`` tells a
        foreign process's code once it has gone."""
        if self._use_pidfd:
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                callback(self._reap(process, exit_code))
                return
            with self._lock:
                self._callbacks[fd] = (process, pid, lambda code: callback(code))
                self._foreign_codes[fd] = exit_code
            self._epoll.register(fd, select.EPOLLIN)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="cc-local-exits", daemon=True)
                self._thread.start()
        else:  # pragma: no cover - macOS / Windows
            def wait() -> None:
                if process is not None:
                    callback(process.wait())
                    return
                import time
                while is_alive(pid, start):
                    time.sleep(0.2)
                code = exit_code()
                callback(code if code is not None else -1)
            threading.Thread(target=wait, name=f"cc-local-wait-{pid}", daemon=True).start()

    @staticmethod
    def _reap(process: Optional[subprocess.Popen[bytes]], exit_code: Callable[[], Optional[int]]) -> int:
        if process is not None:
            return process.wait()
        code = exit_code()
        return code if code is not None else -1

    def _loop(self) -> None:
        while True:
            try:
                events = self._epoll.poll()
            except OSError:
                return
            for fd, _ in events:
                if fd == self._wake_r:
                    if self._closed:
                        return
                    continue
                with self._lock:
                    entry = self._callbacks.pop(fd, None)
                    exit_code = self._foreign_codes.pop(fd, lambda: None)
                if entry is None:
                    continue
                try:
                    self._epoll.unregister(fd)
                except OSError:
                    pass
                os.close(fd)
                process, _pid, callback = entry
                callback(self._reap(process, exit_code))

    def close(self) -> None:
        if self._use_pidfd and not self._closed:
            self._closed = True
            os.write(self._wake_w, b"x")
