"""The ``wsl`` job type: each job a detached process tree inside a WSL distribution.

Options of a job (``options:`` in the workflow file): ``distribution`` (default: WSL's default distribution),
``user`` (default: the distribution's default user; the job field ``user:`` works too) and ``automount_root``
(where the distribution mounts Windows drives, ``/mnt/`` unless ``/etc/wsl.conf`` says otherwise). ``host:`` is
not used.

Options of the job type (:class:`~cc_core.plugins.jobtype.JobTypeContext`): ``exe`` (the ``wsl.exe`` to run; else
``CC_WSL_EXE``, else ``wsl.exe``/``wsl`` on PATH), ``automount_root`` (``/mnt/``), ``kill_grace`` (seconds between
SIGTERM and SIGKILL on cancel, 3), ``timeout`` (seconds one wsl.exe call may take, 60), ``start_wait`` (seconds
submit waits for the job's pid file, 10) and ``drive_root`` (else ``CC_WSL_DRIVE_ROOT``): a folder standing for
drive ``C:`` where there is no Windows, see :mod:`cc_wsl.path_map`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from cc_core.environments.host import (DEFAULT_ROOT, EnvironmentHost, ShellEnvironmentHost, conda_roots_option,
                                       root_option)
from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import (ActiveJob, Handle, JobType, JobTypeContext, JobUpdate, Launch, LogChunk, LogRequest,
                             read_log_files)
from cc_core.workflow.line_ends import warn_windows_line_ends
from cc_core.workflow.model import JobSpec
from cc_core.states import JobState
from cc_wsl.cli import (find_wsl, list_distributions, login_shell, run_wsl, windows_command_line, wsl_argv,
                        wsl_error)
from cc_wsl.listing import Distribution
from cc_wsl.path_map import PathMap
from cc_wsl.plan import ENV_NAME, JOB_OPTIONS, WslPlan, WslTarget, plan_job
from cc_wsl.wrapper import (AttemptFiles, PidRecord, cancel_script, check_script, parse_check_output,
                            parse_start_output, read_exit_file, read_pid_file, start_words)

LOST = "lost: the job's process ended without leaving an exit code (was WSL shut down?)"


class WSLJobType(JobType):
    name = "wsl"
    description = "jobs inside a WSL distribution (Windows Subsystem for Linux): .sh, .py, .ipynb and commands"
    blocking = True
    starts_running = True
    poll_interval = 1.0
    log_interval = 0.5

    def __init__(self, context: JobTypeContext) -> None:
        super().__init__(context)
        options = context.options
        self.exe_option: Optional[str] = options.get("exe")
        drive_root = options.get("drive_root") or os.environ.get("CC_WSL_DRIVE_ROOT") or None
        self.paths = PathMap(automount_root=str(options.get("automount_root", "/mnt/")), drive_root=drive_root)
        self.kill_grace = float(options.get("kill_grace", 3.0))
        self.timeout = float(options.get("timeout", 60.0))
        self.start_wait = float(options.get("start_wait", 10.0))
        self._exe: Optional[str] = None
        self._distributions: Optional[list[Distribution]] = None

    # ------------------------------------------------------------------------------------------- wsl.exe
    @property
    def exe(self) -> str:
        if self._exe is None:
            self._exe = find_wsl(self.exe_option)
        return self._exe

    def distributions(self, fresh: bool = False) -> list[Distribution]:
        """The installed distributions (remembered; ``fresh`` asks wsl.exe again)."""
        if self._distributions is None or fresh:
            self._distributions = list_distributions(self.exe, timeout=self.timeout)
        return self._distributions

    def _missing_distribution(self, distribution: str) -> Optional[str]:
        known = self.distributions()
        if any(d.name.lower() == distribution.lower() for d in known):
            return None
        known = self.distributions(fresh=True)
        if any(d.name.lower() == distribution.lower() for d in known):
            return None
        names = ", ".join(d.name for d in known) or "none"
        return f"the WSL distribution '{distribution}' is not installed (installed: {names})"

    # ------------------------------------------------------------------------------------------- checks
    def validate(self, job: JobSpec, workflow_dir: Path) -> list[str]:
        problems: list[str] = []
        name = job.script or job.notebook
        if name and not self._inside_wsl_only(name):
            problems.extend(super().validate(job, workflow_dir))
        unknown = sorted(set(job.options) - set(JOB_OPTIONS))
        if unknown:
            problems.append(f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for a wsl job "
                            f"(wsl jobs know: {', '.join(JOB_OPTIONS)})")
        root = job.options.get("automount_root")
        if root is not None and not str(root).startswith("/"):
            problems.append(f"option automount_root must be a Linux folder such as /mnt/ or /, not '{root}'")
        bad_env = [k for k in job.env if not ENV_NAME.match(k)]
        if bad_env:
            problems.append(f"environment variable names {', '.join(bad_env)} cannot be set in bash")
        try:
            target = WslTarget.of(job)
            if target.distribution:
                missing = self._missing_distribution(target.distribution)
                if missing:
                    problems.append(missing)
            elif not self.distributions():
                problems.append("WSL has no installed distributions (install one: wsl --install -d Ubuntu)")
        except JobTypeError as exc:
            problems.append(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        if job.script and not problems and not self._inside_wsl_only(job.script):
            script = Path(os.path.expanduser(job.script))
            warn_windows_line_ends(script if script.is_absolute() else workflow_dir / script, job.name,
                                   "WSL", job.script)
        return problems

    def _inside_wsl_only(self, name: str) -> bool:
        """Does ``name`` exist only inside the distribution (``~/x.sh``, or ``/opt/x.sh`` where the host has its
        own kind of paths)? Only WSL can then tell whether it is there."""
        if name.startswith("~"):
            return True
        separate = self.paths.windows or self.paths.drive_root is not None
        return name.startswith("/") and separate and not self.paths.is_host_path(name)

    def describe(self) -> dict[str, Any]:
        try:
            exe = self.exe
            found = self.distributions(fresh=True)
        except JobTypeError as exc:
            return {"wsl.exe": None, "error": exc.message, "distributions": []}
        return {"wsl.exe": exe, "distributions": [d.as_dict() for d in found],
                "default": next((d.name for d in found if d.default), None)}

    def show_script(self, launch: Launch) -> Optional[str]:
        plan = plan_job(launch, self.paths, self.kill_grace)
        argv = self._start_argv(plan, launch.attempt, exe="wsl.exe")
        return f"{windows_command_line(argv)}\n\n# {plan.files.wrapper}\n{plan.wrapper}"

    def environment_host(self, job: JobSpec) -> EnvironmentHost:
        """Environments are built inside the job's distribution (``~/.cc/envs`` there unless the option
        ``environments`` says otherwise); the command goes to ``sh`` on its standard input."""
        target = WslTarget.of(job)

        def run(command: str, timeout: float) -> tuple[int, str, str]:
            argv = wsl_argv(self.exe, distribution=target.distribution, user=target.user, command=["sh", "-s"])
            result = run_wsl(argv, stdin=command.encode(), timeout=timeout)
            if result.wsl_failed:
                raise self._error(result, target, job.name, "build its environment")
            return result.returncode, result.stdout.decode("utf-8", "replace"), \
                result.stderr.decode("utf-8", "replace")

        label = f"wsl:{target.distribution or 'default'}"
        root = root_option(self.context.options, job.options, DEFAULT_ROOT, label, self.context.home)
        return ShellEnvironmentHost(label, root, run, conda_roots_option(self.context.options, job.options))

    # ------------------------------------------------------------------------------------------- submit
    def _start_argv(self, plan: WslPlan, attempt: int, exe: Optional[str] = None) -> list[str]:
        return wsl_argv(exe or self.exe, distribution=plan.target.distribution, user=plan.target.user,
                        cd=plan.job_dir, command=login_shell(start_words(attempt)))

    def submit(self, launch: Launch) -> Handle:
        plan = plan_job(launch, self.paths, self.kill_grace)
        files = plan.files
        for stale in (files.pid, files.end, files.exit, files.cancel):
            stale.unlink(missing_ok=True)
        try:
            with open(files.wrapper, "w", encoding="utf-8", newline="\n") as out:  # bash wants \n, not \r\n
                out.write(plan.wrapper)
        except OSError as exc:
            raise JobTypeError(f"cannot write {files.wrapper}: {exc.strerror}", job=launch.key) from None
        result = run_wsl(self._start_argv(plan, launch.attempt), timeout=self.timeout)
        pid = parse_start_output(result.output)
        if pid is None:
            if result.wsl_failed or result.returncode != 0:
                raise self._error(result, plan.target, launch.key, "start the job")
            raise JobTypeError(f"the job did not start in WSL: {result.output or 'no output'}", job=launch.key,
                               hint="run the command of 'ccw show-script' by hand to see why")
        record = self._wait_for_pid_file(files)
        handle: Handle = {
            "distribution": plan.target.distribution or (record.distribution if record else None),
            "user": plan.target.user,
            "pid": record.pid if record else pid,
            "start": record.start if record else None,
            "job_dir": str(launch.job_dir),
            "wsl_job_dir": plan.job_dir,
            "attempt": launch.attempt,
        }
        return handle

    def _wait_for_pid_file(self, files: AttemptFiles) -> Optional[PidRecord]:
        deadline = time.monotonic() + self.start_wait
        delay = 0.005
        while True:
            record = read_pid_file(files.pid)
            if record is not None or read_exit_file(files.exit) is not None or time.monotonic() > deadline:
                return record
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def find(self, launch: Launch) -> Optional[Handle]:
        files = AttemptFiles.of(launch.job_dir, launch.attempt)
        record = read_pid_file(files.pid)
        if record is None:
            return None
        target = WslTarget.of(launch.job)
        return {"distribution": target.distribution or record.distribution, "user": target.user,
                "pid": record.pid, "start": record.start, "job_dir": str(launch.job_dir),
                "wsl_job_dir": self.paths.for_distribution(target.distribution, launch.job.options.get(
                    "automount_root")).to_wsl(launch.job_dir),
                "attempt": launch.attempt, "found": True}

    def _error(self, result: Any, target: WslTarget, job: Optional[str], doing: str) -> JobTypeError:
        return wsl_error(result, distribution=target.distribution, user=target.user, job=job, doing=doing,
                         installed=lambda: self.distributions(fresh=True))

    # ------------------------------------------------------------------------------------------- check
    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        updates: list[JobUpdate] = []
        pending: dict[Optional[str], list[tuple[ActiveJob, int, Optional[str]]]] = {}
        for job in active:
            files = _files(job)
            code = read_exit_file(files.exit)
            if code is not None:
                updates.append(_ended(job, code, files))
                continue
            pid, start = _pid_of(job, files)
            pending.setdefault(job.handle.get("distribution"), []).append((job, pid, start))
        for distribution, jobs in pending.items():
            updates.extend(self._check_distribution(distribution, jobs))
        return updates

    def _check_distribution(self, distribution: Optional[str],
                            jobs: list[tuple[ActiveJob, int, Optional[str]]]) -> list[JobUpdate]:
        argv = wsl_argv(self.exe, distribution=distribution, command=["bash", "-s"])
        result = run_wsl(argv, stdin=check_script([(pid, start) for _, pid, start in jobs]).encode(),
                         timeout=self.timeout)
        alive, gone = parse_check_output(result.output)
        target = WslTarget(distribution, None)
        if not alive and not gone:
            error = self._error(result, target, None, "check on its jobs")
            if "is not installed" not in error.message:
                raise error  # retried at the next check
            return [JobUpdate(job.key, job.attempt, JobState.FAILED, None, f"lost: {error.message}")
                    for job, _, _ in jobs]
        updates = []
        for job, pid, _ in jobs:
            if pid in alive:
                continue
            files = _files(job)
            code = read_exit_file(files.exit)  # it may have ended between the two looks
            if code is not None:
                updates.append(_ended(job, code, files))
            elif files.cancel.exists():
                updates.append(JobUpdate(job.key, job.attempt, JobState.KILLED, None, "killed"))
            elif pid in gone:
                updates.append(JobUpdate(job.key, job.attempt, JobState.FAILED, None, LOST))
        return updates

    # ------------------------------------------------------------------------------------------- cancel
    def cancel(self, active: Sequence[ActiveJob]) -> None:
        groups: dict[tuple[Optional[str], Optional[str]], list[tuple[int, Optional[str]]]] = {}
        for job in active:
            files = _files(job)
            try:
                files.cancel.write_text(f"{time.time():.3f}\n", encoding="utf-8")
            except OSError:
                pass
            pid, start = _pid_of(job, files)
            key = (job.handle.get("distribution"), job.handle.get("user"))
            groups.setdefault(key, []).append((pid, start))
        for (distribution, user), pids in groups.items():
            argv = wsl_argv(self.exe, distribution=distribution, user=user, command=["bash", "-s"])
            result = run_wsl(argv, stdin=cancel_script(pids, self.kill_grace).encode(), timeout=self.timeout)
            if result.returncode != 0:
                raise self._error(result, WslTarget(distribution, user), None, "cancel jobs")

    # ------------------------------------------------------------------------------------------- logs
    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        return read_log_files(requests)


def _files(job: ActiveJob) -> AttemptFiles:
    job_dir = Path(job.handle.get("job_dir") or job.job_dir)
    return AttemptFiles.of(job_dir, int(job.handle.get("attempt", job.attempt)))


def _pid_of(job: ActiveJob, files: AttemptFiles) -> tuple[int, Optional[str]]:
    """The wrapper's pid and start time: from its pid file when written (the truth), else from the handle."""
    record = read_pid_file(files.pid)
    if record is not None:
        return record.pid, record.start
    return int(job.handle["pid"]), job.handle.get("start")


def _ended(job: ActiveJob, code: int, files: AttemptFiles) -> JobUpdate:
    if files.cancel.exists() and code != 0:
        return JobUpdate(job.key, job.attempt, JobState.KILLED, code, "killed")
    return JobUpdate(job.key, job.attempt, JobState.DONE if code == 0 else JobState.FAILED, code)
