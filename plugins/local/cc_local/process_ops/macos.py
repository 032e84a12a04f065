"""macOS (and any POSIX system without ``/proc``): psutil for start times, trees and environments.

There is no child subreaper on macOS, so processes a job moves into a session of their own (``setsid``) and whose
parent ends are re-parented to launchd and leave the job's tree; they still carry the job's environment tag
(:data:`~cc_local.process_ops.base.TAG_VARIABLE`), which psutil reads, and are found by it. A process group is
signalled process by process, never with ``killpg`` on a stored pid: after pid reuse that group may be a stranger's.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Optional

from cc_local import job_processes
from cc_local.process_ops.base import TAG_VARIABLE, ExitWatching, ProcessOps, ThreadExitWatcher

if TYPE_CHECKING:
    import psutil


class PsutilOps(ProcessOps):
    """The parts every psutil-backed platform shares. psutil is imported by the methods that use it: Linux's
    operations (a subclass) use few of them, and a run should not pay for importing psutil before its first job."""

    def start_time(self, pid: int) -> Optional[str]:
        when = self.started_at(pid)
        return None if when is None else f"{when:.6f}"

    def started_at(self, pid: int) -> Optional[float]:
        import psutil

        try:
            return float(psutil.Process(pid).create_time())
        except (psutil.Error, OSError, ValueError):
            return None

    def is_alive(self, pid: int, start: Optional[str]) -> bool:
        import psutil

        try:
            process = psutil.Process(pid)
            if start is not None and f"{process.create_time():.6f}" != start:
                return False
            if start is None and not self._ours(process):
                return False   # without a start time, only a process of this user can be the job's
            return process.status() != psutil.STATUS_ZOMBIE
        except (psutil.Error, OSError):
            return False

    @staticmethod
    def _ours(process: "psutil.Process") -> bool:
        import psutil

        getuid = getattr(os, "getuid", None)
        if getuid is None:
            return True
        try:
            return process.uids().real == getuid()
        except (psutil.Error, OSError, AttributeError):
            return False

    def job_processes(self, pid: Optional[int], tag: Optional[str]) -> set[int]:
        import psutil

        me = os.getpid()
        found: set[int] = set()
        if pid is not None and psutil.pid_exists(pid):
            found.add(pid)
        for process in psutil.process_iter():
            if process.pid == me or process.pid in found:
                continue
            try:
                if pid is not None and self._in_group_of(process.pid, pid):
                    found.add(process.pid)
                elif tag is not None and process.environ().get(TAG_VARIABLE) == tag:
                    found.add(process.pid)
            except (psutil.Error, OSError):
                continue
        for root in list(found):
            try:
                found.update(child.pid for child in psutil.Process(root).children(recursive=True))
            except (psutil.Error, OSError):
                continue
        found.discard(me)
        return {p for p in found if self._running(p)}

    @staticmethod
    def _in_group_of(pid: int, leader: int) -> bool:
        getpgid, getsid = getattr(os, "getpgid", None), getattr(os, "getsid", None)
        if getpgid is None or getsid is None:
            return False
        try:
            return leader in (getpgid(pid), getsid(pid))
        except OSError:
            return False

    @staticmethod
    def _running(pid: int) -> bool:
        import psutil

        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except (psutil.Error, OSError):
            return False

    def send(self, pids: Iterable[int], sig: int) -> int:
        return job_processes.send(pids, sig)

    def exit_watcher(self) -> ExitWatching:
        return ThreadExitWatcher(self)


class MacOSOps(PsutilOps):
    platform = "darwin"
    tracking = "process group, descendants and environment tag"

    def spawn_options(self) -> dict[str, Any]:
        return {"start_new_session": True}
