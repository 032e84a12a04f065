"""Checking a workflow before anything runs: every problem at once, each with file, line and job.

The checks do not hide each other: a job with a wrong field is still checked for its dependencies, kind and
files, and a cycle is reported next to an unknown dependency.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from cc_core.errors import Problem, WorkflowError
from cc_core.plugins.jobtype import JobType
from cc_core.settings import SettingsError, config_path, make_job_type, settings_problems
from cc_core.workflow.dag import dependency_problems
from cc_core.workflow.file import Locations, locations_of
from cc_core.workflow.model import WorkflowSpec
from cc_core.workflow.names import case_clashes

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry


def job_types_for(spec: WorkflowSpec, registry: "Registry", home: Path) -> tuple[dict[str, JobType], list[Problem]]:
    """One job-type object per kind the workflow uses, and a problem for each kind no plugin provides."""
    locations = locations_of(spec)
    job_types: dict[str, JobType] = {}
    problems: list[Problem] = []
    unusable: set[str] = set()
    for job in spec.jobs.values():
        if job.kind in job_types or job.kind in unusable:
            continue
        cls = registry.job_types.find(job.kind)
        if cls is None:
            installed = ", ".join(registry.job_types.names()) or "none"
            problems.append(locations.problem(f"unknown job kind '{job.kind}' (installed kinds: {installed})"
                                              + left_out_note(registry), job=job.name, field_name="kind"))
            unusable.add(job.kind)
            continue
        try:
            job_types[job.kind] = make_job_type(registry, job.kind, home)
        except SettingsError as exc:
            problems.extend(exc.problems)
            unusable.add(job.kind)
    return job_types, problems


def left_out_note(registry: "Registry") -> str:
    left_out = getattr(registry, "left_out", None)
    if not left_out:
        return ""
    return f"; CC_LOAD_PLUGINS / CC_DISABLE_PLUGINS leave out the installed plugins {', '.join(left_out)}"


def workflow_problems(spec: WorkflowSpec, registry: Optional["Registry"] = None,
                      home: Optional[Path] = None) -> tuple[dict[str, JobType], list[Problem]]:
    """Every problem of ``spec`` beyond its fields and types: dependencies (unknown ones and cycles), names that
    clash on case-insensitive file systems, unknown kinds (in jobs and under ``limits.kinds``), and what each job
    type checks (files, resources). Returns the job types the workflow needs too."""
    from cc_core.home import cc_home
    from cc_core.plugins.registry import get_registry

    registry = registry or get_registry()
    locations = locations_of(spec)
    problems = dependency_problems(spec.jobs, locations, known=locations.jobs)
    problems.extend(_name_clashes(spec, locations))
    home = home or cc_home()
    problems.extend(settings_problems(registry, home))
    job_types, kind_problems = job_types_for(spec, registry, home)
    problems.extend(kind_problems)
    problems.extend(_limit_problems(spec, registry, locations))
    directory = spec.directory
    for job in spec.jobs.values():
        job_type = job_types.get(job.kind)
        if job_type is None:
            continue
        for message in job_type.validate(job, directory):
            field_name = "script" if job.script else "notebook" if job.notebook else None
            problems.append(locations.problem(message, job=job.name, field_name=field_name))
    if not spec.jobs and not locations.jobs:
        problems.append(Problem("the workflow has no jobs", file=locations.file))
    return job_types, problems


def validate_workflow(spec: WorkflowSpec, registry: Optional["Registry"] = None,
                      home: Optional[Path] = None) -> dict[str, JobType]:
    """Raise :class:`WorkflowError` listing every problem of ``spec``; return the job types it needs."""
    job_types, problems = workflow_problems(spec, registry, home)
    if problems:
        problems = sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)
        settings_file = config_path(home)
        if all(p.file == settings_file for p in problems):
            raise SettingsError(problems)
        raise WorkflowError(problems)
    return job_types


def _name_clashes(spec: WorkflowSpec, locations: Locations) -> list[Problem]:
    return [locations.problem(f"job '{name}' and job '{earlier}' differ only in upper/lower case; their folders "
                              "would be one on Windows and macOS: rename one", job=name)
            for name, earlier in case_clashes(spec.jobs)]


def _limit_problems(spec: WorkflowSpec, registry: "Registry", locations: Locations) -> list[Problem]:
    problems = []
    for kind in spec.limits.kinds:
        if registry.job_types.find(kind) is None:
            installed = ", ".join(registry.job_types.names()) or "none"
            line = locations.paths.get(("limits", "kinds", kind)) or locations.paths.get(("limits",))
            problems.append(locations.problem(f"limits: kinds: '{kind}' is not an installed job kind (installed "
                                              f"kinds: {installed})", line=line))
    return problems
