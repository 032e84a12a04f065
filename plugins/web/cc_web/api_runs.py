"""``/api/runs``: start, follow, steer and read runs. ``{run}`` is a run id, or a workflow name for its latest
run."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from cc_core.errors import JobNotFoundError
from cc_core.workflow.model import JobSpec
from cc_core.store.base import JobRecord, RunRecord, StatusStore
from cc_web import graph, stored_workflows
from cc_web.error_responses import ERROR_RESPONSES
from cc_web.event_stream import EventHub
from cc_web.logs import MAX_READ, read_log
from cc_web.models import (
    JobBody,
    Accepted,
    GraphLayoutOut,
    JobStatus,
    LogChunkOut,
    RunJobDetail,
    RunStart,
    RunStatus,
    RunSummary,
    TransitionOut,
    job_json,
    run_json,
)
from cc_web.run_control import RunControl, RunEndedError

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=ERROR_RESPONSES)


def store_of(request: Request) -> StatusStore:
    return request.app.state.store  # type: ignore[no-any-return]


def control_of(request: Request) -> RunControl:
    return request.app.state.control  # type: ignore[no-any-return]


def _job(store: StatusStore, run: RunRecord, name: str) -> JobRecord:
    for job in store.get_jobs(run.id):
        if job.name == name:
            return job
    raise JobNotFoundError(f"run {run.id} ({run.workflow}) has no job '{name}'",
                           hint=f"'GET /api/runs/{run.id}' lists its jobs")


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status_code=status, media_type="application/json")


@router.get("", response_model=list[RunSummary], summary="List runs, newest first")
def list_runs(request: Request, workflow: str | None = Query(None, max_length=200),
              limit: int = Query(100, ge=1, le=1000)) -> Response:
    return _json([run_json(r) for r in store_of(request).list_runs(workflow=workflow, limit=limit)])


@router.post("", status_code=201, response_model=RunSummary, summary="Start a run of a stored workflow",
             description="The run goes on in the service's process; follow it with ``GET /api/runs/{run}/events``. "
                         "422 when the workflow is not valid (e.g. a script is missing) or the scheduler unknown.")
def start_run(body: RunStart, request: Request) -> RunSummary:
    from cc_core.plugins.registry import get_registry

    store = store_of(request)
    get_registry().schedulers.get(body.scheduler)
    spec = stored_workflows.load_stored(store.get_workflow(body.workflow))
    run_id = control_of(request).start(spec, body.scheduler, body.max_parallel)
    return RunSummary.of(store.get_run(run_id), recorded=True)


@router.get("/{run}", response_model=RunStatus, summary="A run's state with every job")
async def run_status(run: str, request: Request) -> Response:
    # On the event loop, not in a worker thread: with many clients polling, the thread hand-offs cost more
    # than the reads (WAL reads never wait for the engine's writes, and only changed jobs are read).
    record = store_of(request).find_run(run)
    body = request.app.state.status.status_json(record)
    return Response(body, media_type="application/json")


@router.get("/{run}/jobs", response_model=list[JobStatus], summary="A run's jobs (only those changed after a seq)",
            description="``since_seq``: only jobs written after this store ``seq`` (from an earlier answer), for "
                        "cheap polling.")
def run_jobs(run: str, request: Request, since_seq: int = Query(0, ge=0, le=2**62)) -> Response:
    store = store_of(request)
    record = store.find_run(run)
    return _json([job_json(j) for j in store.get_jobs(record.id, since_seq=since_seq)])


@router.get("/{run}/jobs/{job}", response_model=RunJobDetail, summary="A job of a run: status, definition, history")
def run_job(run: str, job: str, request: Request) -> RunJobDetail:
    store = store_of(request)
    record = store.find_run(run)
    found = _job(store, record, job)
    definition = ((record.definition or {}).get("jobs") or {}).get(job) or {}
    transitions = [TransitionOut.of(t) for t in store.get_transitions(record.id, job)]
    return RunJobDetail(status=JobStatus.of(found), definition=definition, transitions=transitions)


@router.get("/{run}/jobs/{job}/log", response_model=LogChunkOut, summary="Read a job's log from an offset",
            description="Read on from ``next_offset`` for the rest; ``final`` says the job has ended and nothing "
                        "more will come.")
def job_log(run: str, job: str, request: Request, offset: int = Query(0, ge=0, le=2**62),
            length: int = Query(65536, ge=1, le=MAX_READ)) -> LogChunkOut:
    store = store_of(request)
    record = store.find_run(run)
    return read_log(_job(store, record, job), offset, length)


@router.post("/{run}/kill", status_code=202, response_model=Accepted, summary="Kill a run (every job still going)")
def kill_run(run: str, request: Request) -> Accepted:
    record = store_of(request).find_run(run)
    if record.state.is_final:
        return Accepted(run_id=record.id, action="kill", message=f"run {record.id} has already ended "
                        f"({record.state.value})")
    control_of(request).kill(record.id)
    return Accepted(run_id=record.id, action="kill", message=f"run {record.id} is being killed")


@router.post("/{run}/jobs/{job}/kill", status_code=202, response_model=Accepted, summary="Kill one job of a run")
def kill_job(run: str, job: str, request: Request) -> Accepted:
    store = store_of(request)
    record = store.find_run(run)
    found = _job(store, record, job)
    if found.state.is_final:
        return Accepted(run_id=record.id, action="kill", job=job, message=f"job '{job}' of run {record.id} has "
                        f"already ended ({found.state.value})")
    control_of(request).kill(record.id, job)
    return Accepted(run_id=record.id, action="kill", job=job, message=f"job '{job}' of run {record.id} is being "
                    "killed")


@router.post("/{run}/resume", status_code=202, response_model=Accepted,
             summary="Resume a run whose driver stopped (interrupted, detached, failed or killed)")
def resume_run(run: str, request: Request) -> Accepted:
    record = store_of(request).find_run(run)
    run_id = control_of(request).resume(record.id)
    return Accepted(run_id=run_id, action="resume", message=f"run {run_id} goes on in the service")


@router.post("/{run}/jobs", status_code=202, response_model=Accepted, summary="Add a job to a run that is going")
def add_run_job(run: str, job: JobBody, request: Request) -> Accepted:
    record = store_of(request).find_run(run)
    if record.state.is_final:
        raise RunEndedError(f"run {record.id} has ended ({record.state.value}); a job can only be added to a run "
                            "that is going", hint="add it to the stored workflow and start a new run")
    control_of(request).add_job(record.id, job)
    return Accepted(run_id=record.id, action="add_job", job=job.name, message=f"job '{job.name}' is being added "
                    f"to run {record.id}")


@router.get("/{run}/layout", response_model=GraphLayoutOut, summary="Positions for drawing the run's graph")
def run_layout(run: str, request: Request) -> Any:
    record = store_of(request).find_run(run)
    nodes, edges = graph.definition_graph(record.definition or {})
    return Response(graph.layout_json(nodes, edges), media_type="application/json")


@router.get("/{run}/labels", response_model=dict[str, str],
            summary="The labels of the run's labelled jobs, placeholders filled (cloudmesh-cc's label templates)")
def run_labels(run: str, request: Request) -> dict[str, str]:
    """``{job: label}`` for every job with a ``label:``; ``{name}``, ``{progress}``, ``{status}``, ``{now.%H--%M}``
    and the other placeholders are filled from the job's record as it is now."""
    from cc_core.drawing.svg import job_labels
    from cc_core.running.runner import spec_from_data

    store = store_of(request)
    record = store.find_run(run)
    if not any((fields or {}).get("label") for fields in ((record.definition or {}).get("jobs") or {}).values()):
        return {}
    spec = spec_from_data(record.definition, record.workflow_dir)
    return job_labels(spec, store.get_jobs(record.id))


@router.get("/{run}/svg", response_class=Response, summary="The run's graph as SVG, coloured by job state",
            responses={200: {"content": {"image/svg+xml": {}}}})
def run_svg(run: str, request: Request) -> Response:
    from cc_core.running.runner import spec_from_data

    store = store_of(request)
    record = store.find_run(run)
    spec = spec_from_data(record.definition, record.workflow_dir)
    return Response(graph.workflow_svg(spec, store.get_jobs(record.id)), media_type="image/svg+xml")


@router.get("/{run}/events", response_class=StreamingResponse, summary="Live events of a run (server-sent events)",
            description="``snapshot`` first, then ``jobs``, ``run``, ``definition`` as they happen, and ``end`` when "
                        "the run is final (the stream closes). See docs/rest-api.md.",
            responses={200: {"content": {"text/event-stream": {}}}})
async def run_events(run: str, request: Request) -> StreamingResponse:
    import asyncio

    hub: EventHub = request.app.state.events
    record = await asyncio.to_thread(store_of(request).find_run, run)
    return StreamingResponse(hub.stream(record), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
