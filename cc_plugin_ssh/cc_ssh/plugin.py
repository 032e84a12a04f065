"""Registers the ``ssh`` job type with cc (entry point ``ssh`` in group ``cc``)."""

from __future__ import annotations

from typing import Callable

from cc_core.hookspecs import hookimpl
from cc_core.jobtype import JobType


@hookimpl
def cc_register_job_types(register: Callable[[type[JobType]], None]) -> None:
    from cc_ssh.jobtype import SSHJobType

    register(SSHJobType)
