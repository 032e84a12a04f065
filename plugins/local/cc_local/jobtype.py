"""The ``local`` job type."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field

from cc_core.environments.spec import is_python_version
from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import (ActiveJob, Handle, JobType, JobTypeContext, JobUpdate, Launch, LogChunk, LogRequest,
                             UpdateSink, read_log_files)
from cc_core.workflow.model import JobSpec
from cc_core.workflow.resources import resource_problems
from cc_core.states import JobState
from cc_local.launch import ProcessPlan, attempt_files, describe, executable_problems, plan_process, python_for
from cc_local.process_ops import TAG_VARIABLE, ExitWatching, ProcessOps, current
from cc_local.pid_file import discard_pid_file, fill_pid_file, open_pid_file
from cc_local.exit_file import make_folder, prepare_exit_file, read_exit_file, read_pid_line
from cc_local.supervisor_client import SupervisorClient, SupervisorGone

log = logging.getLogger(__name__)

_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)   # open(path, "ab")


class LocalSettings(BaseModel):
    """Settings of the ``local`` job type (``job_types: {local: {...}}`` in config.yaml)."""

    model_config = ConfigDict(extra="forbid")

    kill_grace: float = Field(default=3.0, ge=0, allow_inf_nan=False)
    """Seconds between SIGTERM and SIGKILL when a job is killed."""


class LocalJobType(JobType):
    name = "local"
    settings_model = LocalSettings
    description = "processes on this machine: .sh, .py, .ipynb and commands"
    blocking = False
    starts_running = False   # a job runs once its start is confirmed: a `running` update (see submit)
    makes_job_dir = True     # where the job starts: by the run's supervisor, off the engine's thread
    poll_interval = 1.0
    log_interval = 0.2

    def __init__(self, context: JobTypeContext, ops: Optional[ProcessOps] = None) -> None:
        super().__init__(context)
        self.ops = ops if ops is not None else current()
        """The platform's process operations; Linux: every run's jobs are started, reaped and killed by a
        supervisor of the run (cc_local.supervisor), where ``ops.supervised``."""
        self.kill_grace = float(context.options.get("kill_grace", 3.0))
        self._sink: Optional[UpdateSink] = None
        self._watcher: Optional[ExitWatching] = None
        self._watched: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._null: Optional[int] = None
        self._clients: dict[Path, SupervisorClient] = {}
        self._unsupervised: set[Path] = set()   # run folders whose supervisor could not be started

    def start(self, sink: UpdateSink) -> None:
        self._sink = sink
        self._watcher = self.ops.exit_watcher()

    def begin(self, run_folder: Path) -> None:
        """The run's supervisor starts now, in the background, while the engine prepares the first submit."""
        client = self._client(run_folder) if self.ops.supervised else None
        if client is None:
            return
        try:
            client.start_early()
        except OSError as exc:
            log.warning("the supervisor of %s could not be started: %s", run_folder, exc)

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        if self._null is not None:
            os.close(self._null)
            self._null = None

    def _devnull(self) -> int:
        """Every job's standard input: /dev/null, opened once rather than once per job."""
        if self._null is None:
            self._null = os.open(os.devnull, os.O_RDWR)
        return self._null

    def validate(self, job: JobSpec, workflow_dir: Path) -> list[str]:
        problems = super().validate(job, workflow_dir)
        if job.python and not is_python_version(job.python) and not Path(os.path.expanduser(job.python)).exists() \
                and not _on_path(job.python):
            problems.append(f"python '{job.python}' does not exist")
        if job.venv and not Path(os.path.expanduser(job.venv)).is_dir():
            problems.append(f"venv '{job.venv}' does not exist")
        if job.script and not problems:
            problems.extend(executable_problems(job.script, workflow_dir))
        problems += resource_problems(job.options)
        if job.notebook and (job.venv or job.python):
            problems.extend(_notebook_runner_problems(job))
        elif job.notebook:
            try:
                import nbclient  # noqa: F401
            except ImportError:
                problems.append("running notebooks needs nbclient: pip install 'cc-plugin-local[notebook]'")
        return problems

    def describe(self) -> dict[str, Any]:
        if not self.ops.supervised:
            return {"process tracking": self.ops.tracking}
        from cc_local.cgroup import cgroup_base

        base = cgroup_base()
        return {"process tracking": f"cgroup v2 per job under {base}" if base else "child subreaper"}

    def show_script(self, launch: Launch) -> Optional[str]:
        return describe(plan_process(launch, supervised=self.ops.supervised))

    def submit(self, launch: Launch) -> Handle:
        client = self._supervisor(launch.job_dir.parent) if self.ops.supervised else None
        if client is not None:
            return self._submit_supervised(client, launch, plan_process(launch, supervised=True))
        plan = plan_process(launch)
        try:
            make_folder(str(launch.job_dir))
            prepare_exit_file(plan.exit_file)
            # Plain file descriptors, not file objects: this is on the path of every job.
            log = os.open(launch.log_path, _LOG_FLAGS, 0o666)
        except OSError as exc:
            raise JobTypeError(f"cannot write {exc.filename}: {exc.strerror}", job=launch.key) from None
        # The runner writes the pid file too (the wrapper writes the same pid a moment later): if the runner dies
        # just after the start, `find` still knows the attempt started and never starts it twice. The file is
        # created before the start (`find` reads an empty one as "not started"), so that afterwards only the pid
        # is written, without racing the new process for its folder.
        pid_fd = open_pid_file(plan.pid_file)
        tag = plan.env[TAG_VARIABLE] = secrets.token_hex(8)   # finds what leaves the job's group or session
        before = self.ops.clock()
        try:
            process = self._spawn(plan, log, launch.key)
            after = self.ops.clock()
            self.ops.adopt(process, tag)
        except OSError as exc:
            discard_pid_file(pid_fd, plan.pid_file)
            raise JobTypeError(f"cannot start: {exc}", job=launch.key) from None
        except BaseException:
            discard_pid_file(pid_fd, plan.pid_file)
            raise
        finally:
            os.close(log)
        fill_pid_file(pid_fd, process.pid)
        start = self.ops.start_time_between(process.pid, before, after)
        handle: Handle = {"pid": process.pid, "start": start, "pid_file": plan.pid_file,
                          "exit_file": plan.exit_file, "tag": tag}
        key, attempt = launch.key, launch.attempt
        with self._lock:
            self._watched.add((key, attempt))
        assert self._watcher is not None, "start() is called before submit()"
        self._watcher.watch(process, process.pid, start, lambda code: self._ended(key, attempt, code, None))
        self._tell(JobUpdate(key, attempt, JobState.RUNNING))
        return handle

    # ------------------------------------------------------------------------------------------------ supervised
    def _supervisor(self, run_folder: Path, start: bool = True) -> Optional[SupervisorClient]:
        """The connection to the supervisor of ``run_folder``; ``None`` when there is none (and ``start`` is
        false) or it cannot be started."""
        client = self._client(run_folder)
        if client is None:
            return None
        try:
            return client if client.connect(start=start) else None
        except (SupervisorGone, OSError) as exc:
            log.warning("%s; jobs of %s are started without a supervisor", exc, run_folder)
            with self._lock:
                self._unsupervised.add(run_folder)
            return None

    def _client(self, run_folder: Path) -> Optional[SupervisorClient]:
        """The (maybe not yet connected) client of ``run_folder``'s supervisor; ``None`` for a run folder whose
        supervisor could not be started."""
        with self._lock:
            if run_folder in self._unsupervised:
                return None
            client = self._clients.get(run_folder)
            if client is None:
                client = self._clients[run_folder] = SupervisorClient(run_folder, self._supervisor_event)
            return client

    def _submit_supervised(self, client: SupervisorClient, launch: Launch, plan: ProcessPlan) -> Handle:
        """Hand the start to the run's supervisor and return at once with a pending handle: the supervisor writes
        the pid into the exit-code file before it answers (from then on `find` knows the attempt started), and the
        answer arrives as a ``running`` update with the full handle, or a failure to start (:meth:`_spawned`)."""
        key, attempt = launch.key, launch.attempt
        tag = secrets.token_hex(8)
        absolute = os.path.abspath  # the supervisor may have started elsewhere
        request = {"op": "spawn", "key": key, "attempt": attempt, "argv": plan.argv, "cwd": absolute(plan.cwd),
                   "log": absolute(launch.log_path),
                   "exit_file": absolute(plan.exit_file), "keep_orphans": launch.job.keep_orphans,
                   "command": launch.job.command if plan.argv[0] != "/bin/sh" else None,
                   "grace": max(0.0, self.kill_grace), "tag": tag, "job_dir": absolute(launch.job_dir)}
        handle: Handle = {"pid": None, "start": None, "pid_file": plan.pid_file, "exit_file": plan.exit_file,
                          "tag": tag, "supervisor": str(launch.job_dir.parent), "pending": True}
        with self._lock:
            self._watched.add((key, attempt))
        try:
            client.send(request, lambda answer: self._spawned(launch, request, plan.env, handle, answer, retry=True),
                        extra_env=plan.env)
        except SupervisorGone as exc:
            self._spawned(launch, request, plan.env, handle, {"ok": False, "lost": True, "error": str(exc)},
                          retry=True)
        return handle

    def _spawned(self, launch: Launch, request: dict[str, Any], env: dict[str, str], handle: Handle,
                 answer: dict[str, Any], retry: bool) -> None:
        """The supervisor's answer to a start (on its connection's reader thread): the job runs, could not start,
        or the supervisor went away before it answered."""
        key, attempt = launch.key, launch.attempt
        if answer.get("lost"):
            # Whether it started is found out off the reader thread (`find`: the supervisor, else the pid it writes
            # into the exit-code file before it answers); one that did not is asked for again, once.
            threading.Thread(target=self._recover, args=(launch, request, env, handle, str(answer.get("error")), retry),
                             name="cc-local-recover", daemon=True).start()
            return
        if not answer.get("ok"):
            reason = f"{answer['what']} '{answer['missing']}' does not exist" if answer.get("missing") \
                else str(answer.get("error"))
            self._report_end(JobUpdate(key, attempt, JobState.FAILED, None, reason, started=False))
            return
        full = {**{k: v for k, v in handle.items() if k != "pending"}, "pid": int(answer["pid"]),
                "start": answer.get("start"), "tag": answer.get("tag") or handle["tag"]}
        self._tell(JobUpdate(key, attempt, JobState.RUNNING, handle=full))
        if answer.get("again") and answer.get("code") is not None:
            # started before and ended already: its end is told now, as it will not be pushed again
            self._report_end(_update_from(key, attempt, answer))

    def _recover(self, launch: Launch, request: dict[str, Any], env: dict[str, str], handle: Handle, error: str,
                 retry: bool) -> None:
        key, attempt = launch.key, launch.attempt
        found = self.find(launch)
        if found is not None:
            with self._lock:
                self._watched.discard((key, attempt))   # followed by `check` from now on
            self._tell(JobUpdate(key, attempt, JobState.RUNNING, handle={**found, "tag": handle["tag"],
                                                                          "supervisor": handle["supervisor"]}))
            return
        client = self._supervisor(launch.job_dir.parent) if retry else None
        if client is not None:
            try:
                client.send(request, lambda answer: self._spawned(launch, request, env, handle, answer, retry=False),
                            extra_env=env)
                return
            except SupervisorGone as exc:
                error = str(exc)
        self._report_end(JobUpdate(key, attempt, JobState.FAILED, None, f"could not start: {error}", started=False))

    def _tell(self, update: JobUpdate) -> None:
        if self._sink is not None:
            self._sink(update)

    def _report_end(self, update: JobUpdate) -> None:
        """An attempt ended (or never started): no longer ours to watch, and the engine is told."""
        with self._lock:
            self._watched.discard((update.key, update.attempt))
        self._tell(update)

    def _supervisor_event(self, event: dict[str, Any]) -> None:
        if event.get("event") != "ended":
            return
        self._report_end(_update_from(str(event["key"]), int(event["attempt"]), event))

    def _check_supervised(self, job: ActiveJob) -> Optional[JobUpdate] | bool:
        """Ask the job's supervisor about it: an update when it ended, ``True`` when it runs (its end is pushed),
        ``False`` when no supervisor knows it any more."""
        facts = self._facts(Path(job.handle["supervisor"]), job.key, job.attempt)
        if facts is None or facts.get("tag") != job.handle.get("tag"):
            return False
        if facts.get("code") is None:
            with self._lock:
                self._watched.add((job.key, job.attempt))
            return True
        return _update_from(job.key, job.attempt, facts)

    def _facts(self, run_folder: Path, key: str, attempt: int) -> Optional[dict[str, Any]]:
        """What the run's supervisor (when one runs) knows of an attempt it started, else ``None``."""
        client = self._supervisor(run_folder, start=False)
        if client is None:
            return None
        try:
            return client.request({"op": "job", "key": key, "attempt": attempt}).get("job")
        except SupervisorGone:
            return None

    def _spawn(self, plan: ProcessPlan, log: int, key: str) -> "subprocess.Popen[bytes]":
        try:
            return subprocess.Popen(plan.program, cwd=plan.cwd, env=plan.env, stdin=self._devnull(), stdout=log,
                                    stderr=subprocess.STDOUT, close_fds=True, **self.ops.spawn_options())
        except FileNotFoundError as exc:
            missing = plan.cwd if not os.path.isdir(plan.cwd) else (exc.filename or plan.argv[0])
            what = "working directory" if missing == plan.cwd else "program"
            raise JobTypeError(f"{what} '{missing}' does not exist", job=key) from None
        except OSError as exc:
            raise JobTypeError(f"cannot start: {exc.strerror}", job=key) from None

    def _ended(self, key: str, attempt: int, code: int, lost: Optional[str]) -> None:
        if lost is not None:
            self._report_end(JobUpdate(key, attempt, JobState.FAILED, None, lost))
        else:
            self._report_end(JobUpdate(key, attempt, JobState.DONE if code == 0 else JobState.FAILED, code))

    def find(self, launch: Launch) -> Optional[Handle]:
        if self.ops.supervised:
            known = self._known_to_supervisor(launch.job_dir.parent, launch.key, launch.attempt)
            if known is not None:
                return known
        return self._found(launch.job_dir, launch.attempt)

    def _known_to_supervisor(self, run_folder: Path, key: str, attempt: int) -> Optional[Handle]:
        """The handle of an attempt the run's supervisor (when one runs) started."""
        facts = self._facts(run_folder, key, attempt)
        if facts is None:
            return None
        pid_file, exit_file = attempt_files(run_folder / key, attempt)
        return {"pid": int(facts["pid"]), "start": facts.get("start"), "pid_file": str(pid_file),
                "exit_file": str(exit_file), "tag": facts.get("tag"), "supervisor": str(run_folder)}

    def _with_pid(self, job: ActiveJob) -> Optional[Handle]:
        """The job's handle with its pid: as recorded, or for a start never confirmed what the pid it left says
        (``None`` when it left none: it never started)."""
        if job.handle.get("pid") is not None:
            return job.handle
        found = self._found(job.job_dir, job.attempt)
        return None if found is None else {**job.handle, **found}

    def _found(self, job_dir: Path, attempt: int) -> Optional[Handle]:
        """The handle of an attempt whose pid file holds its pid (it started), else ``None``."""
        pid_file, exit_file = attempt_files(job_dir, attempt)
        try:
            pid = int(pid_file.read_text(encoding="utf-8").strip())
            written = pid_file.stat().st_mtime
        except (OSError, ValueError):
            # started by the run's supervisor: the pid is in the exit-code file (cc_local.exit_file)
            supervised = read_pid_line(exit_file)
            if supervised is None:
                return None
            pid = supervised
            try:
                written = exit_file.stat().st_mtime
            except OSError:
                return None
        # a process that started after its pid file was written got that pid later: it is not this job's
        start = self.ops.start_time_if_started_by(pid, written)
        return {"pid": pid, "start": start, "pid_file": str(pid_file),
                "exit_file": str(exit_file), "found": True}

    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        updates: list[JobUpdate] = []
        for job in active:
            with self._lock:
                if (job.key, job.attempt) in self._watched:
                    continue  # a child of ours: its exit is pushed as it happens
            handle = self._with_pid(job)
            if handle is None:
                updates.append(JobUpdate(job.key, job.attempt, JobState.FAILED, None,
                                         "lost: its start was never confirmed", started=False))
                continue
            if self.ops.supervised and handle.get("supervisor"):
                known = self._check_supervised(job)
                if isinstance(known, JobUpdate):
                    updates.append(known)
                elif known is True:   # it runs (found again after a resume): from now on its end is pushed
                    updates.append(JobUpdate(job.key, job.attempt, JobState.RUNNING))
                if known is not False:
                    continue
            pid = int(handle["pid"])
            exit_file = Path(handle["exit_file"])
            start = handle.get("start")
            # a pid read from a pid file with no start time found no process of this job (cc_local.process_ops)
            if (start is not None or not handle.get("found")) and self.ops.is_alive(pid, start):
                # Found again after a resume: from now on its exit is pushed too.
                with self._lock:
                    self._watched.add((job.key, job.attempt))
                key, attempt = job.key, job.attempt
                assert self._watcher is not None
                self._watcher.watch(None, pid, handle.get("start"),
                                    lambda code, k=key, a=attempt: self._foreign_ended(k, a, exit_file),
                                    lambda: read_exit_file(exit_file))
                updates.append(JobUpdate(key, attempt, JobState.RUNNING))
                continue
            updates.append(self._outcome(job.key, job.attempt, exit_file))
        return updates

    def _foreign_ended(self, key: str, attempt: int, exit_file: Path) -> None:
        self._report_end(self._outcome(key, attempt, exit_file))

    @staticmethod
    def _outcome(key: str, attempt: int, exit_file: Path) -> JobUpdate:
        code = read_exit_file(exit_file)
        if code is None:
            return JobUpdate(key, attempt, JobState.FAILED, None,
                             "lost: the process ended while cc was not watching and left no exit code")
        return JobUpdate(key, attempt, JobState.DONE if code == 0 else JobState.FAILED, code)

    def cancel(self, active: Sequence[ActiveJob]) -> None:
        by_folder: dict[str, list[ActiveJob]] = {}
        for job in active:
            if self.ops.supervised and job.handle.get("supervisor"):
                by_folder.setdefault(str(job.handle["supervisor"]), []).append(job)
        for folder, jobs in by_folder.items():
            # The supervisor sends SIGTERM now and SIGKILL after the grace period, whether or not we are still there.
            client = self._supervisor(Path(folder))
            entries = [{"key": j.key, "attempt": j.attempt, "pid": j.handle.get("pid"), "start": j.handle.get("start"),
                        "tag": j.handle.get("tag")} for j in jobs]
            try:
                if client is not None:
                    client.request({"op": "kill", "jobs": entries, "grace": max(0.0, self.kill_grace)})
                    continue
            except SupervisorGone:
                pass
            self._cancel_directly(jobs)
        self._cancel_directly([j for j in active if not (self.ops.supervised and j.handle.get("supervisor"))])

    def _cancel_directly(self, active: Sequence[ActiveJob]) -> None:
        for job in active:
            handle = self._with_pid(job) or {**job.handle, "pid": 0}   # no pid known: only its tag finds it
            pid, start, tag = int(handle["pid"]), handle.get("start"), handle.get("tag")
            # pid and start time name the main process; what carries the job's tag is the job's whatever its pid
            if self.ops.kill_job(pid, start, tag, signal.SIGTERM) and self.kill_grace >= 0:
                self.ops.kill_job_later(pid, start, tag, self.kill_grace)

    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        return read_log_files(requests)


def _update_from(key: str, attempt: int, facts: dict[str, Any]) -> JobUpdate:
    code = facts.get("code")
    code = int(code) if code is not None else None
    if facts.get("killed"):
        return JobUpdate(key, attempt, JobState.KILLED, code, "killed")
    return JobUpdate(key, attempt, JobState.DONE if code == 0 else JobState.FAILED, code)


def _on_path(program: str) -> bool:
    import shutil

    return shutil.which(program) is not None


__all__ = ["LocalJobType", "python_for"]


_RUNNER_CHECKED: dict[str, Optional[str]] = {}


def _notebook_runner_problems(job: JobSpec) -> list[str]:
    """A notebook job with its own ``venv``/``python`` runs cc's notebook runner (``cc_local.notebook``, which needs
    nbclient) with that interpreter: say before the run, not inside it, when that interpreter lacks it."""
    python = _interpreter(job)
    if python is None or not Path(python).exists() and not _on_path(python):
        return []    # a missing interpreter is reported on its own
    if python not in _RUNNER_CHECKED:
        try:
            probe = subprocess.run([python, "-c", "import cc_local.notebook, nbclient"], capture_output=True,
                                   text=True, encoding="utf-8", errors="replace", timeout=60,
                                   stdin=subprocess.DEVNULL)
            _RUNNER_CHECKED[python] = None if probe.returncode == 0 else (probe.stderr.strip().splitlines() or [""])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            _RUNNER_CHECKED[python] = str(exc)
    missing = _RUNNER_CHECKED[python]
    if missing is None:
        return []
    where = f"venv '{job.venv}'" if job.venv else f"python '{job.python}'"
    pip = (str(Path(python).with_name("pip")) if job.venv else f"{python} -m pip")
    return [f"the notebook runs with the Python of {where}, which lacks cc's notebook runner ({missing}): "
            f"install it there with: {pip} install 'cc-plugin-local[notebook]' (from cc's plugins/local folder)"]


def _interpreter(job: JobSpec) -> Optional[str]:
    if job.venv:
        venv = Path(os.path.expanduser(job.venv))
        return str(venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    return os.path.expanduser(job.python) if job.python else None
