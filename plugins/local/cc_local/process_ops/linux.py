"""Linux: start times exact to the clock tick, exits told by pidfds, jobs supervised by a child subreaper.

The start time is ``/proc/PID/stat``'s field 22 (ticks since boot), as :mod:`cc_local.processes` reads it, so that
a start can be stamped without reading ``/proc`` at all (:meth:`start_time_between`); a job's processes are found
as the run's supervisor finds them (:mod:`cc_local.job_processes`). Liveness and trees of processes of other
platforms' kind go through psutil (:class:`~cc_local.process_ops.macos.PsutilOps`).
"""

from __future__ import annotations

from typing import Any, Optional

from cc_local import job_processes as table
from cc_local import processes
from cc_local.process_ops.base import ExitWatching
from cc_local.process_ops.macos import PsutilOps


class LinuxOps(PsutilOps):
    platform = "linux"
    tracking = "process group, descendants and environment tag"   # without a supervisor
    supervised = True

    def spawn_options(self) -> dict[str, Any]:
        return {"start_new_session": True}

    def clock(self) -> Optional[int]:
        return processes.boot_tick()

    def start_time_between(self, pid: int, before: Optional[int], after: Optional[int]) -> Optional[str]:
        return processes.start_time_between(pid, before, after)

    def start_time(self, pid: int) -> Optional[str]:
        return processes.process_start_time(pid)

    def is_alive(self, pid: int, start: Optional[str]) -> bool:
        return processes.is_alive(pid, start)

    def job_processes(self, pid: Optional[int], tag: Optional[str]) -> set[int]:
        return table.live(table.job_processes(pid, tag))

    def exit_watcher(self) -> ExitWatching:
        return processes.ExitWatcher()
