"""Preparing an engine: a new run of a workflow, or the resumption of a run recorded in the store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from cc_core.running.engine import Engine
from cc_core.running.events import EventBus
from cc_core.home import cc_home, open_store, runs_dir
from cc_core.workflow.model import JobSpec, Limits, WorkflowSpec
from cc_core.plugins.progress import LineScanner
from cc_core.plugins.scheduler import SchedulerOptions
from cc_core.states import RunState
from cc_core.store.base import JobRecord, RunRecord, StatusStore, Transition
from cc_core.workflow.validation import validate_workflow

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry

DEFAULT_SCHEDULER = "parallel"


def spec_from_data(data: dict[str, Any], directory: str) -> WorkflowSpec:
    """Rebuild a workflow from its stored plain-data form (:meth:`WorkflowSpec.to_data`). A run recorded before a
    rule was added (a name now refused, say) is rebuilt as it was recorded: it was valid when it started."""
    from pydantic import ValidationError

    jobs: dict[str, JobSpec] = {}
    for name, fields in (data.get("jobs") or {}).items():
        try:
            jobs[name] = JobSpec(name=name, **fields)
        except ValidationError:
            jobs[name] = JobSpec.model_construct(name=name, **fields)
    try:
        limits = Limits(**(data.get("limits") or {}))
    except ValidationError:
        limits = Limits()
    try:
        spec = WorkflowSpec(name=data["name"], description=data.get("description", ""), limits=limits,
                            colors=data.get("colors") or {}, cache=data.get("cache"), workflow_dir=directory)
    except ValidationError:
        spec = WorkflowSpec.model_construct(name=data["name"], description=data.get("description", ""),
                                            limits=limits, colors=data.get("colors") or {},
                                            cache=data.get("cache"), workflow_dir=directory)
    spec.jobs = jobs
    return spec


def _scheduler(registry: "Registry", name: str, spec: WorkflowSpec, max_parallel: Optional[int]) -> Any:
    if max_parallel is not None and (isinstance(max_parallel, bool) or not isinstance(max_parallel, int)
                                     or max_parallel < 1):
        from cc_core.errors import CCError

        raise CCError(f"max_parallel is {max_parallel!r}: at least 1 job must be able to run at once")
    options = SchedulerOptions(max_parallel=max_parallel or spec.limits.max_parallel,
                               host_limits=dict(spec.limits.hosts), kind_limits=dict(spec.limits.kinds))
    return registry.schedulers.get(name)(options)


def _new_run_dir(home: Path, run_id: int) -> Path:
    base = runs_dir(home)
    path = base / str(run_id)
    suffix = 1
    while path.exists():  # left over from an older store in the same CC_HOME
        suffix += 1
        path = base / f"{run_id}-{suffix}"
    path.mkdir(parents=True)
    return path


def prepare_run(spec: WorkflowSpec, *, scheduler: str = DEFAULT_SCHEDULER, max_parallel: Optional[int] = None,
                store: Optional[StatusStore] = None, registry: Optional["Registry"] = None,
                bus: Optional[EventBus] = None, force: Sequence[str] = (),
                start: Optional[Callable[[RunRecord, list[JobRecord]], list[Transition]]] = None) -> Engine:
    """Validate ``spec`` (raising :class:`cc_core.errors.WorkflowError`), record a new run and return its engine.

    ``force``: jobs whose cache is not looked up. ``start``: sets up the new run and its job records before they are
    recorded (a rerun carries jobs over) and returns their first transitions."""
    from cc_core.cache.gate import cache_gate
    from cc_core.plugins.registry import get_registry

    registry = registry or get_registry()
    home = cc_home()
    job_types = validate_workflow(spec, registry, home)
    unknown = [name for name in force if name not in spec.jobs]
    if unknown:
        from cc_core.errors import Problem, WorkflowError

        raise WorkflowError([Problem("--force names a job the workflow does not have", job=n) for n in unknown])
    chosen = _scheduler(registry, scheduler, spec, max_parallel)
    store = store or open_store(registry, home)
    options: dict[str, Any] = {"max_parallel": max_parallel}
    if spec.source:
        options["source"] = str(Path(spec.source).resolve())
        _keep_settings(spec, options)
    if force:
        options["force"] = list(force)
    run = RunRecord(id=0, workflow=spec.name, state=RunState.RUNNING, scheduler=scheduler,
                    definition=spec.to_data(), workflow_dir=str(spec.directory), run_dir="", created=time.time(),
                    options=options)
    from cc_core.workflow.dag import topological_order

    order = {n: i for i, n in enumerate(topological_order({n: j.depends for n, j in spec.jobs.items()}))}
    records = [JobRecord(run_id=0, name=n, kind=j.kind, host=j.host, order=order[n]) for n, j in spec.jobs.items()]
    transitions = start(run, records) if start is not None else []
    # A store written before reruns existed takes no transitions: only a rerun needs it to.
    run = store.create_run(run, records, transitions) if transitions else store.create_run(run, records)
    run.run_dir = str(_new_run_dir(home, run.id))
    store.write(run, [], [])
    return Engine(store=store, run=run, spec=spec, job_types=job_types, scheduler=chosen,
                  scanner=LineScanner(registry.progress_parser_instances()), bus=bus, records=records,
                  gate=cache_gate(spec, store, run, home))


def prepare_resume(ref: str | int, *, store: Optional[StatusStore] = None, registry: Optional["Registry"] = None,
                   bus: Optional[EventBus] = None, max_parallel: Optional[int] = None) -> Engine:
    """An engine that continues a recorded run: done jobs stay done, running ones are found again."""
    from cc_core.cache.gate import cache_gate
    from cc_core.plugins.registry import get_registry

    registry = registry or get_registry()
    home = cc_home()
    store = store or open_store(registry, home)
    run = store.find_run(ref)
    spec = spec_from_data(run.definition, run.workflow_dir)
    job_types = validate_workflow_kinds(spec, registry, home)
    records = store.get_jobs(run.id)
    chosen = _scheduler(registry, run.scheduler, spec, max_parallel or run.options.get("max_parallel"))
    return Engine(store=store, run=run, spec=spec, job_types=job_types, scheduler=chosen,
                  scanner=LineScanner(registry.progress_parser_instances()), bus=bus, records=records,
                  gate=cache_gate(spec, store, run, home))


def validate_workflow_kinds(spec: WorkflowSpec, registry: "Registry", home: Path) -> dict[str, Any]:
    """The job types of a recorded run (its files were checked when it started)."""
    from cc_core.errors import WorkflowError
    from cc_core.workflow.validation import job_types_for

    job_types, problems = job_types_for(spec, registry, home)
    if problems:
        raise WorkflowError(problems)
    return job_types


def _keep_settings(spec: WorkflowSpec, options: dict[str, Any]) -> None:
    """The --set/--override changes the file was read with, so that a rerun reads it again with them."""
    from cc_core.workflow.file import locations_of
    from cc_core.workflow.overrides import settings_record

    settings = locations_of(spec).settings
    if settings:
        options["settings"] = settings_record(settings)
