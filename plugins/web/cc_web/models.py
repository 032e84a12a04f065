"""The REST API's request and response bodies (pydantic models; they make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from cc_core.errors import Problem
from cc_core.workflow.model import JobSpec, WorkflowSpec
from cc_core.plugins.registry import PluginInfo
from cc_core.store.base import JobRecord, RunRecord, StoredWorkflow, Transition

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
MAX_YAML = 1 << 20


class ProblemOut(BaseModel):
    """One thing wrong with a request, located as precisely as cc can (a workflow's job, field and line)."""

    message: str
    job: Optional[str] = None
    field: Optional[str] = None
    line: Optional[int] = None

    @classmethod
    def of(cls, problem: Problem) -> "ProblemOut":
        return cls(message=problem.message, job=problem.job, field=problem.field, line=problem.line)


class ErrorBody(BaseModel):
    """Every error response: what went wrong, the way out, and for workflows every problem found."""

    error: str = Field(description="the kind of error, e.g. WorkflowError, RunNotFoundError")
    message: str
    hint: Optional[str] = None
    problems: list[ProblemOut] = Field(default_factory=list)


class WorkflowUpload(BaseModel):
    """A workflow as YAML text. ``name`` overrides the YAML's own ``name:``."""

    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(min_length=1, max_length=MAX_YAML,
                      description="the workflow file's text (cc's or cloudmesh-cc's format)")
    name: Optional[str] = Field(default=None, max_length=200, pattern=NAME_PATTERN)


class Dependency(BaseModel):
    """``child`` runs after ``parent`` has finished successfully."""

    model_config = ConfigDict(extra="forbid")

    parent: str = Field(max_length=200, pattern=NAME_PATTERN)
    child: str = Field(max_length=200, pattern=NAME_PATTERN)


class WorkflowSummary(BaseModel):
    name: str
    description: str = ""
    jobs: int
    created: float
    updated: float

    @classmethod
    def of(cls, stored: StoredWorkflow, description: str, jobs: int) -> "WorkflowSummary":
        return cls(name=stored.name, description=description, jobs=jobs, created=stored.created,
                   updated=stored.updated)


class WorkflowDetail(WorkflowSummary):
    yaml: str
    directory: str = Field(description="where the workflow's scripts are looked for on the server")
    job_specs: list[JobSpec]
    dependencies: list[Dependency]

    @classmethod
    def build(cls, stored: StoredWorkflow, spec: WorkflowSpec) -> "WorkflowDetail":
        return cls(name=stored.name, description=spec.description, jobs=len(spec.jobs), created=stored.created,
                   updated=stored.updated, yaml=stored.text, directory=stored.directory,
                   job_specs=list(spec.jobs.values()),
                   dependencies=[Dependency(parent=p, child=c) for p, c in spec.edges()])


class RunStart(BaseModel):
    """Start a run of a stored workflow."""

    model_config = ConfigDict(extra="forbid")

    workflow: str = Field(max_length=200, pattern=NAME_PATTERN, description="a stored workflow's name")
    scheduler: str = Field(default="parallel", max_length=100, pattern=NAME_PATTERN,
                           description="'parallel', 'sequential' or a plugin's")
    max_parallel: Optional[int] = Field(default=None, ge=1, le=100_000, description="jobs at once (default: CPUs)")


class JobBody(JobSpec):
    """A job as sent to the API: the fields of a job in a workflow file, plus its ``name``. The name's rule is
    stated in the OpenAPI document too (validation is :class:`JobSpec`'s own)."""

    name: Annotated[str, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200,
                                         "pattern": NAME_PATTERN})]


class JobStatus(BaseModel):
    """A job of a run as the store has it now."""

    name: str
    kind: str
    host: str
    order: int
    state: str
    attempt: int
    progress: Optional[float] = None
    message: Optional[str] = None
    detail: Optional[str] = None
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    submitted: Optional[float] = None
    started: Optional[float] = None
    ended: Optional[float] = None
    has_log: bool = False
    seq: int = 0
    origin: Optional[dict[str, Any]] = Field(default=None, description="for a done job that did not run in this "
                                             "run: {how: carried|cached, run, job, attempt}")

    @classmethod
    def of(cls, job: JobRecord) -> "JobStatus":
        return cls.model_construct(
            name=job.name, kind=job.kind, host=job.host, order=job.order, state=job.state.value,
            attempt=job.attempt, progress=job.progress, message=job.message, detail=job.detail,
            exit_code=job.exit_code, reason=job.reason, submitted=job.submitted, started=job.started,
            ended=job.ended, has_log=bool(job.log_path), seq=job.seq, origin=job.origin)


def job_json(job: JobRecord) -> dict[str, Any]:
    """:class:`JobStatus` as plain data, built without validation (the event stream sends many)."""
    return {"name": job.name, "kind": job.kind, "host": job.host, "order": job.order, "state": job.state.value,
            "attempt": job.attempt, "progress": job.progress, "message": job.message, "detail": job.detail,
            "exit_code": job.exit_code, "reason": job.reason, "submitted": job.submitted, "started": job.started,
            "ended": job.ended, "has_log": bool(job.log_path), "seq": job.seq, "origin": job.origin}


class RunSummary(BaseModel):
    """A run; ``state`` is ``interrupted`` when the run says running but no process drives it any more."""

    id: int
    workflow: str
    state: str
    scheduler: str
    created: float
    started: Optional[float] = None
    ended: Optional[float] = None
    reason: Optional[str] = None
    runner_pid: Optional[int] = None
    runner_host: Optional[str] = None
    seq: int = 0
    rerun_of: Optional[int] = None

    @classmethod
    def of(cls, run: RunRecord, recorded: bool = False) -> "RunSummary":
        """``recorded``: the state as written (a run just started is not locked by its thread yet)."""
        from cc_core.running.control import effective_state

        state = run.state if recorded else effective_state(run)
        return cls(id=run.id, workflow=run.workflow, state=state.value, scheduler=run.scheduler,
                   created=run.created, started=run.started, ended=run.ended, reason=run.reason,
                   runner_pid=run.runner_pid, runner_host=run.runner_host, seq=run.seq, rerun_of=run.rerun_of)


def run_json(run: RunRecord) -> dict[str, Any]:
    return RunSummary.of(run).model_dump()


class RunStatus(RunSummary):
    """A run with all its jobs; ``counts`` is the number of jobs in each state."""

    counts: dict[str, int]
    jobs: list[JobStatus]


class TransitionOut(BaseModel):
    state: str
    attempt: int
    at: float
    exit_code: Optional[int] = None
    reason: Optional[str] = None

    @classmethod
    def of(cls, t: Transition) -> "TransitionOut":
        return cls(state=t.state.value, attempt=t.attempt, at=t.at, exit_code=t.exit_code, reason=t.reason)


class RunJobDetail(BaseModel):
    """One job of a run: its status, its definition as run and its state history."""

    status: JobStatus
    definition: dict[str, Any]
    transitions: list[TransitionOut]


class Accepted(BaseModel):
    """A request the run's driver carries out (kill, resume, add a job); watch the run for the outcome."""

    run_id: int
    action: str
    job: Optional[str] = None
    message: str


class LogChunkOut(BaseModel):
    """A piece of a job's log: bytes ``offset`` to ``next_offset`` of ``size``, decoded as UTF-8."""

    run_id: int
    job: str
    offset: int
    next_offset: int
    size: int
    text: str
    final: bool = Field(description="the job has ended and the log was read to its end")


class PluginOut(BaseModel):
    name: str
    distribution: str
    version: str
    module: str
    provides: dict[str, list[str]]
    error: Optional[str] = None

    @classmethod
    def of(cls, info: PluginInfo) -> "PluginOut":
        return cls(name=info.name, distribution=info.distribution, version=info.version, module=info.module,
                   provides={k: list(v) for k, v in info.provides.items()}, error=info.error)


class SchedulerOut(BaseModel):
    name: str
    description: str = ""


class LayoutNode(BaseModel):
    name: str
    x: float = Field(description="centre, in pixels")
    y: float
    layer: int


class LayoutEdge(BaseModel):
    source: str
    target: str
    points: list[list[float]] = Field(description="polyline [[x, y], ...] from the parent's side to the child's")


class GraphLayoutOut(BaseModel):
    """Positions for drawing a workflow's graph (``cc_core.drawing.layout``): jobs, layers and edge paths."""

    model_config = ConfigDict(extra="allow")

    width: float
    height: float
    direction: str = Field(description="TB: parents above their children; LR: left of them")
    node_width: float
    node_height: float
    crossings: int
    layers: list[list[str]]
    nodes: list[LayoutNode]
    edges: list[LayoutEdge]
