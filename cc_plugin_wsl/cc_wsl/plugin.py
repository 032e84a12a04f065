"""The plugin module named by the ``cc`` entry point: registers the ``wsl`` job type."""

from __future__ import annotations

from typing import Any, Callable

from cc_core.hookspecs import hookimpl


@hookimpl
def cc_register_job_types(register: Callable[[type[Any]], None]) -> None:
    from cc_wsl.jobtype import WSLJobType

    register(WSLJobType)
