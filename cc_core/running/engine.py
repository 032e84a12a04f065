"""The engine: drives one run of a workflow.

One thread runs the loop. Everything that happens — a process exited, a batch check answered, a user asked to
kill a job or add one — arrives as a message on one queue. Each turn of the loop takes every waiting message,
applies it to the jobs, asks the scheduler what may start, submits it, writes all changes to the store in one
transaction and only then tells the subscribers. No fixed sleeps sit on the path from a parent's end to its
child's start: the loop wakes on the message.

Before an attempt is submitted, the store records it as ``queued``; after, its handle. If the process dies in
between, ``resume`` asks the job type to :meth:`~cc_core.plugins.jobtype.JobType.find` the attempt, so nothing runs twice.
"""

from __future__ import annotations

import bisect
import heapq
import os
import queue
import socket
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from cc_core.environments.step import EnvironmentStep, Prepared
from cc_core.workflow.dag import dependency_problems, topological_order
from cc_core.errors import CCError, JobNotFoundError, Problem, StoreError, WorkflowError
from cc_core.running.events import (Event, EventBus, JobLog, JobProgress, JobStateChanged, RunFinished, RunStarted,
                            WorkflowChanged)
from cc_core.plugins.jobtype import ActiveJob, JobType, JobUpdate, Launch, LogChunk, LogRequest
from cc_core.workflow.model import JobSpec, WorkflowSpec
from cc_core.workflow.resources import resource_environment
from cc_core.workflow.staging import with_run_paths
from cc_core.plugins.progress import LineScanner
from cc_core.running.gate import JobGate
from cc_core.running.run_lock import RunLock
from cc_core.running.submissions import TogetherSubmissions, submits_together
from cc_core.plugins.scheduler import ReadyJob, Scheduler, Slots
from cc_core.states import JobState, RunState, can_move
from cc_core.store.base import JobRecord, RunRecord, StatusStore, Transition

REQUEST_POLL = 0.25   # seconds between looks at the store for requests from other processes
RUNNING_WRITE_DELAY = 0.02   # seconds a move to running alone may wait to be written with what comes next
_SHOWN = ("progress", "message")   # what the engine keeps of a job's progress lines
_LOG_EVENT_LIMIT = 16 << 20       # log bytes held as events between two emits, at most
_FINAL_READS = 100_000            # a bound on the reads of an ended job's log (each reads up to its job type's limit)
_EXIT_REASONS = {126: "the script could not be executed (is its exec bit set? is its interpreter right?)",
                 127: "command or interpreter not found"}


@dataclass
class _Job:
    spec: JobSpec
    record: JobRecord
    children: list[str] = field(default_factory=list)
    waiting: int = 0                      # parents not done yet
    ready: Optional[ReadyJob] = None      # set while in the ready list
    active: Optional[ActiveJob] = None
    cancel_reason: Optional[str] = None   # "killed" or "timeout" once a cancel was asked for
    finishing: bool = False               # the end is known, the last log read is under way
    deadline: Optional[float] = None
    early: bool = False                   # handed to its job type before its parents ended (submit_after)
    early_updates: list[JobUpdate] = field(default_factory=list)   # heard of before the handle arrived
    gated: bool = False                   # the run's gate was asked whether it needs to run
    folder: Optional[Path] = None         # its folder in the run (made once, used for every attempt)
    log_file: Optional[Path] = None       # its current attempt's log, as a path (record.log_path is its text)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def state(self) -> JobState:
        return self.record.state


class _Worker:
    """Runs the calls of one blocking job type, one at a time, off the engine's thread."""

    def __init__(self, job_type: JobType, post: Callable[[tuple[Any, ...]], None]) -> None:
        self.job_type = job_type
        self.post = post
        self.tasks: "queue.SimpleQueue[Optional[Callable[[], None]]]" = queue.SimpleQueue()
        self.check_busy = False
        self.logs_busy = False
        self.thread = threading.Thread(target=self._loop, name=f"cc-{job_type.name}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            task = self.tasks.get()
            if task is None:
                return
            try:
                task()
            except BaseException as exc:  # noqa: BLE001 - reported to the engine, never lost
                self.post(("worker-error", self.job_type.name, exc))

    def call(self, task: Callable[[], None]) -> None:
        self.tasks.put(task)

    def close(self) -> None:
        self.tasks.put(None)


class Engine:
    """Drives one run. Build it with :func:`cc_core.running.runner.prepare_run` / :func:`cc_core.running.runner.prepare_resume`."""

    def __init__(self, *, store: StatusStore, run: RunRecord, spec: WorkflowSpec, job_types: dict[str, JobType],
                 scheduler: Scheduler, scanner: LineScanner, bus: Optional[EventBus] = None,
                 records: Optional[list[JobRecord]] = None, gate: Optional[JobGate] = None) -> None:
        self.store = store
        self.gate = gate              # decides before a job is scheduled whether it needs to run (the cache)
        self._at_gate: deque[_Job] = deque()
        self.run = run
        self.spec = spec
        self.job_types = job_types
        self.scheduler = scheduler
        self.scanner = scanner
        self.bus = bus or EventBus()
        self.run_dir = Path(run.run_dir)
        self.messages: "queue.SimpleQueue[tuple[Any, ...]]" = queue.SimpleQueue()
        self.jobs: dict[str, _Job] = {}
        self.ready: list[ReadyJob] = []
        self.slots = Slots()
        self.timers: list[tuple[float, int, str, str, int]] = []   # (when, seq, what, job, attempt)
        self._timer_seq = 0
        self._workers: dict[str, _Worker] = {}
        self._started_types: set[str] = set()
        self._dirty: dict[str, JobRecord] = {}
        self._run_dirty = False
        self._transitions: list[Transition] = []
        self._events: list[Event] = []
        self._done_requests: list[int] = []
        self._next_check: dict[str, float] = {}
        self._young_since: dict[str, float] = {}   # per job type: when its checks last began their quick schedule
        self._next_logs: dict[str, float] = {}
        self._checks_failing_since: dict[str, float] = {}   # kind -> when its checks began to fail
        self._start_errors: dict[str, str] = {}             # kind -> why its start() failed
        self._log_event_bytes = 0                           # log bytes in events not emitted yet
        self._together = TogetherSubmissions(self.post, self._start_errors.get)
        self._next_request_poll = 0.0
        self._flush_by: Optional[float] = None   # when moves to running that wait for company are written anyway
        self._detach = False
        self.schedule_new = True   # False: follow what runs, start nothing new (used to kill an orphaned run)
        self.held_open = False     # True: the run goes on while idle, because jobs may still be added (a process's calls)
        self._stopped = threading.Event()
        self._closing = threading.Lock()
        self._closed = False
        self._lock = RunLock(self.run_dir)
        self._resume_pending: list[_Job] = []
        self.active_jobs: dict[str, _Job] = {}   # queued or running: they hold a slot
        self._retrying: set[str] = set()
        self._removed: list[str] = []
        self.error: Optional[BaseException] = None
        self.environments = EnvironmentStep(self.job_types_for, spec.directory, self.post)
        self._build(records)

    # ----------------------------------------------------------------------------------------------- setup
    def _build(self, records: Optional[list[JobRecord]]) -> None:
        by_name = {r.name: r for r in records or []}
        order = topological_order({n: j.depends for n, j in self.spec.jobs.items()})
        position = {name: i for i, name in enumerate(order)}
        for name, spec in self.spec.jobs.items():
            record = by_name.get(name) or JobRecord(run_id=self.run.id, name=name, kind=spec.kind, host=spec.host,
                                                    order=position[name])
            self.jobs[name] = _Job(spec=spec, record=record)
        for job in self.jobs.values():
            for parent in job.spec.depends:
                self.jobs[parent].children.append(job.name)
                if self.jobs[parent].state is not JobState.DONE:
                    job.waiting += 1

    # ----------------------------------------------------------------------------------------------- public
    def post(self, message: tuple[Any, ...]) -> None:
        """Hand a message to the engine from any thread."""
        self.messages.put(message)

    def command(self, name: str, *args: Any) -> "Future[Any]":
        """Run a control command (kill, add_job, ...) on the engine's thread; the future gives its result."""
        future: Future[Any] = Future()
        with self._closing:
            if self._closed:
                future.set_exception(CCError(f"run {self.run.id} is no longer driven by this process",
                                             hint=f"'ccw status {self.run.id}' shows where it is"))
            else:
                self.post(("command", name, args, future))
        return future

    def detach(self) -> None:
        """Stop following the run and leave its jobs running; ``resume`` picks them up again."""
        self.post(("detach",))

    def execute(self) -> RunState:
        """Drive the run to its end (or until detached). Returns the run's final state."""
        self._lock.acquire(self.run.id)
        try:
            return self._execute()
        finally:
            for name, job_type in list(self.job_types.items()):
                if name in self._started_types:
                    self._call_quietly(job_type.stop)
            for worker in self._workers.values():
                worker.close()
            self._lock.release()
            self.environments.close()
            self._refuse_commands()
            self._stopped.set()

    def _refuse_commands(self) -> None:
        """Nothing waits forever on a command sent as the run ended: it fails at once."""
        with self._closing:
            self._closed = True
            while True:
                try:
                    message = self.messages.get_nowait()
                except queue.Empty:
                    return
                if message[0] == "command" and message[3] is not None and not message[3].done():
                    message[3].set_exception(CCError(f"run {self.run.id} ended before '{message[1]}' was done"))

    # ----------------------------------------------------------------------------------------------- loop
    def _execute(self) -> RunState:
        now = time.time()
        self.run.state = RunState.RUNNING
        self.run.started = self.run.started or now
        self.run.ended = None
        self.run.reason = None
        self.run.runner_pid = os.getpid()
        self.run.runner_host = socket.gethostname()
        self._run_dirty = True
        self._events.append(RunStarted(self.run.id, now, self.run.workflow))
        for kind in {j.record.kind for j in self.jobs.values() if not j.state.is_final}:
            job_type = self.job_types.get(kind)
            if job_type is not None:
                self._call_quietly(lambda jt=job_type: jt.begin(self.run_dir))
        self._restore()
        self._tick(time.monotonic())
        while not self._finished():
            timeout = self._wait_time(time.monotonic())
            try:
                first = self.messages.get(timeout=timeout) if timeout > 0 else self.messages.get_nowait()
            except queue.Empty:
                first = None
            if first is not None:
                self._handle(first)
                while True:
                    try:
                        self._handle(self.messages.get_nowait())
                    except queue.Empty:
                        break
            self._tick(time.monotonic())
        return self._finish()

    def _tick(self, now: float) -> None:
        self._fire_timers(now)
        self._poll(now)
        self._pass_gate()
        self._schedule()
        self._flush(lazy=True)

    def _finished(self) -> bool:
        """Nothing is active, ready, retrying or being found again: whatever is left waits on parents that will
        never be done, so the run is over."""
        if self._detach or self.error is not None:
            return True
        if self.held_open:
            return False
        if not self.schedule_new:
            return not (self.active_jobs or self._resume_pending)
        return not (self.active_jobs or self.ready or self._retrying or self._resume_pending or self._at_gate
                    or any(n in self.jobs and self.jobs[n].state is JobState.READY
                           for n in self.environments.waiting()))

    def _wait_time(self, now: float) -> float:
        wake = now + 5.0
        if self.timers:
            wake = min(wake, self.timers[0][0])
        for kind, when in self._next_check.items():
            wake = min(wake, when)
        for kind, when in self._next_logs.items():
            wake = min(wake, when)
        wake = min(wake, self._next_request_poll)
        if self._flush_by is not None:
            wake = min(wake, self._flush_by)
        return max(0.0, wake - now)

    def _finish(self) -> RunState:
        now = time.time()
        if self.error is not None:
            if isinstance(self.error, StoreError):
                raise self.error
            self.run.state = RunState.FAILED
            self.run.reason = f"{type(self.error).__name__}: {self.error}"
        elif self._detach:
            self.run.state = RunState.DETACHED
        else:
            # Jobs that can never start (a parent is final but not done) are skipped here, defensively.
            for job in self.jobs.values():
                if not job.state.is_final:
                    self._move(job, JobState.SKIPPED, reason="a parent did not finish")
            states = {j.state for j in self.jobs.values()}
            if states <= {JobState.DONE}:
                self.run.state = RunState.DONE
            elif JobState.FAILED not in states and (JobState.KILLED in states or self.run.state is RunState.KILLED):
                # Nothing failed: what did not finish was killed by a user (or skipped because of that).
                self.run.state = RunState.KILLED
                self.run.reason = self.run.reason or "killed: " + ", ".join(
                    j.name for j in self.jobs.values() if j.state is JobState.KILLED)
            else:
                self.run.state = RunState.FAILED
                if not self.run.reason:
                    bad = [j.name for j in self.jobs.values() if j.state in (JobState.FAILED, JobState.KILLED)]
                    self.run.reason = "failed: " + ", ".join(bad[:10]) + (" ..." if len(bad) > 10 else "")
        if self.run.state is not RunState.DETACHED:
            self.run.ended = now
        self._run_dirty = True
        self._events.append(RunFinished(self.run.id, now, self.run.state, self.run.reason))
        self._flush()
        return self.run.state

    # ----------------------------------------------------------------------------------------------- messages
    def _handle(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        try:
            if kind == "update":
                self._on_update(message[1])
            elif kind == "updates":
                self._checks_failing_since.pop(message[2], None)
                for update in message[1]:
                    self._on_update(update)
                self._workers[message[2]].check_busy = False
            elif kind == "submitted":
                self._on_submitted(message[1], message[2], message[3], message[4])
            elif kind == "logs":
                self._on_logs(message[1])
                self._workers[message[2]].logs_busy = False
            elif kind == "log-part":
                self._on_logs([message[1]])
            elif kind == "final":
                self._on_final_logs(*message[1:])
            elif kind == "found":
                self._on_found(message[1], message[2], message[3])
            elif kind == "find-failed":
                self._add_timer(time.monotonic() + 2.0, "find", message[1], message[2])
            elif kind == "command":
                self._on_command(message[1], message[2], message[3])
            elif kind == "prepared":
                self._on_prepared(message[1])
            elif kind == "detach":
                self._detach = True
            elif kind == "worker-error":
                self._on_job_type_error(message[1], "call", [], message[2])
            elif kind == "job-type-error":
                self._on_job_type_error(*message[1:])
        except StoreError as exc:
            self.error = exc

    def _on_job_type_error(self, kind: str, what: str, jobs: list[tuple[str, int]], exc: BaseException) -> None:
        """A job type's call raised. Nothing is left hanging: a failing check is tried again (the host or the
        controller may be coming back) until the job type's ``check_retry_window`` is over, then the jobs it
        follows fail; a cancel that failed fails its job; a failed log read is tried again on the next read."""
        now = time.monotonic()
        job_type = self.job_types[kind]
        worker = self._workers.get(kind)
        said = _said(exc)
        if worker is not None and what in ("check", "call"):
            worker.check_busy = False
        if worker is not None and what in ("logs", "call"):
            worker.logs_busy = False
        if what == "cancel":
            for job in self._jobs_of(jobs):
                self._move(job, JobState.FAILED, reason=f"could not be cancelled ({said}); it may still run")
        elif what == "check":
            since = self._checks_failing_since.setdefault(kind, now)
            if now - since >= job_type.check_retry_window:
                self._checks_failing_since.pop(kind, None)
                for job in self._jobs_of(jobs):
                    self._attempt_failed(job, None, f"could not be followed: {said} (checks failed for "
                                                    f"{now - since:.0f} s)")
        self._next_check[kind] = now + max(1.0, job_type.poll_interval)

    def _jobs_of(self, keys: list[tuple[str, int]]) -> list[_Job]:
        """The jobs still active in the attempts named by ``keys`` (an end heard since is not undone)."""
        found = []
        for name, attempt in keys:
            job = self.jobs.get(name)
            if job is not None and job.record.attempt == attempt and job.state.is_active and not job.finishing:
                found.append(job)
        return found

    # ----------------------------------------------------------------------------------------------- state
    def _move(self, job: _Job, state: JobState, *, exit_code: Optional[int] = None,
              reason: Optional[str] = None, cascade: bool = True) -> None:
        old = job.state
        if old is state:
            return
        if not can_move(old, state):
            return  # a late message about an attempt that already ended
        now = time.time()
        record = job.record
        record.state = state
        if state is JobState.QUEUED:
            record.submitted = now
            record.started = record.ended = None
            record.exit_code = None
            record.reason = None
            record.detail = None
        elif state is JobState.RUNNING:
            record.started = now
        if state.is_final or state is JobState.RETRYING:
            record.ended = now
            record.exit_code = exit_code
            record.reason = reason
            record.detail = None
        if state is JobState.DONE:
            record.progress = 100.0
        self._dirty[job.name] = record
        self._transitions.append(Transition(self.run.id, job.name, record.attempt, state, now, exit_code, reason))
        self._events.append(JobStateChanged(self.run.id, now, job.name, state, old, record.attempt, exit_code,
                                            reason, (record.origin or {}).get("how") if state.is_final else None))
        if state is JobState.RUNNING:
            self._schedule_deadline(job)
        if state.holds_slot:
            self.active_jobs[job.name] = job
        elif old.holds_slot:
            self.active_jobs.pop(job.name, None)
            self.slots.give_back(record.host, record.kind)
            job.active = None
            job.deadline = None
            job.cancel_reason = None
            job.early = False
        if state is JobState.RETRYING:
            self._retrying.add(job.name)
        elif old is JobState.RETRYING:
            self._retrying.discard(job.name)
        if state is JobState.DONE:
            if self.gate is not None and record.origin is None:
                self.gate.after_done(job.spec, record)
            for child in job.children:
                self._parent_done(self.jobs[child])
        elif cascade and state in (JobState.FAILED, JobState.KILLED, JobState.SKIPPED):
            self._skip_descendants(job)

    def _parent_done(self, child: _Job) -> None:
        child.waiting -= 1
        if child.waiting <= 0 and child.state is JobState.READY:
            self._make_ready(child)

    def _make_ready(self, job: _Job) -> None:
        if self.gate is not None and not job.gated:
            job.gated = True
            self._at_gate.append(job)   # asked in _pass_gate: iterative, so a long chain of cached jobs is fine
            return
        if job.ready is None:
            job.ready = ReadyJob(job.name, job.record.kind, job.record.host, job.record.order)
            bisect.insort(self.ready, job.ready, key=lambda r: r.order)

    def _pass_gate(self) -> None:
        """Ask the gate about every job that just became ready: it runs, or it is done already (cached)."""
        while self._at_gate and self.schedule_new:
            job = self._at_gate.popleft()
            if self.jobs.get(job.name) is not job or job.state is not JobState.READY or self.gate is None:
                continue
            if job.waiting > 0:   # given a new parent meanwhile: asked again when that one is done
                job.gated = False
                continue
            origin = self.gate.before_start(job.spec, job.record, [self.jobs[p].record for p in job.spec.depends])
            self._dirty[job.name] = job.record
            if origin is None:
                self._make_ready(job)
                continue
            job.record.origin = origin
            self._move(job, JobState.DONE, exit_code=0,
                       reason=f"{origin['how']} from run {origin['run']} (job {origin['job']}, attempt "
                              f"{origin['attempt']})")

    def _unready(self, job: _Job) -> None:
        if job.ready is not None:
            index = bisect.bisect_left(self.ready, job.ready.order, key=lambda r: r.order)
            while self.ready[index] is not job.ready:
                index += 1
            del self.ready[index]
            job.ready = None

    def _skip_descendants(self, job: _Job) -> None:
        """Skip every descendant that has not started; iterative, so a chain of any length is fine."""
        reason = f"'{job.name}' {job.state.value}" if job.state is not JobState.SKIPPED else job.record.reason
        pending = deque(job.children)
        seen: set[str] = set()
        while pending:
            name = pending.popleft()
            if name in seen:
                continue
            seen.add(name)
            child = self.jobs[name]
            if child.state in (JobState.READY, JobState.RETRYING):
                self._unready(child)
                self._move(child, JobState.SKIPPED, reason=reason, cascade=False)
                pending.extend(child.children)
            elif child.early and child.state.is_active and child.cancel_reason is None:
                # Handed to its job type early, waiting for this parent: it can never run now.
                child.record.reason = reason
                self._cancel(child, "skipped")
                pending.extend(child.children)

    # ----------------------------------------------------------------------------------------------- restore
    def _restore(self) -> None:
        """Set up in-memory state from the records (a new run has all jobs ready; a resumed one has history)."""
        for job in self.jobs.values():
            state = job.state
            if state is JobState.READY and job.waiting == 0:
                self._make_ready(job)
            elif state is JobState.RETRYING:
                self._retrying.add(job.name)
                self._add_timer(time.monotonic(), "retry", job.name, job.record.attempt)
            elif state.holds_slot:
                self.slots.take(ReadyJob(job.name, job.record.kind, job.record.host, job.record.order))
                self.active_jobs[job.name] = job
                self._start_type(job.record.kind)
                if job.record.handle and not job.record.handle.get("pending"):
                    job.active = self._active(job, job.record.handle)
                    if state is JobState.RUNNING:
                        self._schedule_deadline(job)
                    self._next_check[job.record.kind] = 0.0
                else:
                    self._resume_pending.append(job)
        for job in list(self._resume_pending):
            self._find(job)

    def _find(self, job: _Job) -> None:
        """Ask the job type whether an attempt recorded without a handle started; a failing look is tried again
        a little later (the cluster or host may be coming back)."""
        launch = self._launch(job)

        def look(jt: JobType) -> None:
            try:
                handle = jt.find(launch)
            except Exception:  # noqa: BLE001 - retried, never lost
                self.post(("find-failed", job.name, launch.attempt))
                return
            self.post(("found", job.name, launch.attempt, handle))
        self._call(job.record.kind, look)

    def _on_found(self, name: str, attempt: int, handle: Optional[dict[str, Any]]) -> None:
        job = self.jobs[name]
        if job in self._resume_pending:
            self._resume_pending.remove(job)
        if handle:
            job.record.handle = handle
            self._dirty[name] = job.record
            job.active = self._active(job, handle)
            self._next_check[job.record.kind] = 0.0
            if job.cancel_reason is not None:   # a kill that came while it was being looked for
                self._cancel(job, job.cancel_reason)
            return
        # It never started: hand it back to the scheduler with the same attempt number.
        self.slots.give_back(job.record.host, job.record.kind)
        self.active_jobs.pop(name, None)
        job.record.state = JobState.READY
        job.record.attempt -= 1
        self._dirty[name] = job.record
        reason, job.cancel_reason = job.cancel_reason, None
        if reason == "killed":
            self._move(job, JobState.KILLED, reason="killed")
        elif reason == "skipped":
            self._move(job, JobState.SKIPPED, reason=job.record.reason or "a parent did not finish")
        else:
            self._make_ready(job)

    # ----------------------------------------------------------------------------------------------- scheduling
    def _schedule(self) -> None:
        if not self.ready or self._detach or self.error is not None or not self.schedule_new:
            return
        chosen = self.scheduler.select(iter(self.ready), self.slots)
        if not chosen:
            return
        launches: list[tuple[_Job, Launch]] = []
        for ready in chosen:
            job = self.jobs[ready.name]
            if job.ready is not ready:
                continue
            self._unready(job)
            if self._waits_for_environment(job):
                continue
            job.record.attempt += 1
            job.record.progress = None
            job.record.message = None
            job.record.log_offset = 0
            job.record.handle = None
            launch = self._launch(job)
            job.record.log_path = str(launch.log_path)
            prepared = self.environments.begin(launch) if self.environments.needs(job.spec) else launch
            self._move(job, JobState.QUEUED if prepared is not None else JobState.PREPARING)
            self.slots.take(ready)
            if prepared is not None:
                launches.append((job, prepared))
        # The attempts are recorded as queued before they are submitted (see the module docstring).
        self._flush()
        for job, launch in launches:
            self._submit(job, launch)

    def _waits_for_environment(self, job: _Job) -> bool:
        """Another job prepares the environment this one needs: it stays ready, without a slot, until then."""
        message = self.environments.park(job.spec) if self.environments.needs(job.spec) else None
        if message is not None and message != job.record.message:
            job.record.message = message
            self._dirty[job.name] = job.record
            self._events.append(JobProgress(self.run.id, time.time(), job.name, job.record.progress, message))
        return message is not None

    def _on_prepared(self, prepared: Prepared) -> None:
        """An environment check or build ended: submit the job that asked, and let the jobs that waited go on (or
        fail with the same reason)."""
        for name in self.environments.finish(prepared):
            waiter = self.jobs.get(name)
            if waiter is None or waiter.state is not JobState.READY:
                continue
            waiter.record.message = None
            if prepared.launch is None:
                self._move(waiter, JobState.FAILED, reason=prepared.reason)
            else:
                self._make_ready(waiter)
        job = self.jobs.get(prepared.job)
        if job is None or job.record.attempt != prepared.attempt or job.state is not JobState.PREPARING:
            return
        if prepared.launch is None:
            self._attempt_failed(job, None, prepared.reason or "its environment could not be prepared")
            return
        self._move(job, JobState.QUEUED)
        self._flush()
        self._submit(job, prepared.launch)

    def _chain_children(self, parent: _Job) -> None:
        """Hand children to their job type before their parents end, where it can wait for them itself (SLURM's
        ``--dependency=afterok``): every parent not yet done is an active job of the same kind with a handle and
        no retries left, and the job type agrees (:meth:`can_submit_after`)."""
        if self._detach or not self.schedule_new or self.gate is not None:
            return   # with a gate (the cache), a child is asked once its parents are done, never handed over early
        for name in parent.children:
            child = self.jobs[name]
            if child.state is not JobState.READY or child.ready is not None or self.environments.needs(child.spec):
                continue
            if child.spec.function:
                continue  # its payload may take a parent's return value, known only once the parent is done
            job_type = self.job_types.get(child.record.kind)
            can = getattr(job_type, "can_submit_after", None)
            if can is None or not hasattr(job_type, "submit_after"):
                continue
            pending = [self.jobs[p] for p in child.spec.depends if self.jobs[p].state is not JobState.DONE]
            if not pending or not all(
                    p.state.is_active and p.active is not None and p.cancel_reason is None and not p.finishing
                    and p.record.kind == child.record.kind and p.record.attempt > p.spec.retries for p in pending):
                continue
            if not can(child.spec, [p.spec for p in pending]):
                continue
            ready = ReadyJob(child.name, child.record.kind, child.record.host, child.record.order)
            if not self.scheduler.select(iter([ready]), self.slots):
                continue  # limits first: the child waits its turn like any other
            child.record.attempt += 1
            child.record.progress = child.record.message = None
            child.record.log_offset = 0
            child.record.handle = None
            launch = self._launch(child)
            child.record.log_path = str(launch.log_path)
            child.early = True
            self._move(child, JobState.QUEUED)
            self.slots.take(ready)
            self._flush()
            self._submit(child, launch, after=[p.active.handle for p in pending if p.active is not None])

    def _folder(self, job: _Job) -> Path:
        if job.folder is None:
            job.folder = self.run_dir / job.name
        return job.folder

    def _launch(self, job: _Job) -> Launch:
        attempt = job.record.attempt
        job_dir = self._folder(job)
        log_name = f"{job.name}.log" if attempt <= 1 else f"{job.name}.attempt{attempt}.log"
        job.log_file = job_dir / log_name
        env = {
            "CC_RUN_ID": str(self.run.id),
            "CC_WORKFLOW": self.run.workflow,
            "CC_JOB": job.name,
            "CC_ATTEMPT": str(attempt),
            "CC_JOB_DIR": str(job_dir),
            "CC_RUN_DIR": str(self.run_dir),
            "CC_WORKFLOW_DIR": str(self.spec.directory),
        }
        if job.spec.options:
            env.update(resource_environment(job.spec.options))
        env.update(job.spec.env)
        # Inputs may name files earlier jobs made ($CC_RUN_DIR/prepare/data.npz): known only now.
        return Launch(run_id=self.run.id, workflow=self.run.workflow, job=with_run_paths(self._runnable(job), env),
                      attempt=attempt, job_dir=job_dir, workflow_dir=self.spec.directory,
                      log_path=job.log_file, env=env)

    def _active(self, job: _Job, handle: dict[str, Any]) -> ActiveJob:
        if job.log_file is None or str(job.log_file) != job.record.log_path:
            job.log_file = Path(job.record.log_path) if job.record.log_path else \
                self._folder(job) / f"{job.name}.log"
        return ActiveJob(job.name, job.record.attempt, handle, self._runnable(job), self._folder(job), job.log_file)

    def _runnable(self, job: _Job) -> JobSpec:
        """What the job type runs: the job itself, or for a function call the runner script that makes it."""
        if not job.spec.function:
            return job.spec
        from cc_core.functions.job import runnable

        return runnable(job.spec, self.run_dir / job.name, self.spec.directory)

    def _prepare(self, job: _Job, launch: Launch) -> None:
        """Before a submit: the folder, and a function call's payload (raises CCError when it cannot be made)."""
        if job.spec.function or not self.job_types[job.record.kind].makes_job_dir:
            launch.job_dir.mkdir(parents=True, exist_ok=True)
        if job.spec.function:
            from cc_core.functions.job import prepare

            prepare(job.spec, launch.job_dir, self.spec.directory, self.run_dir)

    def _submit(self, job: _Job, launch: Launch, after: Optional[list[dict[str, Any]]] = None) -> None:
        kind = job.record.kind
        self._start_type(kind)
        job_type = self.job_types[kind]

        def submit(jt: JobType) -> None:
            if kind in self._start_errors:
                self.post(("submitted", launch.key, launch.attempt, None,
                           f"the {kind} job type could not start: {self._start_errors[kind]}"))
                return
            try:
                self._prepare(job, launch)
                handle = jt.submit_after(launch, after) if after else jt.submit(launch)  # type: ignore[attr-defined]
            except CCError as exc:
                self.post(("submitted", launch.key, launch.attempt, None, exc.message))
            except Exception as exc:  # noqa: BLE001 - a job type's bug fails the attempt, not the run
                self.post(("submitted", launch.key, launch.attempt, None, f"{type(exc).__name__}: {exc}"))
            else:
                self.post(("submitted", launch.key, launch.attempt, handle, None))

        if after is None and submits_together(job_type):
            self._together.add(kind, launch, lambda: self._prepare(job, launch), lambda task: self._call(kind, task))
        elif job_type.blocking:
            self._call(kind, submit)
        else:
            # Fast job types submit inline; the result is applied at once, in this same tick.
            if kind in self._start_errors:
                self._on_submitted(launch.key, launch.attempt, None,
                                   f"the {kind} job type could not start: {self._start_errors[kind]}")
                return
            try:
                self._prepare(job, launch)
                handle = job_type.submit(launch)
                self._on_submitted(launch.key, launch.attempt, handle, None)
            except CCError as exc:
                self._on_submitted(launch.key, launch.attempt, None, exc.message)
            except Exception as exc:  # noqa: BLE001
                self._on_submitted(launch.key, launch.attempt, None, f"{type(exc).__name__}: {exc}")

    def _on_submitted(self, name: str, attempt: int, handle: Optional[dict[str, Any]], error: Optional[str]) -> None:
        job = self.jobs.get(name)
        if job is None or job.record.attempt != attempt or job.state is not JobState.QUEUED:
            return
        if handle is None:
            self._on_submitted_failed(job, error)
            return
        job.record.handle = handle
        if not handle.get("pending"):
            # a pending handle is not worth a write of its own: on resume it means what no handle means (find)
            self._dirty[name] = job.record
        job.active = self._active(job, handle)
        pending, job.early_updates = job.early_updates, []
        if job.cancel_reason is not None:
            self._cancel(job, job.cancel_reason)
        elif self.job_types[job.record.kind].starts_running:
            self._move(job, JobState.RUNNING)
        kind = job.record.kind
        self._next_logs.setdefault(kind, time.monotonic() + self.job_types[kind].log_interval)
        self._next_check_after_submit(kind, time.monotonic())
        if job.active is not None and job.cancel_reason is None and not job.finishing:
            self._chain_children(job)
        for update in pending:
            self._on_update(update)

    def _on_submitted_failed(self, job: _Job, error: Optional[str]) -> None:
        if job.cancel_reason == "skipped":
            self._move(job, JobState.SKIPPED, reason=job.record.reason or "a parent did not finish")
        else:
            self._attempt_failed(job, None, f"could not start: {error}")

    def _schedule_deadline(self, job: _Job) -> None:
        """A job's timeout counts from when it starts running (time spent queued, e.g. in SLURM, is not counted)."""
        timeout = job.spec.timeout
        if timeout:
            started = job.record.started or time.time()
            job.deadline = time.monotonic() + max(0.0, timeout - (time.time() - started))
            self._add_timer(job.deadline, "timeout", job.name, job.record.attempt)

    # ----------------------------------------------------------------------------------------------- updates
    def _on_update(self, update: JobUpdate) -> None:
        job = self.jobs.get(update.key)
        if job is None or job.record.attempt != update.attempt or not job.state.is_active or job.finishing:
            return
        if update.handle is not None:
            job.record.handle = update.handle
            job.active = self._active(job, update.handle)
            self._dirty[job.name] = job.record
        if job.active is None:
            # Heard of before its submission was applied (a job type pushing from another thread): keep it until
            # the handle arrives, then apply it.
            job.early_updates.append(update)
            return
        if not update.started and job.state is JobState.QUEUED:
            self._on_submitted_failed(job, update.reason or "unknown")
            return
        if update.state is JobState.QUEUED:
            if update.detail != job.record.detail:
                job.record.detail = update.detail
                self._dirty[job.name] = job.record
            return
        if update.state is JobState.RUNNING:
            if update.detail != job.record.detail:
                job.record.detail = update.detail
                self._dirty[job.name] = job.record
            self._move(job, JobState.RUNNING)
            return
        # The job ended: read the rest of its log first (to its end, however long), so its last progress line
        # counts.
        job.finishing = True
        kind = job.record.kind
        request = replace(self._log_request(job), final=True)
        job_type = self.job_types[kind]
        if job_type.blocking:
            def final(jt: JobType) -> None:
                for chunk in _rest_of_log(jt, request):
                    self.post(("log-part", chunk))
                self.post(("final", update, []))
            self._call(kind, final)
        else:
            for chunk in _rest_of_log(job_type, request):
                self._on_logs([chunk])
            self._on_final_logs(update, [])

    def _on_final_logs(self, update: JobUpdate, chunks: list[LogChunk]) -> None:
        job = self.jobs[update.key]
        job.finishing = False
        if job.record.attempt != update.attempt or not job.state.is_active:
            return
        self._on_logs(chunks)
        if job.state is JobState.QUEUED and update.state is not JobState.KILLED and job.cancel_reason != "skipped":
            self._move(job, JobState.RUNNING)
        reason = update.reason
        if job.cancel_reason == "skipped":
            why = job.record.reason or "a parent did not finish"
            if job.state is JobState.QUEUED:
                self._move(job, JobState.SKIPPED, exit_code=update.exit_code, reason=why)
            else:  # it had started after all: its end is a failure of its own
                self._move(job, JobState.FAILED, exit_code=update.exit_code, reason=why)
        elif update.state is JobState.DONE:
            # Exit 0 is done, also when a kill or a timeout came too late to end it (docs/states.md).
            self._move(job, JobState.DONE, exit_code=update.exit_code if update.exit_code is not None else 0)
        elif job.cancel_reason == "killed" or (update.state is JobState.KILLED and job.cancel_reason != "timeout"):
            killed_by_us = job.cancel_reason == "killed" or not reason
            self._move(job, JobState.KILLED, exit_code=update.exit_code, reason="killed" if killed_by_us else reason)
        elif job.cancel_reason == "timeout":
            self._attempt_failed(job, update.exit_code, f"timeout after {job.spec.timeout:g} s")
        else:
            if reason is None and update.exit_code is not None:
                reason = _EXIT_REASONS.get(update.exit_code, f"exit code {update.exit_code}")
                if update.exit_code < 0:
                    reason = f"ended by signal {-update.exit_code}"
            if job.spec.function:
                from cc_core.functions.results import failure_reason

                reason = failure_reason(self.run_dir / job.name, job.record.attempt) or reason
            self._attempt_failed(job, update.exit_code, reason or "failed")

    def _attempt_failed(self, job: _Job, exit_code: Optional[int], reason: str) -> None:
        if job.record.attempt <= job.spec.retries and job.cancel_reason != "killed" and not self._detach:
            self._move(job, JobState.RETRYING, exit_code=exit_code, reason=reason)
            self._add_timer(time.monotonic() + job.spec.retry_delay, "retry", job.name, job.record.attempt)
        else:
            self._move(job, JobState.FAILED, exit_code=exit_code, reason=reason)

    # ----------------------------------------------------------------------------------------------- logs
    def _log_request(self, job: _Job) -> LogRequest:
        assert job.active is not None
        return LogRequest(job.name, job.record.attempt, job.active.handle, job.active.log_path,
                          job.record.log_offset)

    def _on_logs(self, chunks: Iterable[LogChunk]) -> None:
        now = time.time()
        for chunk in chunks:
            job = self.jobs.get(chunk.key)
            if job is None or not chunk.data:
                continue
            record = job.record
            record.log_offset = chunk.offset
            self._dirty[job.name] = record
            report = self.scanner.last_report(chunk.data, _SHOWN)
            if report is not None and (report.progress != record.progress or report.message != record.message):
                if report.progress is not None:
                    record.progress = report.progress
                if report.message is not None:
                    record.message = report.message
                self._events.append(JobProgress(self.run.id, now, job.name, record.progress, record.message))
            if self.bus.active and self._log_event_bytes < _LOG_EVENT_LIMIT:
                # A huge log read at a job's end is not all held in memory as events: followers read the file.
                self._log_event_bytes += len(chunk.data)
                self._events.append(JobLog(self.run.id, now, job.name, chunk.data.decode("utf-8", "replace")))

    # ----------------------------------------------------------------------------------------------- polling
    def _poll(self, now: float) -> None:
        if now >= self._next_request_poll:
            self._next_request_poll = now + REQUEST_POLL
            self._take_requests()
        by_kind: dict[str, list[_Job]] = {}
        for job in self.active_jobs.values():
            if job.active is not None and not job.finishing:
                by_kind.setdefault(job.record.kind, []).append(job)
        for kind in list(self._next_check):
            if kind not in by_kind:
                del self._next_check[kind]
        for kind in list(self._next_logs):
            if kind not in by_kind:
                del self._next_logs[kind]
        for kind, jobs in by_kind.items():
            job_type = self.job_types[kind]
            if now >= self._next_check.setdefault(kind, now + job_type.poll_interval):
                self._next_check[kind] = now + job_type.check_delay(now - self._young_since.get(kind, -1e9))
                self._check(kind, [j.active for j in jobs if j.active is not None])
            running = [j for j in jobs if j.state is JobState.RUNNING]
            if not running:
                # Queued jobs have no log to read: no wake-up for it (a stale one would make the loop spin).
                self._next_logs.pop(kind, None)
            elif now >= self._next_logs.setdefault(kind, now + job_type.log_interval):
                self._next_logs[kind] = now + job_type.log_interval
                self._read_logs(kind, [self._log_request(j) for j in running])

    def _next_check_after_submit(self, kind: str, now: float) -> None:
        """A job just submitted: its job type may check sooner while it is young (``JobType.check_delay``). The
        quick schedule starts again only once the previous one has run out, so a stream of submissions does not
        keep the checks quick."""
        job_type = self.job_types[kind]
        if now - self._young_since.get(kind, -1e9) >= job_type.poll_interval * 2:
            self._young_since[kind] = now
        first = now + job_type.check_delay(now - self._young_since[kind])
        self._next_check[kind] = min(self._next_check.get(kind, first), first)

    def _check(self, kind: str, active: list[ActiveJob]) -> None:
        job_type = self.job_types[kind]
        keys = [(a.key, a.attempt) for a in active]
        if job_type.blocking:
            worker = self._workers[kind]
            if worker.check_busy:
                return
            worker.check_busy = True
            self._call(kind, lambda jt: self.post(("updates", jt.check(active), kind)), "check", keys)
        else:
            try:
                updates = job_type.check(active)
            except Exception as exc:  # noqa: BLE001 - see _on_job_type_error
                self._on_job_type_error(kind, "check", keys, exc)
                return
            self._checks_failing_since.pop(kind, None)
            for update in updates:
                self._on_update(update)

    def _read_logs(self, kind: str, requests: list[LogRequest]) -> None:
        job_type = self.job_types[kind]
        if job_type.blocking:
            worker = self._workers[kind]
            if worker.logs_busy:
                return
            worker.logs_busy = True
            self._call(kind, lambda jt: self.post(("logs", jt.read_logs(requests), kind)), "logs")
        else:
            try:
                chunks = job_type.read_logs(requests)
            except Exception as exc:  # noqa: BLE001 - read again next time
                self._on_job_type_error(kind, "logs", [], exc)
                return
            self._on_logs(chunks)

    # ----------------------------------------------------------------------------------------------- timers
    def _add_timer(self, when: float, what: str, name: str, attempt: int) -> None:
        self._timer_seq += 1
        heapq.heappush(self.timers, (when, self._timer_seq, what, name, attempt))

    def _fire_timers(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now:
            _, _, what, name, attempt = heapq.heappop(self.timers)
            job = self.jobs.get(name)
            if job is None or job.record.attempt != attempt:
                continue
            if what == "timeout" and job.state.is_active and job.cancel_reason is None:
                self._cancel(job, "timeout")
            elif what == "retry" and job.state is JobState.RETRYING:
                self._make_ready(job)
            elif what == "find" and job in self._resume_pending:
                self._find(job)

    # ----------------------------------------------------------------------------------------------- control
    def _cancel(self, job: _Job, reason: str) -> None:
        job.cancel_reason = reason
        if job.active is None:
            return  # being submitted: cancelled as soon as the handle arrives
        active = job.active
        kind = job.record.kind
        job_type = self.job_types[kind]
        keys = [(job.name, job.record.attempt)]
        if job_type.blocking:
            self._call(kind, lambda jt: jt.cancel([active]), "cancel", keys)
            self._next_check[kind] = time.monotonic() + 0.2
        else:
            try:
                job_type.cancel([active])
            except Exception as exc:  # noqa: BLE001 - see _on_job_type_error
                self._on_job_type_error(kind, "cancel", keys, exc)

    def kill_job(self, name: str) -> None:
        job = self._job(name)
        if job.state.is_final:
            return
        if job.state in (JobState.READY, JobState.RETRYING, JobState.PREPARING):
            self._unready(job)
            self._move(job, JobState.KILLED, reason="killed")
        else:
            self._cancel(job, "killed")

    def kill_run(self) -> None:
        self.held_open = False
        self.run.state = RunState.KILLED
        self.run.reason = "killed"
        for job in self.jobs.values():
            if job.state in (JobState.READY, JobState.RETRYING, JobState.PREPARING):
                self._unready(job)
                self._move(job, JobState.KILLED, reason="run killed before the job started", cascade=False)
        for job in self.jobs.values():
            if job.state.is_active and job.cancel_reason != "killed":
                self._cancel(job, "killed")

    def _job(self, name: str) -> _Job:
        try:
            return self.jobs[name]
        except KeyError:
            raise JobNotFoundError(f"run {self.run.id} has no job '{name}'") from None

    def _on_command(self, name: str, args: tuple[Any, ...], future: Optional["Future[Any]"]) -> None:
        try:
            result = getattr(self, f"_cmd_{name}")(*args)
        except CCError as exc:
            if future is not None:
                future.set_exception(exc)
            return
        except StoreError:
            raise
        if future is not None:
            future.set_result(result)

    def _cmd_release(self) -> None:
        """No more jobs will be added: the run ends once what it has is over."""
        self.held_open = False

    def _cmd_kill(self, job: Optional[str] = None) -> None:
        if job:
            self.kill_job(job)
        else:
            self.kill_run()

    def _cmd_add_job(self, spec: JobSpec) -> None:
        if spec.name in self.jobs:
            raise WorkflowError([Problem("a job of this name is already in the run", job=spec.name)])
        jobs = dict(self.spec.jobs)
        jobs[spec.name] = spec
        self._check_graph(jobs, spec.name)
        problems = self.job_types_for(spec).validate(spec, self.spec.directory)
        if problems:
            raise WorkflowError([Problem(p, job=spec.name) for p in problems])
        self.spec.jobs[spec.name] = spec
        record = JobRecord(run_id=self.run.id, name=spec.name, kind=spec.kind, host=spec.host,
                           order=max((j.record.order for j in self.jobs.values()), default=-1) + 1)
        job = _Job(spec=spec, record=record)
        self.jobs[spec.name] = job
        for parent in spec.depends:
            self.jobs[parent].children.append(spec.name)
            if self.jobs[parent].state is not JobState.DONE:
                job.waiting += 1
        self._dirty[spec.name] = record
        self._definition_changed([spec.name])
        if any(self.jobs[p].state in (JobState.FAILED, JobState.KILLED, JobState.SKIPPED) for p in spec.depends):
            self._move(job, JobState.SKIPPED, reason="a parent did not finish")
        elif job.waiting == 0:
            self._make_ready(job)

    def job_types_for(self, spec: JobSpec) -> JobType:
        if spec.kind not in self.job_types:
            from cc_core.plugins.registry import get_registry
            from cc_core.settings import make_job_type

            self.job_types[spec.kind] = make_job_type(get_registry(), spec.kind)
        return self.job_types[spec.kind]

    def _cmd_remove_job(self, name: str) -> None:
        job = self._job(name)
        if job.state is not JobState.READY and not job.state.is_final:
            raise WorkflowError([Problem(f"cannot remove a job that is {job.state.value}; kill it first", job=name)])
        if job.children:
            raise WorkflowError([Problem(f"cannot remove a job others depend on ({', '.join(job.children)})",
                                         job=name)])
        self._unready(job)
        for parent in job.spec.depends:
            self.jobs[parent].children.remove(name)
        del self.jobs[name]
        del self.spec.jobs[name]
        self._dirty.pop(name, None)
        self._removed.append(name)
        self._definition_changed([name])

    def _cmd_add_dependency(self, parent: str, child: str) -> None:
        parent_job, child_job = self._job(parent), self._job(child)
        if parent in child_job.spec.depends:
            return
        if child_job.state is not JobState.READY:
            raise WorkflowError([Problem(f"cannot add a dependency to a job that is {child_job.state.value}",
                                         job=child)])
        jobs = dict(self.spec.jobs)
        jobs[child] = child_job.spec.model_copy(update={"depends": [*child_job.spec.depends, parent]})
        self._check_graph(jobs, child)
        child_job.spec = jobs[child]
        self.spec.jobs[child] = jobs[child]
        parent_job.children.append(child)
        if parent_job.state in (JobState.FAILED, JobState.KILLED, JobState.SKIPPED):
            self._unready(child_job)
            self._move(child_job, JobState.SKIPPED, reason=f"'{parent}' {parent_job.state.value}")
        elif parent_job.state is not JobState.DONE:
            child_job.waiting += 1
            self._unready(child_job)
        self._definition_changed([parent, child])

    def _cmd_remove_dependency(self, parent: str, child: str) -> None:
        parent_job, child_job = self._job(parent), self._job(child)
        if parent not in child_job.spec.depends:
            return
        child_job.spec = child_job.spec.model_copy(
            update={"depends": [p for p in child_job.spec.depends if p != parent]})
        self.spec.jobs[child] = child_job.spec
        parent_job.children.remove(child)
        if parent_job.state is not JobState.DONE:
            child_job.waiting -= 1
            if child_job.waiting == 0 and child_job.state is JobState.READY:
                self._make_ready(child_job)
        self._definition_changed([parent, child])

    def _check_graph(self, jobs: dict[str, JobSpec], name: str) -> None:
        problems = dependency_problems(jobs)
        if problems:
            raise WorkflowError(problems)

    def _definition_changed(self, names: list[str]) -> None:
        self.run.definition = self.spec.to_data()
        self.run.definition_version += 1
        self._run_dirty = True
        self._events.append(WorkflowChanged(self.run.id, time.time(), tuple(names)))

    def _take_requests(self) -> None:
        for request in self.store.pending_requests(self.run.id):
            self._done_requests.append(request.id)
            try:
                if request.action == "kill":
                    self._cmd_kill(request.payload.get("job"))
                elif request.action == "add_job":
                    self._cmd_add_job(JobSpec(**request.payload["job"]))
                elif request.action == "remove_job":
                    self._cmd_remove_job(request.payload["name"])
                elif request.action == "add_dependency":
                    self._cmd_add_dependency(request.payload["parent"], request.payload["child"])
                elif request.action == "remove_dependency":
                    self._cmd_remove_dependency(request.payload["parent"], request.payload["child"])
                elif request.action == "detach":
                    self._detach = True
            except (CCError, KeyError, TypeError, ValueError):
                continue  # a bad request from another process is dropped, never the run

    # ----------------------------------------------------------------------------------------------- plumbing
    def _start_type(self, kind: str) -> None:
        if kind in self._started_types:
            return
        job_type = self.job_types[kind]
        self._started_types.add(kind)
        sink = lambda update: self.post(("update", update))  # noqa: E731

        def start() -> None:
            try:
                job_type.start(sink)
            except Exception as exc:  # noqa: BLE001 - its jobs fail to start, with this reason
                self._start_errors[kind] = _said(exc)
        if job_type.blocking:
            self._workers[kind] = _Worker(job_type, self.post)
            self._workers[kind].call(start)
        else:
            start()

    def _call(self, kind: str, task: Callable[[JobType], None], what: str = "call",
              jobs: Optional[list[tuple[str, int]]] = None) -> None:
        """Run ``task`` with the job type (on its worker when it blocks); when it raises, the failure is handled
        as ``what`` (check, logs, cancel) for ``jobs`` (name, attempt): see :meth:`_on_job_type_error`."""
        self._start_type(kind)
        job_type = self.job_types[kind]
        if job_type.blocking:
            def guarded() -> None:
                try:
                    task(job_type)
                except Exception as exc:  # noqa: BLE001 - handed to the engine's thread, never lost
                    self.post(("job-type-error", kind, what, jobs or [], exc))
            self._workers[kind].call(guarded)
        else:
            task(job_type)

    @staticmethod
    def _call_quietly(call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # noqa: BLE001 - closing must not hide the run's own outcome
            pass

    def _flush(self, lazy: bool = False) -> None:
        """Write every change since the last write in one transaction, then tell the subscribers. ``lazy`` (the
        end of a turn of the loop): when the only moves are to ``running``, they wait up to
        :data:`RUNNING_WRITE_DELAY` for what comes next (a short job's end, the next job's ``queued``) and go in
        the same transaction; each keeps the time it happened. A runner that dies in between leaves the attempt
        ``queued`` without a handle, which a resume finds again (``JobType.find``), so nothing is lost."""
        if not (self._dirty or self._run_dirty or self._transitions or self._done_requests or self._removed):
            self._emit()
            return
        if lazy and self._transitions and not (self._run_dirty or self._done_requests or self._removed) \
                and all(t.state is JobState.RUNNING for t in self._transitions):
            now = time.monotonic()
            if self._flush_by is None:
                self._flush_by = now + RUNNING_WRITE_DELAY
            if now < self._flush_by:
                return
        self._flush_by = None
        jobs = list(self._dirty.values())
        run = self.run if self._run_dirty else None
        try:
            self.store.write(run, jobs, self._transitions, self._done_requests, self._removed)
        except StoreError as exc:
            self.error = exc
            raise
        finally:
            self._dirty = {}
            self._run_dirty = False
            self._transitions = []
            self._done_requests = []
            self._removed = []
        self._emit()

    def _emit(self) -> None:
        if self._events:
            events, self._events = self._events, []
            self._log_event_bytes = 0
            self.bus.emit(events)

    def wait_stopped(self, timeout: Optional[float] = None) -> bool:
        return self._stopped.wait(timeout)

    def records(self) -> Iterator[JobRecord]:
        return (j.record for j in self.jobs.values())


def _rest_of_log(job_type: JobType, request: LogRequest) -> Iterator[LogChunk]:
    """An ended job's log from ``request.offset`` to its end, one read after the other (a read returns at most the
    job type's limit). A failing read ends it: the job's end matters more than its last lines."""
    for _ in range(_FINAL_READS):
        try:
            chunks = job_type.read_logs([request])
        except Exception:  # noqa: BLE001
            return
        chunk = next((c for c in chunks if c.key == request.key), None)
        if chunk is None or chunk.offset <= request.offset:
            return
        yield chunk
        request = replace(request, offset=chunk.offset)


def _said(exc: BaseException) -> str:
    """An exception in words: cc's own message, else its type and text."""
    return exc.message if isinstance(exc, CCError) else f"{type(exc).__name__}: {exc}"
