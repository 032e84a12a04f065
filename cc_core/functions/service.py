"""Calls over REST: each call is a run of its own with one function job; its call id ``RUN.JOB`` names both.
What a call's state says to a client: state, progress, and when it ended the return value as JSON (or where to
download it when it is not JSON), or the remote error.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Callable

from cc_core.errors import CCError, JobNotFoundError, RunNotFoundError
from cc_core.functions.catalog import Offered
from cc_core.functions.payload import RESULT_NAME, read_outcome, write_payload
from cc_core.states import JobState
from cc_core.store.base import StatusStore


def call_id(run: int, job: str) -> str:
    return f"{run}.{job}"


def parse_call_id(text: str) -> tuple[int, str]:
    run, _, job = text.partition(".")
    if not run.isdigit() or not job:
        raise RunNotFoundError(f"'{text}' is not a call id (RUN.JOB, as POST /api/functions/{{name}}/calls gave)")
    return int(run), job


def start_call(offered: Offered, arguments: dict[str, Any], start: Callable[[Any], int]) -> tuple[int, str]:
    """Validate ``arguments`` (pydantic's ``ValidationError`` names the field) and start the call as a new run
    through ``start(spec)``; returns the run id and the job's name."""
    from cc_core.home import cc_home
    from cc_core.workflow.model import JobSpec, WorkflowSpec

    values = offered.parameters.model_validate(arguments)
    kwargs = {name: getattr(values, name) for name in type(values).model_fields}
    job = offered.name
    call_file = cc_home() / "calls" / "service" / f"{job}-{uuid.uuid4().hex[:12]}.pkl"
    write_payload(call_file, function=offered.remote.function, kwargs=kwargs, name=offered.ref)
    spec = JobSpec(name=job, function=offered.ref, call_file=str(call_file), **offered.remote.job_fields())
    workflow = WorkflowSpec(name=f"call-{job}", jobs={job: spec}, workflow_dir=str(call_file.parent))
    return start(workflow), job


def call_status(store: StatusStore, text: str) -> dict[str, Any]:
    """What ``GET /api/calls/{id}`` answers."""
    run, job = parse_call_id(text)
    record = store.get_run(run)
    found = {j.name: j for j in store.get_jobs(run)}.get(job)
    if found is None or not (record.definition.get("jobs", {}).get(job) or {}).get("function"):
        raise JobNotFoundError(f"run {run} has no call '{job}'")
    out: dict[str, Any] = {"id": text, "run": run, "job": job,
                           "function": record.definition["jobs"][job]["function"], "state": found.state.value,
                           "progress": found.progress, "message": found.message, "reason": found.reason}
    outcome = read_outcome(Path(record.run_dir) / job / RESULT_NAME)
    if found.state is JobState.DONE and outcome is not None and outcome.ok:
        value = outcome.value()
        try:
            out["result"] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            out["result_download"] = f"/api/calls/{text}/result"
            out["result_type"] = f"{type(value).__module__}.{type(value).__qualname__}"
    elif found.state.is_final and outcome is not None and not outcome.ok:
        header = outcome.header
        out["error"] = {"type": f"{header.get('module')}.{header.get('type')}".removeprefix("builtins."),
                        "message": header.get("message"), "traceback": header.get("traceback")}
    elif found.state.is_final and found.state is not JobState.DONE:
        out["error"] = {"type": found.state.value, "message": found.reason or found.state.value, "traceback": ""}
    return out


def result_file(store: StatusStore, text: str) -> Path:
    """The pickled return value of a call that ended ``done`` (for a download)."""
    run, job = parse_call_id(text)
    record = store.get_run(run)
    path = Path(record.run_dir) / job / RESULT_NAME
    outcome = read_outcome(path)
    if outcome is None or not outcome.ok:
        raise CCError(f"call {text} has no return value (yet)", hint=f"GET /api/calls/{text} says its state")
    return path
