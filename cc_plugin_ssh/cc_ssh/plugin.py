"""Registers the ``ssh`` job type with cc (entry point ``ssh`` in group ``cc``)."""

from __future__ import annotations

from typing import Callable

from cc_core.plugins.hookspecs import hookimpl


@hookimpl
def cc_register_job_types(register: Callable[..., None]) -> None:
    # By import path: paramiko and fabric are imported only when a workflow has ssh jobs.
    register("cc_ssh.jobtype:SSHJobType", name="ssh")
