from __future__ import annotations

from typing import Iterable

from cc_core.plugins.scheduler import ReadyJob, Scheduler, Slots


class ParallelScheduler(Scheduler):
    """Starts ready jobs in topological order while fewer than ``max_parallel`` run (default: the number of CPUs)
    and each host's and kind's limit allows."""

    name = "parallel"
    description = "as many ready jobs at once as max_parallel and the per-host / per-kind limits allow"

    def select(self, ready: Iterable[ReadyJob], slots: Slots) -> list[ReadyJob]:
        free = self.options.parallel - slots.total
        if free <= 0:
            return []
        limited = bool(self.options.host_limits or self.options.kind_limits)
        chosen: list[ReadyJob] = []
        taken = Slots()
        for job in ready:
            if limited and not self.fits(job, slots, taken):
                continue
            chosen.append(job)
            taken.take(job)
            if len(chosen) == free:
                break
        return chosen
