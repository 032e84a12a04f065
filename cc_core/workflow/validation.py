"""Checking a workflow before anything runs: every problem at once, each with file, line and job."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from cc_core.workflow.dag import dependency_problems
from cc_core.errors import Problem, WorkflowError
from cc_core.plugins.jobtype import JobType
from cc_core.settings import job_type_context
from cc_core.workflow.model import WorkflowSpec
from cc_core.workflow.file import locations_of

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry


def job_types_for(spec: WorkflowSpec, registry: "Registry", home: Path) -> tuple[dict[str, JobType], list[Problem]]:
    """One job-type object per kind the workflow uses, and a problem for each kind no plugin provides."""
    locations = locations_of(spec)
    job_types: dict[str, JobType] = {}
    problems: list[Problem] = []
    for job in spec.jobs.values():
        if job.kind in job_types:
            continue
        cls = registry.job_types.find(job.kind)
        if cls is None:
            installed = ", ".join(registry.job_types.names()) or "none"
            problems.append(locations.problem(f"unknown job kind '{job.kind}' (installed kinds: {installed})",
                                              job=job.name, field_name="kind"))
            continue
        job_types[job.kind] = cls(job_type_context(job.kind, home))
    return job_types, problems


def validate_workflow(spec: WorkflowSpec, registry: Optional["Registry"] = None,
                      home: Optional[Path] = None) -> dict[str, JobType]:
    """Raise :class:`WorkflowError` listing every problem of ``spec``; return the job types it needs."""
    from cc_core.home import cc_home
    from cc_core.plugins.registry import get_registry

    registry = registry or get_registry()
    locations = locations_of(spec)
    problems = dependency_problems(spec.jobs, locations)
    job_types, kind_problems = job_types_for(spec, registry, home or cc_home())
    problems.extend(kind_problems)
    directory = spec.directory
    for job in spec.jobs.values():
        job_type = job_types.get(job.kind)
        if job_type is None:
            continue
        for message in job_type.validate(job, directory):
            field_name = "script" if job.script else "notebook" if job.notebook else None
            problems.append(locations.problem(message, job=job.name, field_name=field_name))
    if not spec.jobs:
        problems.append(Problem("the workflow has no jobs", file=locations.file))
    if problems:
        raise WorkflowError(problems)
    return job_types
