"""The scheduler contract: which ready jobs may start now.

The engine keeps the ready jobs (all parents done) in topological order and calls :meth:`Scheduler.select` after
every change — a job ended, a job was added to a running workflow, a slot freed. The scheduler answers with the
jobs to start now, respecting its limits. It never starts anything itself.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar, Iterable, Optional


@dataclass(frozen=True)
class ReadyJob:
    name: str
    kind: str
    host: str
    order: int  # position in the workflow's topological order


@dataclass
class Slots:
    """What is running now (queued or running), counted overall, per host and per job kind."""

    total: int = 0
    hosts: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)

    def take(self, job: ReadyJob) -> None:
        self.total += 1
        self.hosts[job.host] += 1
        self.kinds[job.kind] += 1

    def give_back(self, host: str, kind: str) -> None:
        self.total -= 1
        self.hosts[host] -= 1
        self.kinds[kind] -= 1


@dataclass
class SchedulerOptions:
    max_parallel: Optional[int] = None          # None: the number of CPUs
    host_limits: dict[str, int] = field(default_factory=dict)
    kind_limits: dict[str, int] = field(default_factory=dict)

    @property
    def parallel(self) -> int:
        return self.max_parallel or os.cpu_count() or 1


class Scheduler(ABC):
    """Base class of every scheduler; a plugin registers subclasses through ``cc_register_schedulers``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, options: SchedulerOptions) -> None:
        self.options = options

    @abstractmethod
    def select(self, ready: Iterable[ReadyJob], slots: Slots) -> list[ReadyJob]:
        """The jobs among ``ready`` (topological order) to start now, given what already occupies ``slots``.

        ``ready`` may be long: stop iterating as soon as nothing more can start. Do not change ``slots``.
        """

    def fits(self, job: ReadyJob, slots: Slots, taken: Slots) -> bool:
        """Whether ``job`` fits the host and kind limits with ``slots`` plus ``taken`` in use."""
        host_limit = self.options.host_limits.get(job.host)
        if host_limit is not None and slots.hosts[job.host] + taken.hosts[job.host] >= host_limit:
            return False
        kind_limit = self.options.kind_limits.get(job.kind)
        if kind_limit is not None and slots.kinds[job.kind] + taken.kinds[job.kind] >= kind_limit:
            return False
        return True
