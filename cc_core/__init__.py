"""cc: run workflows — DAGs of shell, Python, notebook and command jobs — on this machine, SSH hosts, SLURM
clusters and WSL, from Python, the ``ccw`` command line, a REST service and a browser GUI.

The names below load on first use, so ``import cc_core`` stays cheap for plugins (which need only ``hookimpl``).
"""

from __future__ import annotations

from typing import Any

from cc_core.hookspecs import hookimpl

__all__ = ["hookimpl", "Workflow", "RunController", "start_run", "load_workflow", "JobSpec", "WorkflowSpec",
           "JobState", "RunState", "CCError", "WorkflowError"]

_LAZY = {
    "Workflow": "cc_core.api", "RunController": "cc_core.api", "start_run": "cc_core.api",
    "load_workflow": "cc_core.workflow_file", "JobSpec": "cc_core.model", "WorkflowSpec": "cc_core.model",
    "JobState": "cc_core.states", "RunState": "cc_core.states", "CCError": "cc_core.errors",
    "WorkflowError": "cc_core.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cc_core' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)
