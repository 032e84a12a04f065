from __future__ import annotations

from typing import Callable

from cc_core.plugins.hookspecs import hookimpl
from cc_core.plugins.jobtype import JobType


@hookimpl
def cc_register_job_types(register: Callable[[type[JobType]], None]) -> None:
    from cc_local.jobtype import LocalJobType

    register(LocalJobType)
