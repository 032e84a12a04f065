from __future__ import annotations

from typing import Callable

from cc_core.plugins.hookspecs import hookimpl
from cc_core.plugins.scheduler import Scheduler
from cc_schedulers.parallel import ParallelScheduler
from cc_schedulers.sequential import SequentialScheduler


@hookimpl
def cc_register_schedulers(register: Callable[[type[Scheduler]], None]) -> None:
    register(ParallelScheduler)
    register(SequentialScheduler)
