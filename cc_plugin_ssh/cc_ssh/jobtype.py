"""The ``ssh`` job type: a job runs on the host its ``host:`` names, detached under a small wrapper.

* submit: make the remote job folder, copy the script and the inputs, start the wrapper detached; the handle
  (host, folder, pid, log) is all a later process needs to find the job again.
* check: one remote command per host answers for every active job there; an ended job's outputs are copied back
  before its end is reported. A host that cannot be reached leaves its jobs as they are (shown with a note) and
  is tried again on the next check: a dropped connection never loses a job.
* cancel: one remote command per host ends each job's whole process tree.
* read_logs: one remote command per host reads every log on from its offset; the bytes also go into the job's
  local log file, so ``ccw logs`` works as for local jobs.

With the host agent (:mod:`cc_ssh.agent`, on by default where the host has python3) submit is one round trip
over the open connection, and a job's log growth and end are pushed the moment they happen (:mod:`cc_ssh.watching`);
check and read_logs then only serve the jobs no agent watches (after the agent or the connection died, until a new
agent watches them again).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TypeVar, Union

import paramiko

from cc_core.environments.host import (DEFAULT_ROOT, EnvironmentHost, ShellEnvironmentHost, conda_roots_option,
                                       root_option)
from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import (ActiveJob, Handle, JobType, JobTypeContext, JobUpdate, Launch, LogChunk,
                                     LogRequest, UpdateSink, read_log_file, write_log_at)
from cc_core.workflow.model import JobSpec
from cc_core.states import JobState
from cc_ssh.agent import AgentLost, agent_for, close_agents
from cc_ssh.batch import LogRead, RemoteStatus, cancel_script, logs_script, parse_logs, parse_status, status_script
from cc_ssh.connection import FIRST_PAUSE, CommandTimeout, HostConnection
from cc_ssh.failures import HostUnavailable, disk_full, is_disk_full, with_job
from cc_ssh.job_folder import (find_script, folder_of, launch_script, parse_launch, parse_prepare,
                               prepare_script)
from cc_ssh.pool import POOL, ConnectionPool
from cc_ssh.remote import RemoteShell
from cc_ssh.settings import SSHSettings, settings_for
from cc_core.workflow.line_ends import warn_windows_line_ends
from cc_core.workflow.staging import missing_inputs
from cc_ssh.staging import fetch_outputs, split_plan, subfolders, upload_plan, workdir_of
from cc_ssh.target import HostTarget, resolution_problem
from cc_ssh.transfer import upload
from cc_ssh.watching import Watches
from cc_ssh.wrapper import bad_env_names, executed_notebook_name, script_name, wrapper_script

log = logging.getLogger(__name__)
T = TypeVar("T")
LOG_LIMIT = 1 << 20            # bytes of one log read per job while it runs
FINAL_LOG_LIMIT = 64 << 20     # ... and once it ended (the last read takes the rest)
MAX_PARALLEL_HOSTS = 8
MAX_TOGETHER = 16              # submissions sent at the same time (through the host agent)
MAX_TOGETHER_PLAIN = 4         # ... and as commands of their own, each a session of the connection
PLAIN_LOG_EVERY = 1.0          # seconds between two log reads by plain command of one host's unwatched jobs


class SSHJobType(JobType):
    name = "ssh"
    description = "runs jobs on other hosts over SSH (one connection per host, jobs detached under a wrapper)"
    blocking = True
    starts_running = True
    poll_interval = 1.0
    log_interval = 0.25            # watched jobs' logs are local copies; plain reads still go once a second

    def __init__(self, context: JobTypeContext, pool: Optional[ConnectionPool] = None) -> None:
        super().__init__(context)
        self.pool = pool or POOL
        self._used: dict[tuple[str, str, str], HostTarget] = {}
        self._notes: dict[tuple[str, int], Optional[str]] = {}       # what a running job's row says now
        self._pending_cancels: dict[tuple[str, int], ActiveJob] = {}  # cancels a host was not there for
        self._watches = Watches(self._finish_pushed, self._needs_copy)
        self._plain_logs_at: dict[int, float] = {}                    # connection -> when its logs were read

    # ------------------------------------------------------------------------------------------------ setup
    def settings(self, job: JobSpec) -> SSHSettings:
        try:
            return settings_for(self.context.options, job.options)
        except ValueError as exc:
            raise JobTypeError(str(exc), job=job.name,
                               hint="fix the job's 'options:' (or the ssh job type's options)") from None

    def _connection(self, target: HostTarget, settings: SSHSettings) -> HostConnection:
        self._used[target.key] = target
        return self.pool.get(target, accept_new_host_keys=settings.accept_new_host_keys,
                             connect_timeout=settings.connect_timeout, backoff_max=settings.reconnect_backoff_max)

    def _job_connection(self, job: JobSpec) -> tuple[HostConnection, SSHSettings]:
        settings = self.settings(job)
        return self._connection(HostTarget(job.host, job.user, settings.config_path), settings), settings

    def _handle_connection(self, handle: Handle, job: Optional[JobSpec]) -> tuple[HostConnection, SSHSettings]:
        """The connection a handle's job uses (its host, user and ssh config file were recorded at submit)."""
        try:
            settings = self.settings(job) if job is not None else settings_for(self.context.options)
        except (JobTypeError, ValueError):
            settings = SSHSettings()
        host = str(handle.get("host") or (job.host if job is not None else "localhost"))
        target = HostTarget(host, handle.get("user"), handle.get("ssh_config") or settings.config_path)
        return self._connection(target, settings), settings

    def start(self, sink: UpdateSink) -> None:
        self._watches.start(sink)

    def stop(self) -> None:
        self._watches.close()
        targets = list(self._used.values())
        close_agents([c for c in (self.pool.find(t) for t in targets) if c is not None])
        self.pool.close(targets)

    def describe(self) -> dict[str, Any]:
        return {"connections": [{"host": c.target.label, "connected": c.connected,
                                 "opened": c.connections_opened, "commands": c.commands_run,
                                 "agent": agent is not None,
                                 "agent_requests": agent.requests if agent is not None else 0}
                                for c in self.pool.connections() for agent in [agent_for(c, start=False)]]}

    # ------------------------------------------------------------------------------------------------ checks
    def validate(self, job: JobSpec, workflow_dir: Path) -> list[str]:
        problems = super().validate(job, workflow_dir)
        try:
            settings = settings_for(self.context.options, job.options)
        except ValueError as exc:
            return problems + [str(exc)]
        if "host" not in job.model_fields_set:
            where = settings.config_path or "~/.ssh/config"
            problems.append(f"an ssh job needs a host: give 'host:' as an alias from {where} or as user@server")
            return problems
        if "@" in job.host and job.user and job.host.split("@", 1)[0] != job.user:
            problems.append(f"host '{job.host}' names user '{job.host.split('@', 1)[0]}' but user: says "
                            f"'{job.user}'; give the user in one place")
        problem = resolution_problem(HostTarget(job.host, job.user, settings.config_path))
        if problem:
            problems.append(problem)
        if not job.depends:  # a job with parents may get its inputs from them
            problems += missing_inputs(job, workflow_dir)
        bad = bad_env_names(job)
        if bad:
            problems.append(f"env names {', '.join(repr(b) for b in bad)} cannot be passed to a remote shell "
                            "(use letters, digits and '_', not starting with a digit)")
        if job.script and not problems:
            script = Path(os.path.expanduser(job.script))
            warn_windows_line_ends(script if script.is_absolute() else workflow_dir / script, job.name, job.host,
                                   job.script)
        return problems

    def environment_host(self, job: JobSpec) -> EnvironmentHost:
        """The job's host over the pooled connection; the cache in ``~/.cc/envs`` there unless the option
        ``environments`` (or the settings file's ``environments: {HOST: FOLDER}``) says otherwise."""
        connection, settings = self._job_connection(job)
        shell = RemoteShell(connection)

        def run(command: str, timeout: float) -> tuple[int, str, str]:
            result = shell.run(command, timeout=timeout)
            return result.exit_code, result.stdout, result.stderr

        label = connection.target.label
        root = root_option(self.context.options, job.options, DEFAULT_ROOT, label, self.context.home)
        return ShellEnvironmentHost(label, root, run, conda_roots_option(self.context.options, job.options))

    def show_script(self, launch: Launch) -> Optional[str]:
        return wrapper_script(launch, launch.log_path.name)

    # ------------------------------------------------------------------------------------------------ submit
    def _owner(self, launch: Launch) -> str:
        """Names the cc run an attempt belongs to (so a retried submit finds it, and no other run wipes it)."""
        return f"{socket.gethostname()}:{self.context.home}:{launch.workflow}:{launch.run_id}:" \
               f"{launch.job.name}:{launch.attempt}"

    def submit(self, launch: Launch) -> Handle:
        """Submit, trying again while the host cannot be reached, for up to the ssh option ``reconnect_window``.
        Sending the submission again is always safe: making the job folder finds an attempt launched there
        already (its ``cc.owner``), so nothing starts twice."""
        settings = self.settings(launch.job)
        started = time.monotonic()
        pause = FIRST_PAUSE
        while True:
            try:
                handle = self._submit_once(launch)
                self._follow(launch, handle, settings)
                return handle
            except (HostUnavailable, CommandTimeout) as exc:
                waited = time.monotonic() - started
                remaining = settings.reconnect_window - waited
                if getattr(exc, "permanent", False) or remaining <= 0:
                    if waited < 0.1:
                        raise
                    raise type(exc)(f"{exc.bare} (tried for {waited:.0f} s)", job=exc.job,
                                    host=exc.host, hint=exc.hint) from None
                log.warning("%s; submitting again in %.1f s", exc.bare, min(pause, remaining))
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, settings.reconnect_backoff_max)
                connection, _ = self._job_connection(launch.job)
                connection.retry_now()

    def submit_many(self, launches: Sequence[Launch]) -> list[Union[Handle, BaseException]]:
        """Submit every waiting launch together: all are sent at once (to the host agent, which starts them side by
        side; each launch's own retries and checks as in :meth:`submit`), so many jobs of one host cost about one
        round trip instead of one each."""
        if len(launches) <= 1:
            return super().submit_many(launches)

        def one(launch: Launch) -> Union[Handle, BaseException]:
            try:
                return self.submit(launch)
            except Exception as exc:  # noqa: BLE001 - the attempt fails with it
                return exc

        # without an agent each submission is a session of its own: stay well under sshd's MaxSessions (10)
        connection, settings = self._job_connection(launches[0].job)
        agent = agent_for(connection) if settings.agent else None
        width = MAX_TOGETHER if agent is not None else MAX_TOGETHER_PLAIN
        with ThreadPoolExecutor(max_workers=min(width, len(launches)),
                                thread_name_prefix="cc-ssh-submit") as pool:
            return list(pool.map(one, launches))

    def _submit_once(self, launch: Launch) -> Handle:
        job = launch.job
        connection, settings = self._job_connection(job)
        host = connection.target.label
        missing = missing_inputs(job, launch.workflow_dir)
        if missing:
            raise JobTypeError("; ".join(missing), job=job.name, host=host,
                               hint="inputs are files on this machine, relative to the workflow file's folder")
        name = script_name(launch)
        plan = upload_plan(launch, name)
        log_name = launch.log_path.name
        folder = folder_of(settings.remote_root, launch.run_id, job.name, launch.attempt)
        inline, copied = split_plan(plan)
        wrapper = wrapper_script(launch, log_name, settings.kill_grace)
        script = prepare_script(folder, self._owner(launch), wrapper, subfolders(plan), inline)
        if not copied:
            script += launch_script(None, log_name)  # nothing to copy: make the folder and start in one go
        result = self._run(connection, script, settings, job.name, "making the job folder")
        if result.exit_code != 0:
            detail = result.stderr.decode("utf-8", "replace").strip()
            if is_disk_full(detail):
                raise with_job(disk_full(connection.target, folder, detail), job.name)
            raise JobTypeError(f"could not make the job folder {folder} ({detail or f'exit code {result.exit_code}'})",
                               job=job.name, host=host,
                               hint="check that the ssh user may write there, or set the ssh option 'remote_root'")
        prepared = parse_prepare(result.stdout.decode("utf-8", "replace"))
        if prepared is None:
            raise JobTypeError(f"the host gave an answer cc does not understand while making {folder}: "
                               f"{result.stdout[:300]!r}", job=job.name, host=host,
                               hint="is the remote login shell printing text (a banner in .bashrc)?")
        if prepared.busy_pid is not None:
            raise JobTypeError(f"the job folder {folder} is in use by a running job of another cc run "
                               f"(pid {prepared.busy_pid}, {prepared.busy_owner})", job=job.name, host=host,
                               hint="give this cc home a remote folder of its own with the ssh option "
                                    "'remote_root'")
        if prepared.launched_pid is not None:
            return self._handle(launch, settings, prepared.folder, prepared.launched_pid, log_name)
        pid, log_tail = parse_launch(result.stdout.decode("utf-8", "replace"))
        if copied:
            upload(connection, [(local, f"{prepared.folder}/{remote}") for local, remote in copied],
                   folder=prepared.folder, job=job.name)
            result = self._run(connection, launch_script(prepared.folder, log_name), settings, job.name,
                               "starting the job")
            pid, log_tail = parse_launch(result.stdout.decode("utf-8", "replace"))
        if pid is None:
            if is_disk_full(log_tail):
                raise with_job(disk_full(connection.target, prepared.folder, log_tail), job.name)
            raise JobTypeError(f"the job did not start in {prepared.folder}: {log_tail or 'no output'}",
                               job=job.name, host=host, hint="is 'sh' on the host usable, and the folder writable?")
        return self._handle(launch, settings, prepared.folder, pid, log_name)

    def _handle(self, launch: Launch, settings: SSHSettings, folder: str, pid: int, log_name: str) -> Handle:
        job = launch.job
        name = script_name(launch)
        return {
            "host": job.host,
            "user": job.user,
            "ssh_config": settings.config_path,
            "folder": folder,
            "pid": pid,
            "log": f"{folder}/{log_name}",
            "workdir": workdir_of(job, folder),
            "notebook": executed_notebook_name(name) if job.notebook and name else None,
        }

    def _run(self, connection: HostConnection, script: str, settings: SSHSettings, job: Optional[str],
             what: str) -> Any:
        try:
            return self._sh(connection, settings, script, settings.command_timeout, what, start_agent=True)
        except JobTypeError as exc:
            raise with_job(exc, job) from None

    @staticmethod
    def _sh(connection: HostConnection, settings: SSHSettings, script: str, timeout: float, what: str,
            start_agent: bool = False) -> Any:
        """``sh -s`` with ``script``: through the host agent when it runs (one round trip), else as a command of
        its own. Every script sent this way may be sent twice (the agent may die after running it)."""
        agent = agent_for(connection, start=start_agent) if settings.agent else None
        if agent is not None:
            try:
                return agent.sh(script, timeout)
            except AgentLost as exc:
                log.info("host '%s': %s; sending it as a command", connection.target.label, exc)
        return connection.exec("sh -s", stdin=script.encode(), timeout=timeout, what=what)

    def _follow(self, launch: Launch, handle: Handle, settings: SSHSettings) -> None:
        """Have the host agent watch a job just submitted (its end and log are then pushed)."""
        if not settings.agent or not self._watches.pushing:
            return
        connection, _ = self._job_connection(launch.job)
        agent = agent_for(connection, start=False)
        if agent is not None:
            self._watches.watch(agent, ActiveJob(launch.key, launch.attempt, handle, launch.job, launch.job_dir,
                                                 launch.log_path))

    def find(self, launch: Launch) -> Optional[Handle]:
        """The attempt's handle when it was launched already (the store lost it); ``None`` otherwise, or when the
        host cannot be asked (submit then finds the launched attempt itself instead of starting it twice)."""
        try:
            connection, settings = self._job_connection(launch.job)
            folder = folder_of(settings.remote_root, launch.run_id, launch.job.name, launch.attempt)
            result = self._run(connection, find_script(folder, self._owner(launch)), settings, launch.job.name,
                               "looking for the job")
        except JobTypeError as exc:
            log.warning("%s", exc)
            return None
        prepared = parse_prepare(result.stdout.decode("utf-8", "replace"))
        if prepared is None or prepared.launched_pid is None:
            return None
        return self._handle(launch, settings, prepared.folder, prepared.launched_pid, launch.log_path.name)

    # ------------------------------------------------------------------------------------------------ batches
    def _by_host(self, items: Sequence[T], handle_of: Callable[[T], tuple[Handle, Optional[JobSpec]]]
                 ) -> list[tuple[HostConnection, SSHSettings, list[T]]]:
        groups: dict[int, tuple[HostConnection, SSHSettings, list[T]]] = {}
        for item in items:
            connection, settings = self._handle_connection(*handle_of(item))
            groups.setdefault(id(connection), (connection, settings, []))[2].append(item)
        return list(groups.values())

    @staticmethod
    def _each_host(groups: list[tuple[HostConnection, SSHSettings, list[T]]],
                   work: Callable[[HostConnection, SSHSettings, list[T]], list[Any]]) -> list[Any]:
        if len(groups) <= 1:
            return [out for group in groups for out in work(*group)]
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_HOSTS, len(groups))) as pool:
            return [out for outs in pool.map(lambda g: work(*g), groups) for out in outs]

    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        plain = [job for job in active if not self._watches.watching(job.key, job.attempt)]
        return self._each_host(self._by_host(plain, lambda a: (a.handle, a.job)), self._check_host)

    def _check_host(self, connection: HostConnection, settings: SSHSettings,
                    jobs: list[ActiveJob]) -> list[JobUpdate]:
        self._retry_cancels(connection, settings, jobs)
        folders = [str(job.handle.get("folder")) for job in jobs]
        try:
            result = self._sh(connection, settings, status_script(folders), settings.command_timeout,
                              "checking jobs")
        except JobTypeError as exc:
            return self._host_down(jobs, exc)
        statuses = parse_status(result.stdout.decode("utf-8", "replace"), len(jobs))
        updates: list[JobUpdate] = []
        ended: list[tuple[ActiveJob, RemoteStatus]] = []
        running: list[ActiveJob] = []
        for index, job in enumerate(jobs):
            status = statuses.get(index)
            if status is None:
                continue
            if status.state == "running":
                updates += self._note(job, None)
                running.append(job)
            else:
                ended.append((job, status))
        if ended:
            updates += self._finish(connection, ended)
        self._watch_again(connection, settings, running)
        return updates

    def _watch_again(self, connection: HostConnection, settings: SSHSettings, running: list[ActiveJob]) -> None:
        """Running jobs no agent watches (after a resume, or an agent that died): a new agent watches them."""
        if not running or not settings.agent or not self._watches.pushing:
            return
        agent = agent_for(connection)
        if agent is not None:
            for job in running:
                self._watches.watch(agent, job)

    def _note(self, job: ActiveJob, note: Optional[str]) -> list[JobUpdate]:
        """A running job's note (``None`` clears it), reported only when it changes."""
        key = (job.key, job.attempt)
        if self._notes.get(key) == note:
            return []
        self._notes[key] = note
        return [JobUpdate(job.key, job.attempt, JobState.RUNNING, detail=note)]

    def _host_down(self, jobs: list[ActiveJob], error: JobTypeError) -> list[JobUpdate]:
        log.warning("%s", error)
        message = error.message.split(": ", 1)[-1].split(" (next try in ")[0]
        note = f"host not answering, retrying: {message}"
        return [update for job in jobs for update in self._note(job, note)]

    def _finish(self, connection: HostConnection, ended: list[tuple[ActiveJob, RemoteStatus]]) -> list[JobUpdate]:
        """Copy back each ended job's outputs, then report its end. When the connection fails meanwhile, the jobs
        not reported yet are reported on a later check."""
        updates: list[JobUpdate] = []
        host = connection.target.label
        if not any(status.state == "ended" and self._needs_copy(job) for job, status in ended):
            return [self._end_update(job, status, [], host) for job, status in ended]
        try:
            with connection.sftp() as sftp:
                for job, status in ended:
                    problems = self._fetch(sftp, job) if status.state == "ended" else []
                    updates.append(self._end_update(job, status, problems, host))
        except (JobTypeError, OSError, paramiko.SSHException, EOFError) as exc:
            connection.drop()
            log.warning("host '%s': could not copy the outputs of ended jobs yet (%s); trying again", host, exc)
        return updates

    def _finish_pushed(self, agent: Any, job: ActiveJob, status: RemoteStatus) -> Optional[JobUpdate]:
        """The end of a job an agent saw end, outputs copied back; ``None`` when the copy has to wait."""
        updates = self._finish(agent.connection, [(job, status)])
        return updates[0] if updates else None

    @staticmethod
    def _needs_copy(job: ActiveJob) -> bool:
        return bool(job.job.outputs or job.handle.get("notebook"))

    @staticmethod
    def _fetch(sftp: paramiko.SFTPClient, job: ActiveJob) -> list[str]:
        """Copy the outputs (and an executed notebook) into the job's local folder; what went wrong."""
        handle = job.handle
        job.job_dir.mkdir(parents=True, exist_ok=True)
        outputs = list(job.job.outputs)
        if handle.get("notebook"):
            outputs.append(f"{handle['folder']}/{handle['notebook']}")
        return fetch_outputs(sftp, outputs, str(handle.get("workdir") or handle["folder"]), job.job_dir)

    def _end_update(self, job: ActiveJob, status: RemoteStatus, problems: list[str], host: str) -> JobUpdate:
        self._notes.pop((job.key, job.attempt), None)
        self._pending_cancels.pop((job.key, job.attempt), None)

        def say(text: str) -> str:
            return JobTypeError(text, job=job.key, host=host).message

        if status.state == "missing":
            return JobUpdate(job.key, job.attempt, JobState.FAILED,
                             reason=say(f"the job folder {job.handle.get('folder')} is gone from the host"))
        if status.cancelled:
            return JobUpdate(job.key, job.attempt, JobState.KILLED, exit_code=status.exit_code, reason="killed")
        if status.state == "lost":
            return JobUpdate(job.key, job.attempt, JobState.FAILED,
                             reason=say("the job's processes ended without recording an exit code (killed from "
                                        "outside, or the host restarted)"))
        code = status.exit_code
        if code == 0 and problems:
            return JobUpdate(job.key, job.attempt, JobState.FAILED, exit_code=0,
                             reason=say(f"output {', '.join(problems)} (looked in {job.handle.get('workdir')})"))
        if code == 0:
            return JobUpdate(job.key, job.attempt, JobState.DONE, exit_code=0)
        return JobUpdate(job.key, job.attempt, JobState.FAILED, exit_code=code,
                         reason=say(status.reason) if status.reason else None)

    # ------------------------------------------------------------------------------------------------ cancel
    def cancel(self, active: Sequence[ActiveJob]) -> None:
        for connection, settings, jobs in self._by_host(active, lambda a: (a.handle, a.job)):
            self._cancel_host(connection, settings, jobs)

    def _cancel_host(self, connection: HostConnection, settings: SSHSettings, jobs: list[ActiveJob]) -> bool:
        script = cancel_script([str(job.handle.get("folder")) for job in jobs], settings.kill_grace)
        try:
            self._sh(connection, settings, script, settings.command_timeout + settings.kill_grace, "cancelling jobs")
        except JobTypeError as exc:
            log.warning("%s (the cancel is sent again when the host answers)", exc)
            for job in jobs:
                self._pending_cancels[(job.key, job.attempt)] = job
            return False
        for job in jobs:
            self._pending_cancels.pop((job.key, job.attempt), None)
        return True

    def _retry_cancels(self, connection: HostConnection, settings: SSHSettings, jobs: list[ActiveJob]) -> None:
        waiting = [job for job in jobs if (job.key, job.attempt) in self._pending_cancels]
        if waiting:
            self._cancel_host(connection, settings, waiting)

    # ------------------------------------------------------------------------------------------------ logs
    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        chunks: list[LogChunk] = []
        plain: list[LogRequest] = []
        for request in requests:
            if self._watches.watching(request.key, request.attempt):
                # the agent copies the log as it grows: the local copy is complete up to now
                chunk = read_log_file(request, limit=LOG_LIMIT)
                if request.final:
                    self._watches.forget(request.key, request.attempt)
                if chunk.data or request.final:
                    chunks.append(chunk)
            else:
                plain.append(request)
        return chunks + self._each_host(self._by_host(plain, lambda r: (r.handle, None)), self._read_host)

    def _read_host(self, connection: HostConnection, settings: SSHSettings,
                   requests: list[LogRequest]) -> list[LogChunk]:
        if self._watches.pushing and not any(r.final for r in requests):
            now = time.monotonic()
            if now < self._plain_logs_at.get(id(connection), 0.0) + PLAIN_LOG_EVERY:
                return []
            self._plain_logs_at[id(connection)] = now
        reads = [LogRead(str(r.handle.get("folder")), str(r.handle.get("log")), r.offset, LOG_LIMIT)
                 for r in requests]
        try:
            result = self._sh(connection, settings, logs_script(reads, FINAL_LOG_LIMIT), settings.command_timeout,
                              "reading logs")
        except JobTypeError as exc:
            log.warning("%s", exc)
            return []
        pieces = parse_logs(result.stdout, len(requests))
        chunks: list[LogChunk] = []
        for index, request in enumerate(requests):
            piece = pieces.get(index)
            if piece is None:
                continue
            data = piece.data
            if not piece.ended:
                end = data.rfind(b"\n")
                if end >= 0:
                    data = data[: end + 1]
                elif len(data) < LOG_LIMIT:
                    data = b""
            if data:
                write_log_at(request.log_path, request.offset, data)
            chunks.append(LogChunk(request.key, data, request.offset + len(data)))
        return chunks
