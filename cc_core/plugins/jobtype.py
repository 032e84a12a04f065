"""The job-type contract: how cc starts, follows, cancels and reads the log of a job somewhere.

A job type (local, ssh, slurm, wsl, ...) subclasses :class:`JobType` and is registered by a plugin through
``cc_register_job_types``. The engine only ever talks to this class:

* :meth:`JobType.submit` starts one attempt of a job and returns a :data:`Handle`, a JSON-able dict (pid and start
  time, SLURM job id, host + remote pid + folder). The store keeps it; from the handle alone, in a new process,
  :meth:`JobType.check` finds the job again — that is all "resume" needs.
* :meth:`JobType.check` is given *all* active jobs of this type and answers what changed among them, in one
  batch (one ``squeue``, one remote command per host). A job type may also push updates as they happen through
  the sink given to :meth:`JobType.start` (the local job type does, as processes exit); the engine treats both
  the same.
* :meth:`JobType.cancel` ends the job's whole process tree (process group, remote tree, ``scancel``).
* :meth:`JobType.read_logs` reads each log on from an offset, so progress lines are parsed as they appear and a
  resumed run reads on where it stopped.

A job type with ``blocking = True`` (the default) is only ever called from a worker thread of its own, so slow
calls (ssh, sbatch) never hold up the engine. All its methods are called from that one thread.

Whatever a job type's method raises ends up in a job's state, never in a hang: a failing ``start`` or ``submit``
fails the attempt ("could not start: ..."), a failing ``cancel`` fails the job it was to cancel, a ``check`` that
keeps failing for longer than :attr:`JobType.check_retry_window` fails the jobs it follows, and a failing last
``read_logs`` of an ended job leaves its end as reported.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Optional, Sequence, Union

from pydantic import BaseModel

from cc_core.workflow.model import JobSpec
from cc_core.states import JobState

if TYPE_CHECKING:
    from cc_core.environments.host import EnvironmentHost

Handle = dict[str, Any]
"""What a job type needs to find a submitted job again; stored as JSON."""


@dataclass(frozen=True)
class Launch:
    """Everything a job type needs to start one attempt of a job."""

    run_id: int
    workflow: str
    job: JobSpec
    attempt: int
    job_dir: Path          # this job's own local folder in the run (log, staged script, exit-code file)
    workflow_dir: Path     # where the workflow file is; relative script paths start here
    log_path: Path         # where the job's stdout and stderr go (locally; a remote job type fetches into it)
    env: Mapping[str, str]  # CC_RUN_ID, CC_JOB, CC_ATTEMPT, ... plus the job's own env

    @property
    def key(self) -> str:
        return self.job.name

    def script_path(self) -> Optional[Path]:
        """The script or notebook file, resolved against the workflow's folder (``None`` for a command)."""
        name = self.job.script or self.job.notebook
        if not name:
            return None
        path = Path(os.path.expanduser(name))
        return path if path.is_absolute() else self.workflow_dir / path


@dataclass(frozen=True)
class ActiveJob:
    """A submitted attempt the engine is following."""

    key: str
    attempt: int
    handle: Handle
    job: JobSpec
    job_dir: Path
    log_path: Path


@dataclass(frozen=True)
class JobUpdate:
    """A change a job type reports: the job started running, or ended (with its exit code)."""

    key: str
    attempt: int
    state: JobState
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    handle: Optional[Handle] = None  # a replacement handle, when the job type learned more (e.g. a remote pid)
    detail: Optional[str] = None     # shown while queued/running, e.g. SLURM's pending reason
    started: bool = True
    """``False`` with ``FAILED``: the attempt's process could not be made at all (a job type that starts jobs after
    :meth:`JobType.submit` returned, and learned it failed): the job fails as "could not start: REASON" without
    ever being ``running``, as when ``submit`` itself raises."""

    def __post_init__(self) -> None:
        if self.state not in (JobState.QUEUED, JobState.RUNNING, JobState.DONE, JobState.FAILED, JobState.KILLED):
            raise ValueError(f"a job type reports queued, running, done, failed or killed, not {self.state.value}")


@dataclass(frozen=True)
class LogRequest:
    key: str
    attempt: int
    handle: Handle
    log_path: Path
    offset: int
    final: bool = False   # the job has ended: a last line without a newline is complete too


@dataclass(frozen=True)
class LogChunk:
    key: str
    data: bytes
    offset: int  # where the next read starts


UpdateSink = Callable[[JobUpdate], None]


@dataclass
class JobTypeContext:
    """What cc tells a job type when it creates it."""

    home: Path                           # CC_HOME
    options: dict[str, Any] = field(default_factory=dict)


class JobType(ABC):
    """Base class of every job type. Subclasses set :attr:`name` and implement the four abstract methods."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    blocking: ClassVar[bool] = True
    """``True``: every call may block (network, commands), so the engine calls it from a worker thread."""
    poll_interval: ClassVar[float] = 1.0
    """Seconds between two :meth:`check` calls while this job type has active jobs."""
    log_interval: ClassVar[float] = 0.5
    check_retry_window: ClassVar[float] = 300.0
    """Seconds :meth:`check` may keep raising (a host or controller away) before the jobs it follows fail with its
    error as reason. Until then each failed check is tried again on the next poll."""
    """Seconds between two :meth:`read_logs` calls for running jobs."""
    starts_running: ClassVar[bool] = False
    """``True`` when a job runs as soon as :meth:`submit` returns (no queue in between, as for local processes)."""
    makes_job_dir: ClassVar[bool] = False
    """``True`` when :meth:`submit` creates the job's folder itself (``launch.job_dir``, with its parents) where
    the job starts; otherwise the engine creates it before the submit. A function call's folder is always created
    by the engine (its payload is written there first)."""
    settings_model: ClassVar[Optional[type[BaseModel]]] = None
    """A pydantic model of this job type's settings (``job_types: {NAME: {...}}`` in ``config.yaml``). When set,
    cc checks the settings before any run (unknown keys and wrong values are reported with file and line) and
    :attr:`JobTypeContext.options` holds only checked values."""

    def check_delay(self, since_submit: float) -> float:
        """Seconds until the next :meth:`check`, given the seconds since the newest submission of this job type
        began a quick schedule (large when none did lately). Default: :attr:`poll_interval` always. A job type
        whose short jobs often end within the first interval may check sooner while they are young."""
        return self.poll_interval

    def __init__(self, context: JobTypeContext) -> None:
        self.context = context

    def start(self, sink: UpdateSink) -> None:
        """Called once before the first submit. A job type that learns of changes by itself calls ``sink`` (from
        any thread) with a :class:`JobUpdate` for each."""

    def begin(self, run_folder: Path) -> None:
        """Called on the engine's thread as a run that has jobs of this type begins (or is resumed), before its
        first submit: a job type may start per-run work in the background here (the ``local`` one starts the run's
        supervisor, so that it is ready by the first submit). It must not block. The default does nothing."""

    def stop(self) -> None:
        """Called once when the run ends or the engine detaches. Close connections; never end running jobs."""

    def validate(self, job: JobSpec, workflow_dir: Path) -> list[str]:
        """Problems with ``job`` found before anything runs (a missing script, an impossible resource request).
        Each string is a full sentence; an empty list means the job can be submitted."""
        problems: list[str] = []
        name = job.script or job.notebook
        if name:
            path = Path(os.path.expanduser(name))
            path = path if path.is_absolute() else workflow_dir / path
            what = "script" if job.script else "notebook"
            if path.is_dir():
                problems.append(f"{what} '{name}' is a folder, not a file ({path})")
            elif path.exists() and not path.is_file():
                problems.append(f"{what} '{name}' is not a regular file (a device or a pipe: {path})")
            elif not path.is_file():
                problems.append(f"{what} '{name}' does not exist (looked for {path})")
        for field, value in (("requirements", job.requirements), ("conda", job.conda)):
            if isinstance(value, str) and (field == "requirements" or value.endswith((".yml", ".yaml"))):
                path = Path(os.path.expanduser(value))
                path = path if path.is_absolute() else workflow_dir / path
                if not path.is_file():
                    problems.append(f"{field} file '{value}' does not exist (looked for {path})")
        return problems

    def show_script(self, launch: Launch) -> Optional[str]:
        """The text of what :meth:`submit` would run (a batch script, a wrapper), for ``ccw show-script``."""
        return None

    def describe(self) -> dict[str, Any]:
        """Extra facts for ``ccw plugins`` (e.g. WSL distributions found)."""
        return {}

    def environment_host(self, job: JobSpec) -> "EnvironmentHost":
        """Where the environment of a job that asks for one (``requirements:``, ``conda:``) is checked and built:
        the host the job will run on, as an :class:`~cc_core.environments.host.EnvironmentHost` (a label, the cache
        folder there, a way to run one shell command there). Called on the engine's thread, so it must not block
        (open connections lazily); the host's ``run`` is called from a background thread and may.

        The default is this machine, with the cache in ``$CC_HOME/envs`` (the job's or the job type's option
        ``environments``, or the settings file's ``environments: {localhost: FOLDER}``, say otherwise). A job type
        whose jobs run elsewhere returns that host (see :class:`~cc_core.environments.host.ShellEnvironmentHost`).
        """
        from cc_core.environments.host import LocalEnvironmentHost, conda_roots_option, root_option

        root = root_option(self.context.options, job.options, str(self.context.home / "envs"), "localhost",
                           self.context.home)
        return LocalEnvironmentHost(Path(os.path.expanduser(root)),
                                    conda_roots_option(self.context.options, job.options))

    def find(self, launch: Launch) -> Optional[Handle]:
        """Look for an attempt that may have been submitted just before the process driving the run died: the store
        says the attempt was being submitted but holds no handle. Return its handle when it exists (it is then
        followed like any other), or ``None`` when it never started (it is then submitted). The default finds
        nothing."""
        return None

    @abstractmethod
    def submit(self, launch: Launch) -> Handle:
        """Start one attempt of a job and return its handle. Raise :class:`cc_core.errors.JobTypeError` when the
        job cannot be started; the attempt then fails with that message as reason.

        A job type may also hand the start to something else and return at once: its handle then says
        ``"pending": True``, the job stays ``queued``, and the job type reports the start later through the sink
        (a ``RUNNING`` update carrying the full handle, or a ``FAILED`` one with ``started=False``). On resume an
        attempt whose recorded handle is still pending is looked for with :meth:`find`, as one without a handle."""

    def submit_many(self, launches: Sequence[Launch]) -> list[Union[Handle, BaseException]]:
        """Submit several attempts at once: for each launch, in order, its handle or what its submit raised. A
        blocking job type that overrides this gets every submission waiting for its worker in one call (sent
        together, e.g. one round trip per host); the default submits them one by one and is never batched."""
        results: list[Union[Handle, BaseException]] = []
        for launch in launches:
            try:
                results.append(self.submit(launch))
            except Exception as exc:  # noqa: BLE001 - the attempt fails with it
                results.append(exc)
        return results

    @abstractmethod
    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        """What changed among ``active`` (all active jobs of this type, possibly from an earlier process).

        Return an update for each job whose state differs from what the engine last heard (a job known only as
        queued that now runs, or any job that ended, with its exit code). Jobs not mentioned are unchanged.
        """

    @abstractmethod
    def cancel(self, active: Sequence[ActiveJob]) -> None:
        """End these jobs and everything they started. The end is then reported as ``killed`` through
        :meth:`check` or the sink."""

    @abstractmethod
    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        """The bytes of each log from its offset on (only complete lines need be returned)."""


def read_log_files(requests: Sequence[LogRequest]) -> list[LogChunk]:
    """:func:`read_log_file` for each log that grew past its offset (logs that did not are left out)."""
    chunks = []
    for request in requests:
        try:
            size = os.stat(request.log_path).st_size
        except OSError:
            continue
        if size > request.offset:
            chunks.append(read_log_file(request))
    return chunks


def read_log_file(request: LogRequest, limit: int = 4 << 20) -> LogChunk:
    """Read a local log file from ``request.offset`` up to the last complete line (at most ``limit`` bytes; for an
    ended job's ``final`` request, up to the end)."""
    try:
        with open(request.log_path, "rb") as handle:
            handle.seek(request.offset)
            data = handle.read(limit)
    except FileNotFoundError:
        return LogChunk(request.key, b"", request.offset)
    if request.final:
        return LogChunk(request.key, data, request.offset + len(data))
    end = data.rfind(b"\n")
    if end < 0:
        return LogChunk(request.key, b"", request.offset) if len(data) < limit else \
            LogChunk(request.key, data, request.offset + len(data))
    data = data[: end + 1]
    return LogChunk(request.key, data, request.offset + len(data))


def write_log_at(path: Path, offset: int, data: bytes) -> None:
    """Keep the local copy of a remote job's log: ``data`` read from the host lands at ``offset``, where it stands
    in the remote log (writing the same bytes twice is harmless). Plain seek and write, since ``os.pwrite`` does
    not exist on Windows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = open(path, "r+b")
    except FileNotFoundError:
        handle = open(path, "wb")
    with handle:
        handle.seek(offset)
        handle.write(data)
