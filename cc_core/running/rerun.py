"""Rerun: continue a run that ended ``failed`` or ``killed`` as a new run linked to it (docs/states.md, "Rerun").

Jobs that were done are carried over (done without running, ``origin`` naming where their result is, their folders
reachable from the new run); failed, killed and skipped jobs, jobs added since, jobs whose definition changed and
everything below them run again. The workflow file the run came from is read again unless ``stored``.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

from cc_core.errors import Problem, RunNotEndedError, WorkflowError
from cc_core.home import open_store
from cc_core.running.engine import Engine
from cc_core.running.events import EventBus
from cc_core.states import JobState
from cc_core.store.base import JobRecord, RunRecord, StatusStore, Transition
from cc_core.workflow.model import WorkflowSpec

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry


def definition_to_rerun(run: RunRecord, stored: bool) -> WorkflowSpec:
    """The workflow file the run came from, read again; with ``stored`` (or when the run did not come from a file),
    the definition as it was run."""
    from cc_core.running.runner import spec_from_data
    from cc_core.workflow.file import load_workflow

    source = run.options.get("source")
    if stored or not source:
        spec = spec_from_data(run.definition, run.workflow_dir)
        spec.source = source
        return spec
    if not Path(source).is_file():
        raise WorkflowError([Problem(f"run {run.id} came from this file, which is gone (to rerun the definition "
                                     f"as it was run: ccw rerun {run.id} --stored)", file=Path(source))])
    from cc_core.workflow.overrides import settings_from_record

    return load_workflow(source, settings_from_record(run.options.get("settings") or ()))


def below(spec: WorkflowSpec, names: Iterable[str]) -> set[str]:
    """``names`` and every job that depends on one of them, directly or not."""
    children: dict[str, list[str]] = {}
    for job in spec.jobs.values():
        for parent in job.depends:
            children.setdefault(parent, []).append(job.name)
    found = set(names)
    pending = deque(found)
    while pending:
        for child in children.get(pending.popleft(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def jobs_to_carry(old: RunRecord, old_jobs: dict[str, JobRecord], spec: WorkflowSpec, again: set[str]) -> list[str]:
    """The jobs of ``spec`` carried over from ``old``: done there, defined the same way, not asked to run again,
    and all their parents carried too (in the order of ``spec``'s dependencies)."""
    from cc_core.workflow.dag import topological_order

    old_definitions = (old.definition or {}).get("jobs") or {}
    new_definitions = spec.to_data()["jobs"]
    carried: list[str] = []
    carried_set: set[str] = set()
    for name in topological_order({n: j.depends for n, j in spec.jobs.items()}):
        record = old_jobs.get(name)
        if (record is None or record.state is not JobState.DONE or name in again
                or old_definitions.get(name) != new_definitions.get(name)
                or not all(p in carried_set for p in spec.jobs[name].depends)):
            continue
        carried.append(name)
        carried_set.add(name)
    return carried


def _carry(old: RunRecord, before: JobRecord, record: JobRecord, now: float) -> Transition:
    """Make ``record`` (of the new run) the done job ``before`` (of ``old``) carried over."""
    source = before.origin or {"run": old.id, "job": before.name, "attempt": before.attempt}
    record.origin = {"how": "carried", "run": source["run"], "job": source["job"], "attempt": source["attempt"]}
    record.state = JobState.DONE
    record.exit_code = 0
    record.progress = 100.0
    record.message = before.message
    record.log_path = before.log_path
    record.started, record.ended = before.started, before.ended
    record.cache_key, record.cache_parts, record.cache_copy = before.cache_key, before.cache_parts, before.cache_copy
    reason = f"carried from run {source['run']} (job {source['job']}, attempt {source['attempt']})"
    record.reason = reason
    return Transition(0, record.name, 0, JobState.DONE, now, 0, reason)


def prepare_rerun(ref: str | int, *, stored: bool = False, jobs: Sequence[str] = (),
                  spec: Optional[WorkflowSpec] = None, store: Optional[StatusStore] = None,
                  registry: Optional["Registry"] = None, bus: Optional[EventBus] = None,
                  max_parallel: Optional[int] = None, force: Sequence[str] = ()) -> Engine:
    """Record a new run continuing ``ref`` and return its engine. ``spec``: the definition to run (the workflow
    file read again when not given); ``jobs``: run these and everything below them again even if done."""
    from cc_core.running.control import effective_state
    from cc_core.running.runner import prepare_run

    store = store or open_store(registry)
    old = store.find_run(ref)
    state = effective_state(old)
    if not state.is_final:
        raise RunNotEndedError(f"run {old.id} is {state.value}; only a run that has ended can be rerun",
                      hint=f"follow it again with: ccw run --resume {old.id}" if state.value != "running"
                      else f"wait for it to end, or kill it: ccw kill {old.id}")
    spec = spec if spec is not None else definition_to_rerun(old, stored)
    unknown = [name for name in jobs if name not in spec.jobs]
    if unknown:
        raise WorkflowError([Problem(f"--jobs names a job that workflow '{spec.name}' does not have", job=name)
                             for name in unknown])
    old_jobs = {record.name: record for record in store.get_jobs(old.id)}
    again = below(spec, jobs)
    carried = jobs_to_carry(old, old_jobs, spec, again)

    def start(run: RunRecord, records: list[JobRecord]) -> list[Transition]:
        run.rerun_of = old.id
        if spec.source is None and old.options.get("source"):
            run.options["source"] = old.options["source"]
            if old.options.get("settings"):   # a later rerun reads the file with the same --set changes
                run.options["settings"] = old.options["settings"]
        now = time.time()
        by_name = {record.name: record for record in records}
        return [_carry(old, old_jobs[name], by_name[name], now) for name in carried]

    engine = prepare_run(spec, scheduler=old.scheduler, max_parallel=max_parallel or old.options.get("max_parallel"),
                         store=store, registry=registry, bus=bus, force=[*force, *sorted(again - set(force))],
                         start=start)   # --jobs means run: the cache is not asked either
    for name in carried:
        _link(Path(old.run_dir) / name, engine.run_dir / name)
    return engine


def _link(folder: Path, place: Path) -> None:
    """Make a carried job's folder reachable from the new run (``$CC_RUN_DIR/JOB``) where it is."""
    try:
        place.symlink_to(folder.resolve(), target_is_directory=True)
    except OSError:
        pass  # the folder is gone or the file system has no links: the job stays carried, its files are not here


def rerun_summary(engine: Engine) -> dict[str, Any]:
    """What a rerun carried over and what it runs again (for the CLI and the REST answer)."""
    records = list(engine.records())
    carried = [r.name for r in records if r.origin and r.origin.get("how") == "carried"]
    return {"run": engine.run.id, "rerun_of": engine.run.rerun_of, "carried": carried,
            "again": [r.name for r in records if r.name not in carried]}
