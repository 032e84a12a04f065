from __future__ import annotations

from typing import Iterable

from cc_core.plugins.scheduler import ReadyJob, Scheduler, Slots


class SequentialScheduler(Scheduler):
    """One job at a time, in the workflow's topological order."""

    name = "sequential"
    description = "one job at a time in topological order"

    def select(self, ready: Iterable[ReadyJob], slots: Slots) -> list[ReadyJob]:
        if slots.total:
            return []
        for job in ready:
            return [job]
        return []
