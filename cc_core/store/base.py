"""The status-store contract: the source of truth for every run.

A store records the workflow as it was run, every job's state, attempts, handles, exit codes, progress and
timestamps, and every state change. The engine writes it in small transactions that are applied whole or not at
all; other processes (``ccw status``, the REST service) read it while a run goes. ``seq`` is a counter that grows
with every write, so a reader follows a run by asking for what changed since the ``seq`` it last saw.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Optional, Sequence

from cc_core.states import JobState, RunState


@dataclass
class RunRecord:
    id: int
    workflow: str
    state: RunState
    scheduler: str
    definition: dict[str, Any]        # the workflow as run (WorkflowSpec.to_data())
    workflow_dir: str
    run_dir: str
    created: float
    started: Optional[float] = None
    ended: Optional[float] = None
    options: dict[str, Any] = field(default_factory=dict)
    runner_pid: Optional[int] = None
    runner_host: Optional[str] = None
    reason: Optional[str] = None
    seq: int = 0
    definition_version: int = 0       # grows whenever jobs or dependencies of the run change
    rerun_of: Optional[int] = None    # the run this one continues (``ccw rerun``)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


@dataclass
class JobRecord:
    run_id: int
    name: str
    kind: str
    host: str
    order: int
    state: JobState = JobState.READY
    attempt: int = 0
    progress: Optional[float] = None
    message: Optional[str] = None
    detail: Optional[str] = None
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    handle: Optional[dict[str, Any]] = None
    log_path: Optional[str] = None
    log_offset: int = 0
    submitted: Optional[float] = None
    started: Optional[float] = None
    ended: Optional[float] = None
    seq: int = 0
    # Where a ``done`` job's result comes from when it did not run in this run: ``{"how": "carried" | "cached",
    # "run": id, "job": name, "attempt": n}``.
    origin: Optional[dict[str, Any]] = None
    cache_key: Optional[str] = None               # the job's cache key, when its cache is on
    cache_parts: Optional[dict[str, str]] = None  # what went into the key (``ccw diff`` says which part changed)
    cache_copy: Optional[str] = None              # the cache's own copy of the job's folder, once it is done

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


@dataclass(frozen=True)
class CacheHit:
    """An earlier successful attempt with the same cache key: the job record and the run it belongs to."""

    job: JobRecord
    run_id: int
    cache_copy: str


@dataclass(frozen=True)
class Transition:
    """One state change of one job (the history ``ccw status --history`` shows)."""

    run_id: int
    job: str
    attempt: int
    state: JobState
    at: float
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    id: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


@dataclass(frozen=True)
class Request:
    """A control request for the process driving a run (kill a job, add a job, ...) left by another process."""

    id: int
    run_id: int
    action: str
    payload: dict[str, Any]
    created: float


@dataclass(frozen=True)
class StoredWorkflow:
    name: str
    text: str        # the YAML as given
    directory: str   # where its scripts are looked for
    created: float
    updated: float


class StatusStore(ABC):
    """Base class of status stores; registered through ``cc_register_status_stores``.

    A store object may be used from several threads; each write method is one transaction.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def open(cls, location: str) -> "StatusStore":
        """Open (creating if needed) the store at ``location`` (for SQLite, a file path)."""

    @abstractmethod
    def create_run(self, run: RunRecord, jobs: Sequence[JobRecord],
                   transitions: Sequence[Transition] = ()) -> RunRecord:
        """Record a new run, its jobs and their first transitions (jobs carried over by a rerun) in one
        transaction; returns the run with its new ``id`` (set on the jobs and transitions too)."""

    @abstractmethod
    def write(self, run: Optional[RunRecord], jobs: Sequence[JobRecord], transitions: Sequence[Transition],
              done_requests: Sequence[int] = (), removed_jobs: Sequence[str] = ()) -> int:
        """In one transaction: replace the run row and these job rows, add the transitions, close the requests,
        delete the rows of jobs removed from the run. Sets ``seq`` on every record written and returns it."""

    @abstractmethod
    def get_run(self, run_id: int) -> RunRecord:
        """The run with this id; :class:`cc_core.errors.RunNotFoundError` if there is none."""

    @abstractmethod
    def find_run(self, ref: str | int) -> RunRecord:
        """A run by id, or the latest run of the workflow named ``ref``."""

    @abstractmethod
    def list_runs(self, workflow: Optional[str] = None, limit: int = 100) -> list[RunRecord]:
        """Runs, newest first."""

    @abstractmethod
    def get_jobs(self, run_id: int, since_seq: int = 0) -> list[JobRecord]:
        """The run's jobs (only those written after ``since_seq`` when given), in workflow order."""

    @abstractmethod
    def get_transitions(self, run_id: int, job: Optional[str] = None, after_id: int = 0) -> list[Transition]:
        """State changes in the order they happened."""

    @abstractmethod
    def delete_run(self, run_id: int) -> None:
        """Forget a run and everything recorded of it."""

    @abstractmethod
    def add_request(self, run_id: int, action: str, payload: dict[str, Any]) -> int:
        """Leave a control request for the run's driver; returns its id."""

    @abstractmethod
    def pending_requests(self, run_id: int) -> list[Request]:
        """Requests not yet closed, oldest first."""

    @abstractmethod
    def save_workflow(self, name: str, text: str, directory: str) -> StoredWorkflow:
        """Store a workflow definition under its name (replacing an older one)."""

    @abstractmethod
    def get_workflow(self, name: str) -> StoredWorkflow:
        """A stored workflow; :class:`cc_core.errors.RunNotFoundError` if there is none."""

    @abstractmethod
    def list_workflows(self) -> list[StoredWorkflow]:
        """Stored workflows by name."""

    @abstractmethod
    def delete_workflow(self, name: str) -> None:
        """Forget a stored workflow (its runs stay)."""

    def find_cached(self, workflow: Optional[str], job: Optional[str], key: str) -> list[CacheHit]:
        """Jobs named ``job`` of runs of ``workflow`` (``None``: any) that ended ``done`` with cache key ``key`` and
        whose folder the cache kept: attempts that ran first, then jobs that were cached themselves, newest first. A
        store that keeps no cache keys finds none."""
        return []

    def close(self) -> None:
        """Release connections."""
