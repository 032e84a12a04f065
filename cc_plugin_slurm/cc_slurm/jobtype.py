"""The ``slurm`` job type: each attempt of a job is one SLURM batch job.

``submit`` writes a batch script (see :mod:`cc_slurm.batch_script`) and runs ``sbatch`` on the login host: this
machine when the job's ``host:`` is local, else a login host over SSH. ``check`` asks SLURM about all active jobs
of a login host with one ``squeue`` (``sacct`` only for jobs ``squeue`` has forgotten); ``cancel`` is one
``scancel`` per login host; logs are read on from an offset. The handle (SLURM job id, login host, folder, log)
is all a new process needs to follow a job again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any, Mapping, Optional, Sequence, Union

from cc_core.environments.host import (DEFAULT_ROOT, EnvironmentHost, LocalEnvironmentHost, ShellEnvironmentHost,
                                       conda_roots_option, root_option)
from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import (ActiveJob, Handle, JobType, JobTypeContext, JobUpdate, Launch, LogChunk,
                                     LogRequest, write_log_at)
from cc_core.workflow.model import JobSpec
from cc_core.states import JobState
from cc_slurm.batch_script import JobFiles, batch_script, plan_files, slurm_job_name, test_script
from cc_slurm.submission import (FIRST_PAUSE, LONGEST_PAUSE, Submission, controller_unreachable, may_pass,
                                 sbatch_said)
from cc_core.workflow.line_ends import warn_windows_line_ends, write_for_linux
from cc_slurm.login_host import LoginHost, login_host
from cc_slurm.options import SlurmOptions, parse_options
from cc_slurm.queue import ControllerUnreachable, SlurmQueue
from cc_core.workflow.staging import missing_inputs
from cc_slurm.state_mapping import CCState, cc_state

LOG_READ_LIMIT = 4 << 20
log = logging.getLogger(__name__)


class SlurmJobType(JobType):
    """Jobs submitted with ``sbatch`` to a SLURM cluster."""

    name = "slurm"
    description = "SLURM batch jobs, submitted on this machine or on a login host over SSH"
    blocking = True
    poll_interval = 1.0
    log_interval = 1.0
    starts_running = False

    first_check = 0.1
    young_step = 0.4

    def check_delay(self, since_submit: float) -> float:
        """While jobs it just submitted are young, check sooner: 0.1, 0.2, 0.4, 0.8 s after the submission, then
        every 0.4 s until 2 s have passed (SLURM starts and ends jobs on its own ticks, often about a second after
        the submission), then every :attr:`poll_interval`. Each check is still one ``squeue`` for all jobs of a
        login host, so their number does not grow with the jobs."""
        if since_submit >= 2 * self.poll_interval:
            return self.poll_interval
        return min(self.poll_interval, self.young_step, max(self.first_check, since_submit))

    def __init__(self, context: JobTypeContext) -> None:
        super().__init__(context)
        self.calls: Counter[str] = Counter()
        """How many times each SLURM command ran (``squeue``, ``sacct``, ``sbatch``, ``scancel``)."""
        self._hosts: dict[tuple[str, str, str], LoginHost] = {}
        self._reported: dict[tuple[str, int, str], tuple[JobState, Optional[str]]] = {}
        self._tested: dict[tuple[str, str], Optional[str]] = {}
        self._gave_up: set[str] = set()   # login hosts whose SLURM could not be asked within reconnect_window
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- options
    def options(self, job: JobSpec) -> SlurmOptions:
        """The job's slurm options over the job type's; :class:`JobTypeError` says which option is wrong."""
        try:
            return parse_options(self.context.options, job.options)
        except ValueError as exc:
            raise JobTypeError(str(exc), job=job.name, host=job.host,
                               hint="see docs/jobtypes/slurm.md for every slurm option") from None

    def _host(self, host: Optional[str], user: Optional[str], ssh: Mapping[str, Any]) -> LoginHost:
        key = (host or "localhost", user or "", repr(sorted(ssh.items())))
        with self._lock:
            found = self._hosts.get(key)
            if found is None:
                found = self._hosts[key] = login_host(host, user, ssh)
            return found

    def host_for(self, job: JobSpec, options: Optional[SlurmOptions] = None) -> LoginHost:
        options = options or self.options(job)
        return self._host(job.host, job.user, options.ssh)

    def environment_host(self, job: JobSpec) -> EnvironmentHost:
        """Environments are built through the login host, on the file system it shares with the compute nodes."""
        options = self.options(job)
        host = self.host_for(job, options)
        layers = {k: v for k, v in (("environments", options.environments), ("conda_root", options.conda_root)) if v}
        if host.is_local:
            default = str(self.context.home / "envs")
            root = root_option({}, layers, default, "localhost", self.context.home)
            return LocalEnvironmentHost(Path(os.path.expanduser(root)), conda_roots_option({}, layers))

        def run(command: str, timeout: float) -> tuple[int, str, str]:
            result = host.run(command, env=options.slurm_env, timeout=timeout)
            return result.exit_code, result.stdout, result.stderr

        root = root_option({}, layers, DEFAULT_ROOT, host.label, self.context.home)
        return ShellEnvironmentHost(host.label, root, run, conda_roots_option({}, layers))

    def _handle_host(self, handle: Handle) -> LoginHost:
        return self._host(handle.get("host"), handle.get("user"), handle.get("ssh") or {})

    # ------------------------------------------------------------------------------------------- validate
    def validate(self, job: JobSpec, workflow_dir: Path) -> list[str]:
        problems = super().validate(job, workflow_dir)
        try:
            options = parse_options(self.context.options, job.options)
        except ValueError as exc:
            return problems + [str(exc)]
        if problems:
            return problems
        try:
            host = self.host_for(job, options)
        except JobTypeError as exc:
            return [exc.message]
        if not host.is_local and job.inputs and not job.depends:  # a job with parents may get inputs from them
            problems = missing_inputs(job, workflow_dir)
            if problems:
                return problems
        problem = self._test_only(host, options, job.timeout)
        if job.script and not problem:
            script = Path(os.path.expanduser(job.script))
            warn_windows_line_ends(script if script.is_absolute() else workflow_dir / script, job.name,
                                   host.label, job.script)
        return [problem] if problem else []

    def _test_only(self, host: LoginHost, options: SlurmOptions, timeout: Optional[float]) -> Optional[str]:
        """``sbatch --test-only`` with the job's directives: SLURM says whether it could ever run the job."""
        script = test_script(options, timeout)
        key = (host.label, script + repr(sorted(options.slurm_env.items())))
        if key in self._tested:
            return self._tested[key]
        marker = "CC_SLURM_TEST_EOF"
        started = time.monotonic()
        pause = FIRST_PAUSE
        while True:   # right after a controller restart, or a blip of the login host: ask again for a while
            self.calls["sbatch"] += 1
            try:
                result = host.run(f"sbatch --test-only <<'{marker}'\n{script}{marker}\n", env=options.slurm_env,
                                  timeout=options.command_timeout)
                said = result.stderr or result.stdout
                passing = result.exit_code != 0 and (controller_unreachable(said) or (
                    "node configuration is not available" in said and self._nodes_registering(host, options)))
            except JobTypeError as exc:
                error: Optional[JobTypeError] = exc
                passing = may_pass(exc)
            else:
                error = None
            window = 0.0 if host.label in self._gave_up else options.reconnect_window
            remaining = window - (time.monotonic() - started)
            if not passing or remaining <= 0:
                if passing:
                    self._gave_up.add(host.label)   # the other jobs of this host are not kept waiting again
                break
            log.warning("SLURM on %s could not be asked about a job yet; asking again in %.1f s", host.label,
                        min(pause, remaining))
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, LONGEST_PAUSE)
        if error is not None:
            problem: Optional[str] = f"could not ask SLURM on {host.label} about this job: {error.message}"
        else:
            if result.exit_code == 127:
                problem = (f"sbatch is not installed on {host.label}; run cc on the cluster's login node or "
                           "set 'host:' to the login host")
            elif result.exit_code != 0:
                asked = ", ".join(line.removeprefix("#SBATCH ").removeprefix("--")
                                  for line in options.directive_lines(timeout))
                problem = (f"SLURM on {host.label} cannot run this job as asked "
                           f"({asked or 'no resources given'}): {sbatch_said(result.stderr or result.stdout)}")
            else:
                problem = None
        if error is None and not passing:
            self._tested[key] = problem   # an answer of SLURM's; "could not ask" is asked again next time
        return problem

    def _nodes_registering(self, host: LoginHost, options: SlurmOptions) -> bool:
        """Whether slurmctld has just started and still waits for nodes to register (their state is ``unknown``):
        until they have, it refuses every request as "Requested node configuration is not available"."""
        try:
            result = host.run("sinfo -h -o %T", env=options.slurm_env, timeout=options.command_timeout)
        except JobTypeError:
            return False
        return result.exit_code == 0 and any(line.strip().startswith("unknown") for line in result.stdout.splitlines())

    # ------------------------------------------------------------------------------------------- submit
    def show_script(self, launch: Launch) -> Optional[str]:
        options = self.options(launch.job)
        host = self.host_for(launch.job, options)
        files = plan_files(launch, options, remote=not host.is_local)
        return batch_script(launch, options, files, slurm_job_name(launch, self.context.home))

    def submit(self, launch: Launch) -> Handle:
        return self.submit_after(launch, [])

    submit_threads = 4
    """Submissions to this machine's SLURM that go side by side (see :meth:`submit_many`)."""

    def submit_many(self, launches: Sequence[Launch]) -> list[Union[Handle, BaseException]]:
        """Submissions waiting together go to this machine's SLURM a few at a time, side by side: each ``sbatch``
        is a round trip to the controller, and a job submitted sooner starts at an earlier scheduler tick. Those
        for a login host over SSH go one by one through its one connection, as before."""
        side_by_side: list[int] = []
        for index, launch in enumerate(launches):
            try:
                if self.host_for(launch.job).is_local:
                    side_by_side.append(index)
            except Exception:  # noqa: BLE001 - its submit raises it again, below
                pass
        results: list[Union[Handle, BaseException, None]] = [None] * len(launches)
        if len(side_by_side) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(self.submit_threads, len(side_by_side)),
                                    thread_name_prefix="cc-slurm-submit") as pool:
                for index, outcome in zip(side_by_side, pool.map(self._submit_one, [launches[i] for i in side_by_side])):
                    results[index] = outcome
        for index, launch in enumerate(launches):
            if results[index] is None:
                results[index] = self._submit_one(launch)
        return results  # type: ignore[return-value]

    def _submit_one(self, launch: Launch) -> Union[Handle, BaseException]:
        try:
            return self.submit(launch)
        except Exception as exc:  # noqa: BLE001 - the attempt fails with it
            return exc

    def can_submit_after(self, job: JobSpec, parents: Sequence[JobSpec]) -> bool:
        """Whether ``job`` may be handed to SLURM before ``parents`` end (:meth:`submit_after`): it asks for it
        (option ``slurm_dependencies: true``) and every parent is a slurm job on the same login host."""
        if not parents or not self.options(job).slurm_dependencies:
            return False
        return all(p.kind == self.name and p.host == job.host and p.user == job.user for p in parents)

    def submit_after(self, launch: Launch, parent_handles: Sequence[Handle]) -> Handle:
        """Submit with ``--dependency=afterok:<parent ids>``: SLURM starts the job once every parent completed,
        without waiting for cc to see them end, and cancels it when one of them fails."""
        job = launch.job
        options = self.options(job)
        host = self.host_for(job, options)
        files = plan_files(launch, options, remote=not host.is_local)
        dependency = None
        if parent_handles:
            ids = [str(h["job_id"]) for h in parent_handles]
            if any((h.get("host") or "localhost") != (job.host or "localhost") for h in parent_handles):
                raise JobTypeError("a SLURM dependency needs its parents on the same cluster", job=job.name,
                                   host=job.host)
            dependency = "afterok:" + ":".join(ids)
        name = slurm_job_name(launch, self.context.home)
        text = batch_script(launch, options, files, name, dependency)
        launch.job_dir.mkdir(parents=True, exist_ok=True)
        local_batch = launch.job_dir / files.batch
        write_for_linux(local_batch, text)
        if not host.is_local:
            missing = missing_inputs(job, launch.workflow_dir)
            if missing:
                raise JobTypeError("; ".join(missing), job=job.name, host=host.label,
                                   hint="inputs are files on this machine, relative to the workflow file's folder")
        sbatch = Submission(host, options, self.calls, job, files, name, local_batch, launch.workflow_dir)
        job_id, folder = sbatch.submit()
        return self._handle(job, options, files, job_id, folder, name)

    def _handle(self, job: JobSpec, options: SlurmOptions, files: JobFiles, job_id: str, folder: str,
                name: str) -> Handle:
        handle: Handle = {
            "job_id": job_id,
            "host": job.host or "localhost",
            "folder": folder,
            "log": str(PurePosixPath(folder) / files.log),
            "exit_file": str(PurePosixPath(folder) / files.exit_file),
            "name": name,
        }
        if job.user:
            handle["user"] = job.user
        if options.array is not None:
            handle["array"] = True
        if options.slurm_env:
            handle["slurm_env"] = dict(options.slurm_env)
        if options.ssh:
            handle["ssh"] = dict(options.ssh)
        return handle

    def find(self, launch: Launch) -> Optional[Handle]:
        options = self.options(launch.job)
        host = self.host_for(launch.job, options)
        queue = SlurmQueue(host, self.calls, options.command_timeout)
        name = slurm_job_name(launch, self.context.home)
        files = plan_files(launch, options, remote=not host.is_local)
        job_id: Optional[str] = None
        for pause in (2.0, 5.0, 0.0):  # slurmctld may be restarting; the job must not be submitted twice
            try:
                job_id = queue.find_by_name(name, options.slurm_env, files.folder)
                break
            except ControllerUnreachable:
                if not pause:
                    raise
                time.sleep(pause)
        if job_id is None:
            return None
        return self._handle(launch.job, options, files, job_id, files.folder, name)

    # ------------------------------------------------------------------------------------------- follow
    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        updates: list[JobUpdate] = []
        errors: list[JobTypeError] = []
        for jobs in _by_login_host(active).values():
            try:
                updates += self._check_host(jobs)
            except JobTypeError as exc:
                errors.append(exc)
        if errors and not updates:
            raise errors[0]
        return updates

    def _check_host(self, jobs: list[ActiveJob]) -> list[JobUpdate]:
        handle = jobs[0].handle
        host = self._handle_host(handle)
        env = handle.get("slurm_env") or {}
        queue = SlurmQueue(host, self.calls)
        states = queue.states([str(a.handle["job_id"]) for a in jobs], env)
        forgotten = [a for a in jobs if str(a.handle["job_id"]) not in states]
        exit_texts = host.read_small([a.handle["exit_file"] for a in forgotten]) if forgotten else {}
        updates = []
        for job in jobs:
            job_id = str(job.handle["job_id"])
            slurm = states.get(job_id)
            if slurm is not None:
                seen = cc_state(slurm)
            else:
                seen = _from_exit_file(job_id, exit_texts.get(job.handle["exit_file"]))
            if not host.is_local and seen.state in (JobState.DONE, JobState.FAILED):
                fetched = self._fetch_outputs(host, job, seen)
                if fetched is None:
                    continue  # copying back failed for now; the end is reported on a later check
                seen = fetched
            update = self._update_if_new(job, seen)
            if update is not None:
                updates.append(update)
        return updates

    def _fetch_outputs(self, host: LoginHost, job: ActiveJob, seen: CCState) -> Optional[CCState]:
        try:
            missing = host.fetch_outputs(job.job, str(job.handle["folder"]), job.job_dir)
            if job.job.notebook:
                executed = f"{PurePosixPath(job.job.notebook).stem}.out.ipynb"
                try:
                    host.get(f"{job.handle['folder']}/{executed}", job.job_dir / executed)
                except FileNotFoundError:
                    pass  # the notebook did not run far enough to be written
        except (OSError, JobTypeError) as exc:
            log.warning("job '%s' on %s: could not copy its outputs back yet: %s", job.key, host.label, exc)
            return None
        if missing and seen.state is JobState.DONE:
            return CCState(JobState.FAILED, 0, f"output {', '.join(missing)} not found on {host.label} "
                                               f"(looked in {job.handle['folder']})")
        return seen

    def _update_if_new(self, job: ActiveJob, seen: CCState) -> Optional[JobUpdate]:
        key = (job.key, job.attempt, str(job.handle["job_id"]))
        now = (seen.state, seen.detail)
        if seen.state.is_final:
            self._reported.pop(key, None)  # an end is said every time it is seen: the engine may have missed it
        elif self._reported.get(key) == now:
            return None
        else:
            self._reported[key] = now
        return JobUpdate(job.key, job.attempt, seen.state, exit_code=seen.exit_code, reason=seen.reason,
                         detail=seen.detail)

    def cancel(self, active: Sequence[ActiveJob]) -> None:
        for jobs in _by_login_host(active).values():
            handle = jobs[0].handle
            queue = SlurmQueue(self._handle_host(handle), self.calls)
            queue.cancel([str(a.handle["job_id"]) for a in jobs], handle.get("slurm_env") or {})

    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        chunks: list[LogChunk] = []
        groups: dict[tuple[str, str, str], list[LogRequest]] = {}
        for request in requests:
            groups.setdefault(_host_key(request.handle), []).append(request)
        for group in groups.values():
            host = self._handle_host(group[0].handle)
            reads = [(str(r.handle.get("log") or r.log_path), r.offset) for r in group]
            ended = all(r.final for r in group)   # the last read of ended jobs takes a last line without newline
            for request, part in zip(group, host.read_from(reads, LOG_READ_LIMIT, ended)):
                if not host.is_local and part.data:
                    write_log_at(request.log_path, request.offset, part.data)
                chunks.append(LogChunk(request.key, part.data, part.offset))
        return chunks

    def stop(self) -> None:
        with self._lock:
            hosts, self._hosts = list(self._hosts.values()), {}
        for host in hosts:
            host.close()

    def describe(self) -> dict[str, Any]:
        import shutil

        return {"sbatch": shutil.which("sbatch") or "not on this machine (jobs need host: a login host)"}


def _host_key(handle: Handle) -> tuple[str, str, str]:
    return (str(handle.get("host") or "localhost"), str(handle.get("user") or ""),
            repr(sorted((handle.get("slurm_env") or {}).items())) + repr(sorted((handle.get("ssh") or {}).items())))


def _by_login_host(active: Sequence[ActiveJob]) -> dict[tuple[str, str, str], list[ActiveJob]]:
    groups: dict[tuple[str, str, str], list[ActiveJob]] = {}
    for job in active:
        groups.setdefault(_host_key(job.handle), []).append(job)
    return groups


def _from_exit_file(job_id: str, text: Optional[str]) -> CCState:
    """The end of a job SLURM has forgotten, from the exit code its batch script left."""
    if text is not None and text.strip().lstrip("-").isdigit():
        code = int(text.strip())
        return CCState(JobState.DONE, 0) if code == 0 else CCState(JobState.FAILED, code)
    return CCState(JobState.FAILED, None, f"lost: SLURM no longer knows job {job_id} and it left no exit code "
                                          "(cancelled or killed before its end?)")
