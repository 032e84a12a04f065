"""cc: run workflows — DAGs of shell, Python, notebook and command jobs — on this machine, SSH hosts, SLURM
clusters and WSL, from Python, the ``ccw`` command line, a REST service and a browser GUI.

The names below are cc's public surface: users and plugin authors import them from ``cc_core`` itself; the
subpackages behind them (``workflow``, ``running``, ``store``, ``drawing``, ``plugins``) may change. They load on
first use, so ``import cc_core`` stays cheap for plugins (which need only ``hookimpl``).
"""

from __future__ import annotations

from typing import Any

from cc_core.plugins.hookspecs import hookimpl

_LAZY = {
    # workflows, runs and their states
    "Workflow": "cc_core.api", "RunController": "cc_core.api", "start_run": "cc_core.api", "rerun": "cc_core.api",
    "diff_runs": "cc_core.cache.diff", "register_key_part": "cc_core.cache.key",
    "load_workflow": "cc_core.workflow.file", "JobSpec": "cc_core.workflow.model",
    "WorkflowSpec": "cc_core.workflow.model", "JobState": "cc_core.states", "RunState": "cc_core.states",
    "awaitable": "cc_core.running.aio", "RunStatus": "cc_core.drawing.status_table",
    # errors
    "CCError": "cc_core.errors", "WorkflowError": "cc_core.errors", "JobTypeError": "cc_core.errors",
    "Problem": "cc_core.errors", "RunNotFoundError": "cc_core.errors", "WorkflowNotFoundError": "cc_core.errors",
    # what plugins implement
    "JobType": "cc_core.plugins.jobtype", "JobTypeContext": "cc_core.plugins.jobtype",
    "JobUpdate": "cc_core.plugins.jobtype", "Launch": "cc_core.plugins.jobtype", "Handle": "cc_core.plugins.jobtype",
    "ActiveJob": "cc_core.plugins.jobtype", "LogChunk": "cc_core.plugins.jobtype",
    "LogRequest": "cc_core.plugins.jobtype", "read_log_file": "cc_core.plugins.jobtype",
    "Scheduler": "cc_core.plugins.scheduler", "ReadyJob": "cc_core.plugins.scheduler",
    "Slots": "cc_core.plugins.scheduler", "StatusStore": "cc_core.store.base",
    "ProgressParser": "cc_core.plugins.progress", "Command": "cc_core.plugins.commands",
    # environments on the host where a job runs
    "EnvironmentHost": "cc_core.environments.host", "ShellEnvironmentHost": "cc_core.environments.host",
    "environment_hash": "cc_core.environments.spec",
    "extra_requirements_for_functions": "cc_core.environments.functions",
    # analytics functions
    "function": "cc_core.functions.decorator", "RemoteFunction": "cc_core.functions.decorator",
    "CallFuture": "cc_core.functions.future", "as_completed": "cc_core.functions.compete",
    "race": "cc_core.functions.compete", "best": "cc_core.functions.compete",
    "report_progress": "cc_core.functions.progress", "result": "cc_core.functions.results",
    "FunctionError": "cc_core.functions.errors", "RemoteError": "cc_core.functions.errors",
    "VersionMismatchError": "cc_core.functions.errors", "CallKilledError": "cc_core.functions.errors",
    "CallTimeoutError": "cc_core.functions.errors", "CallLostError": "cc_core.functions.errors",
}

__all__ = ["hookimpl", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cc_core' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)
