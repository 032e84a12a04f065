"""The plugin module named by the ``cc`` entry point: registers the ``slurm`` job type."""

from __future__ import annotations

from typing import Callable

from cc_core.plugins.hookspecs import hookimpl


@hookimpl
def cc_register_job_types(register: Callable[..., None]) -> None:
    register("cc_slurm.jobtype:SlurmJobType", name="slurm")  # imported only when a workflow uses kind: slurm
