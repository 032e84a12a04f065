"""What the local job type asks of the operating system about processes, in one interface.

A process is named by its pid **and** its start time: pids are reused (quickly on Windows, after a reboot
anywhere), so a stored pid alone may name a stranger by now. Every operation that acts on a stored process checks
both first. Each platform has its implementation (:mod:`.linux`, :mod:`.macos`, :mod:`.windows`); the one for the
running system is chosen in :mod:`cc_local.process_ops`.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Optional

ExitCallback = Callable[[int], None]   # called with the exit code (negative: killed by that signal)
SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)
TAG_VARIABLE = "CC_PROCESS_TAG"
"""The environment variable every job's processes inherit: it finds those that left the job's group or session."""


class ExitWatching(ABC):
    """Calls back once per watched process when it exits."""

    @abstractmethod
    def watch(self, process: Optional["subprocess.Popen[bytes]"], pid: int, start: Optional[str],
              callback: ExitCallback, exit_code: Callable[[], Optional[int]] = lambda: None) -> None:
        """Watch ``process`` (a child of ours) or the foreign process ``pid`` started at ``start``;
        ``exit_code`` tells a foreign process's code once it has gone."""

    def close(self) -> None:
        """Stop watching (threads end with the process)."""


class ProcessOps(ABC):
    """Spawn options, start times, liveness, a job's processes, killing them, exit watching."""

    platform: str = ""
    supervised: bool = False
    """Whether jobs are started by the run's supervisor (:mod:`cc_local.supervisor`: a child subreaper, Linux)."""
    tracking: str = ""
    """How a job's processes are found, in words (``ccw`` shows it with the job type)."""
    kills_at_once: bool = False
    """Whether :meth:`kill_job` ends the whole job at once (no second, forced kill after a grace period)."""

    # ------------------------------------------------------------------------------------------------- starting
    @abstractmethod
    def spawn_options(self) -> dict[str, Any]:
        """Keyword arguments for ``subprocess.Popen`` that make a job a unit of its own (session, group, ...)."""

    def adopt(self, process: "subprocess.Popen[bytes]", tag: str) -> None:
        """Called right after a job's main process started (Windows: put it in its Job Object and let it run)."""

    def clock(self) -> Optional[int]:
        """A reading that, taken before and after a start, may tell the start time without asking (Linux)."""
        return None

    def start_time_between(self, pid: int, before: Optional[int], after: Optional[int]) -> Optional[str]:
        return self.start_time(pid)

    # ------------------------------------------------------------------------------------------------- identity
    @abstractmethod
    def start_time(self, pid: int) -> Optional[str]:
        """The start time of ``pid`` as an opaque string, ``None`` when there is no such process."""

    @abstractmethod
    def started_at(self, pid: int) -> Optional[float]:
        """When ``pid`` started, in seconds since the epoch; ``None`` when there is no such process."""

    def start_time_if_started_by(self, pid: int, latest: float) -> Optional[str]:
        """The start time of ``pid`` if it started no later than ``latest`` (seconds since the epoch): a process
        that started after the pid file naming it was written is a stranger that got the pid since."""
        when = self.started_at(pid)
        if when is None or when > latest + 2.0:   # clocks rounded to the second, and a little more
            return None
        return self.start_time(pid)

    @abstractmethod
    def is_alive(self, pid: int, start: Optional[str]) -> bool:
        """Whether the process ``pid`` started at ``start`` still runs (a zombie does not)."""

    # ------------------------------------------------------------------------------------------------- a job
    @abstractmethod
    def job_processes(self, pid: Optional[int], tag: Optional[str]) -> set[int]:
        """The live processes of a job: ``pid`` (its main process, already known to be the job's) and its
        group/session and descendants, and every process carrying ``tag``."""

    @abstractmethod
    def send(self, pids: Iterable[int], sig: int) -> int:
        """Send ``sig`` to each of ``pids``; the number reached."""

    def kill_job(self, pid: int, start: Optional[str], tag: Optional[str], sig: int) -> bool:
        """Send ``sig`` to every process of the job whose main process is ``pid`` started at ``start``; the main
        process and its group only when that identity holds, what carries ``tag`` always. Whether any was
        reached."""
        own = pid if start is not None and self.is_alive(pid, start) else None
        processes = self.job_processes(own, tag)
        # the main process first: a shell whose children die before it does would end by itself, with exit 0
        order = ([own] if own in processes else []) + [p for p in processes if p != own]
        return self.send(order, sig) > 0

    def kill_job_later(self, pid: int, start: Optional[str], tag: Optional[str], grace: float) -> None:
        """SIGKILL what is left of the job after ``grace`` seconds (SIGTERM was sent already)."""
        if self.kills_at_once:
            return
        timer = threading.Timer(grace, lambda: self.kill_job(pid, start, tag, SIGKILL))
        timer.daemon = True
        timer.start()

    @abstractmethod
    def exit_watcher(self) -> ExitWatching:
        """A new watcher of exits."""


class ThreadExitWatcher(ExitWatching):
    """One small thread per process: it waits for a child of ours, or looks for a foreign process (pid and start
    time) every :attr:`interval` seconds. Used where no kernel handle tells an exit (macOS, Windows)."""

    interval = 0.2

    def __init__(self, ops: ProcessOps) -> None:
        self.ops = ops
        self._closed = threading.Event()

    def watch(self, process: Optional["subprocess.Popen[bytes]"], pid: int, start: Optional[str],
              callback: ExitCallback, exit_code: Callable[[], Optional[int]] = lambda: None) -> None:
        def wait() -> None:
            if process is not None:
                callback(process.wait())
                return
            while self.ops.is_alive(pid, start):
                if self._closed.wait(self.interval):
                    return
            code = exit_code()
            callback(code if code is not None else -1)
        threading.Thread(target=wait, name=f"cc-local-wait-{pid}", daemon=True).start()

    def close(self) -> None:
        self._closed.set()

