"""The supervisor of a run's local jobs: one small process per run folder that outlives the process driving the run.

The ``local`` job type starts it (detached, in a session of its own) the first time it needs it for a run folder;
it ends by itself once none of its jobs runs, nothing is left to kill and nobody has been connected for
:data:`IDLE_EXIT` seconds. It

* starts the jobs (so it is their parent), as a child subreaper (``PR_SET_CHILD_SUBREAPER``): processes a job
  leaves behind (``setsid``, double forks) are re-parented to it instead of to init, and found;
* reaps them and keeps each job's exit code: in memory, for every process that asks, and in the job's exit-code
  file, written in place (:mod:`cc_local.exit_file`), again and again until it could be written;
* carries out kills: SIGTERM to every process of the job (:mod:`cc_local.job_processes`, a cgroup per job where cc
  can make one: :mod:`cc_local.cgroup`) and SIGKILL to what is left after the grace period, whoever asked and
  whether or not the asker is still there;
* ends what a job left behind when its main process ends, unless the job says ``keep_orphans: true``.

Protocol: JSON lines over the Unix socket ``<run folder>/.cc-supervisor/socket``. A request carries an ``id`` and
an ``op``; its answer carries the same ``id``. Events (``{"event": "ended", ...}``) go to every connected client.

``{"op": "spawn", "key", "attempt", "argv", "cwd", "env", "log", "exit_file", "keep_orphans",
"grace", "command", "tag", "job_dir"}`` → ``{"ok": true, "pid", "start", "tag"}`` or ``{"ok": false, "error", "missing"}``
(``tag``, optional, is the job's ``CC_JOB_TAG``; the supervisor makes one when it is missing; ``command``, when the
argv is a command's words, is what the shell runs if they cannot be executed directly)
``{"op": "kill", "jobs": [{"key", "attempt", "pid", "start", "tag"}], "grace"}`` → ``{"ok": true, "signalled":
[[key, attempt], ...]}`` (jobs of a supervisor that died are found from these facts alone)
``{"op": "jobs"}`` → ``{"ok": true, "jobs": [{"key", "attempt", "pid", "start", "tag", "code", "killed"}]}``
``{"op": "job", "key", "attempt"}`` → ``{"ok": true, "job": {...} or null}``: one job's facts, as in ``jobs``
``{"op": "hello"}`` → ``{"ok": true, "pid", "tracking"}``
``{"op": "environment", "env"}`` → ``{"ok": true}``: the base of this connection's later ``spawn`` requests, whose
``env`` holds only the variables that differ from it (a client whose environment lost a variable tells it again)
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from cc_local import spawn
from cc_local.cgroup import JobCgroup, cgroup_base
from cc_local.exit_file import make_folder, open_exit_file, write_exit_code_to, write_pid
from cc_local.job_processes import SIGKILL, TAG_VARIABLE, job_processes, live, send
from cc_local.supervisor_socket import Connection, Connections, supervisor_folder
from cc_local.processes import boot_tick, process_start_time, start_time_between

IDLE_EXIT = 2.0            # seconds with no job, no kill under way and nobody connected
PR_SET_CHILD_SUBREAPER = 36
_LOG_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND


@dataclass
class SupervisedJob:
    key: str
    attempt: int
    pid: int
    start: Optional[str]
    tag: str
    exit_file: str = ""
    keep_orphans: bool = False
    grace: float = 3.0
    cgroup: Optional[JobCgroup] = None
    process: Optional["subprocess.Popen[bytes]"] = None
    code: Optional[int] = None
    written: bool = False
    killed: bool = False
    exit_fd: int = -1                  # the exit-code file, open from before the start until the code is in it

    def facts(self) -> dict[str, Any]:
        return {"key": self.key, "attempt": self.attempt, "pid": self.pid, "start": self.start, "tag": self.tag,
                "code": self.code, "killed": self.killed}


@dataclass(order=True)
class _FinalKill:
    when: float
    group: Optional[int] = field(compare=False)
    tag: Optional[str] = field(compare=False)
    cgroup: Optional[JobCgroup] = field(compare=False)


class Supervisor:
    def __init__(self, run_folder: Path, ready: Optional[int] = None) -> None:
        self.folder = supervisor_folder(run_folder)
        self.ready = ready
        """A pipe to write a line to once the socket listens (``--ready FD``: the process that started us waits
        on it); closed then, or when we end without serving."""
        self.jobs: dict[int, SupervisedJob] = {}          # by pid of the main process
        self.by_key: dict[tuple[str, int], SupervisedJob] = {}
        self.final_kills: list[_FinalKill] = []
        self.selector = selectors.DefaultSelector()
        self.clients = Connections(self.folder, self.selector, self._answer)
        self.cgroups = cgroup_base()
        self.idle_since = time.monotonic()
        self.next_write = 0.0
        self.running: set[int] = set()   # pids of jobs' main processes that have not ended
        self.unfinished = 0        # jobs that run, or ended with their exit code not written yet
        self.unwritten: list[SupervisedJob] = []   # jobs whose exit code could not be written yet (full disk)
        self.null = os.open(os.devnull, os.O_RDWR)
        self.origin = os.getcwd()

    @property
    def tracking(self) -> str:
        return f"cgroup v2 per job under {self.cgroups}" if self.cgroups else "child subreaper"

    # ------------------------------------------------------------------------------------------------- serving
    def serve(self) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return 0  # another supervisor serves this run folder
        _become_subreaper()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.clients.listen()
        self._write_info()
        self._tell_ready()
        self.selector.register(wake_r, selectors.EVENT_READ, "wake")
        while True:
            self._reap()
            self._fire_final_kills()
            self._write_exit_files()
            if self._may_end():
                break
            for key, _ in self.selector.select(self._wait_time()):
                if key.data == "wake":
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                else:
                    self.clients.ready(key)
        self.clients.close()
        return 0

    def _tell_ready(self) -> None:
        ready, self.ready = self.ready, None
        if ready is None:
            return
        try:
            os.write(ready, b"listening\n")
        except OSError:
            pass
        finally:
            os.close(ready)

    def _write_info(self) -> None:
        try:
            (self.folder / "supervisor.json").write_text(json.dumps(
                {"pid": os.getpid(), "tracking": self.tracking, "started": time.time()}) + "\n", encoding="utf-8")
        except OSError:
            pass

    def _wait_time(self) -> float:
        wait = 1.0
        if self.final_kills:
            wait = min(wait, max(0.0, min(self.final_kills).when - time.monotonic()))
        return wait

    def _may_end(self) -> bool:
        busy = self.clients or self.final_kills or self.unfinished
        now = time.monotonic()
        if busy:
            self.idle_since = now
            return False
        return now - self.idle_since >= IDLE_EXIT

    def _answer(self, request: dict[str, Any], client: Connection) -> dict[str, Any]:
        op = request.get("op")
        if op == "spawn":
            return self._spawn(request, client.environment)
        if op == "environment":
            client.environment = {str(k): str(v) for k, v in request["env"].items()}
            return {"ok": True}
        if op == "kill":
            return self._kill(request)
        if op == "jobs":
            return {"ok": True, "jobs": [job.facts() for job in self.jobs.values()]}
        if op == "job":
            known = self.by_key.get((str(request.get("key")), int(request.get("attempt", 0))))
            return {"ok": True, "job": known.facts() if known is not None else None}
        if op == "hello":
            return {"ok": True, "pid": os.getpid(), "tracking": self.tracking}
        return {"ok": False, "error": f"unknown op {op!r}"}

    # ------------------------------------------------------------------------------------------------- jobs
    def _spawn(self, request: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
        key, attempt = str(request["key"]), int(request["attempt"])
        known = self.by_key.get((key, attempt))
        if known is not None:  # asked again (the asker lost the answer): the same job, never a second one
            return {"ok": True, "again": True, **known.facts()}
        # os.urandom is what secrets.token_hex uses: the supervisor does not import secrets (hmac, hashlib, random)
        tag = str(request.get("tag") or os.urandom(8).hex())
        env = dict(environment)
        env.update((str(k), str(v)) for k, v in request["env"].items())
        env[TAG_VARIABLE] = tag
        exit_file = self._path(request["exit_file"])
        exit_fd: Optional[int] = None
        try:
            if request.get("job_dir"):
                make_folder(self._path(request["job_dir"]))
            exit_fd = open_exit_file(exit_file)
            log = os.open(self._path(request["log"]), _LOG_FLAGS, 0o666)
        except OSError as exc:
            if exit_fd is not None:
                os.close(exit_fd)
            return {"ok": False, "error": f"cannot write {exc.filename}: {exc.strerror}"}
        cgroup = JobCgroup(self.cgroups, tag) if self.cgroups else None
        if cgroup is not None and not cgroup.create():
            cgroup = None
        cwd = self._path(request["cwd"])
        before = boot_tick()
        argv = request["argv"]
        try:
            try:
                pid, process = self._start(argv, cwd, env, log, cgroup)
            except OSError:
                if argv[0] == "/bin/sh" or not os.path.isdir(cwd):
                    raise
                # a program that is missing, not executable or has a missing interpreter: the shell tries it and
                # says why in the job's log, with its exit code (127, 126), as jobs have always failed
                argv = ["/bin/sh", "-c", str(request["command"])] if request.get("command") else \
                    ["/bin/sh", "-c", 'exec "$@"', "sh", *argv]
                pid, process = self._start(argv, cwd, env, log, cgroup)
        except FileNotFoundError as exc:
            os.close(exit_fd)
            missing = cwd if not os.path.isdir(cwd) else (exc.filename or argv[0])
            return {"ok": False, "error": "not found", "missing": str(missing),
                    "what": "working directory" if missing == cwd else "program"}
        except (OSError, subprocess.SubprocessError) as exc:
            os.close(exit_fd)
            return {"ok": False, "error": f"cannot start: {getattr(exc, 'strerror', None) or exc}"}
        finally:
            os.close(log)
        # the pid goes into the exit-code file (its second line) before the answer: from then on `find` knows the
        # attempt started, and no pid file needs to be made
        write_pid(exit_fd, pid)
        start = start_time_between(pid, before, boot_tick())
        job = SupervisedJob(key, attempt, pid, start, tag, exit_file, bool(request.get("keep_orphans")),
                            float(request.get("grace", 3.0)), cgroup, process, exit_fd=exit_fd)
        self.jobs[pid] = job
        self.by_key[(key, attempt)] = job
        self.running.add(pid)
        self.unfinished += 1
        return {"ok": True, "pid": pid, "start": start, "tag": tag}

    def _path(self, path: Any) -> str:
        """A path of a request, relative ones taken from where the supervisor started (it changes its working
        directory to start each job)."""
        return os.path.join(self.origin, str(path))

    def _start(self, argv: list[str], cwd: str, env: dict[str, str], log: int,
               cgroup: Optional[JobCgroup]) -> "tuple[int, Optional[subprocess.Popen[bytes]]]":
        if cgroup is None and spawn.USABLE:
            return spawn.spawn(argv, cwd, env, self.null, log), None
        # joining the job's cgroup has to happen in the child, before exec: only Popen's preexec_fn does that
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=self.null, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, close_fds=True,
                                   preexec_fn=cgroup.join if cgroup is not None else None)
        return process.pid, process

    def _kill(self, request: dict[str, Any]) -> dict[str, Any]:
        grace = float(request.get("grace", 3.0))
        signalled = []
        for entry in request.get("jobs", []):
            key, attempt = str(entry.get("key")), int(entry.get("attempt", 0))
            job = self.by_key.get((key, attempt))
            if job is not None and job.code is not None:
                continue  # it ended by itself before the kill reached it
            if job is not None:
                alive = True
                pid, tag, cgroup = job.pid, job.tag, job.cgroup
            else:  # a job of a supervisor that is gone: found from its handle
                pid = int(entry["pid"]) if entry.get("pid") else None
                alive = pid is not None and entry.get("start") is not None and \
                    process_start_time(pid) == str(entry.get("start"))
                tag, cgroup = entry.get("tag"), None
                if not alive:
                    pid = None  # its pid may name another process by now: its tag still finds what it left
            processes = job_processes(pid, tag, cgroup.pids() if cgroup else ())
            if not processes and not alive:
                continue
            if alive:
                signalled.append([key, attempt])
                if job is not None:
                    job.killed = True
            send(processes, signal.SIGTERM)
            self._final_kill(pid, tag, cgroup, grace)
        return {"ok": True, "signalled": signalled}

    def _final_kill(self, group: Optional[int], tag: Optional[str], cgroup: Optional[JobCgroup],
                    grace: float) -> None:
        self.final_kills.append(_FinalKill(time.monotonic() + max(0.0, grace), group, tag, cgroup))

    def _fire_final_kills(self) -> None:
        now = time.monotonic()
        due = [k for k in self.final_kills if k.when <= now]
        if not due:
            return
        self.final_kills = [k for k in self.final_kills if k.when > now]
        for kill in due:
            if kill.cgroup is not None:
                kill.cgroup.kill()
            left = live(job_processes(kill.group, kill.tag, kill.cgroup.pids() if kill.cgroup else ()))
            send(left, SIGKILL)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            job = self.jobs.get(pid)
            if job is None or job.code is not None:
                continue  # a process a job left behind, re-parented here
            job.code = os.waitstatus_to_exitcode(status)
            self.running.discard(pid)
            if job.process is not None:
                job.process.returncode = job.code
                job.process = None
            self._write_exit(job)
            self.clients.broadcast({"event": "ended", **job.facts()})
            if not job.keep_orphans and (job.cgroup is not None or self._orphans()) and \
                    job_processes(job.pid, job.tag, job.cgroup.pids() if job.cgroup else ()):
                self._end_leftovers(job)
            elif job.cgroup is not None:
                job.cgroup.remove()

    def _orphans(self) -> bool:
        """Whether any process other than a running job's main process is our child. As the child subreaper, every
        process a job leaves behind is re-parented to us (or descends from one that is): when none is, the
        costly look through ``/proc`` for a job's leftovers is not needed."""
        try:
            with open(f"/proc/self/task/{os.getpid()}/children", "rb") as handle:
                children = {int(pid) for pid in handle.read().split()}
        except (OSError, ValueError):
            return True
        return bool(children - self.running)

    def _end_leftovers(self, job: SupervisedJob) -> None:
        send(job_processes(job.pid, job.tag, job.cgroup.pids() if job.cgroup else ()), signal.SIGTERM)
        self._final_kill(job.pid, job.tag, job.cgroup, job.grace)

    def _write_exit(self, job: SupervisedJob) -> None:
        """Write the exit code of a job that ended (again, when an earlier try failed)."""
        if job.code is None or job.written:
            return
        if write_exit_code_to(job.exit_fd, job.code) or not os.path.isdir(os.path.dirname(job.exit_file) or "."):
            job.written = True
            self.unfinished -= 1
            os.close(job.exit_fd)
        else:
            self.unwritten.append(job)

    def _write_exit_files(self) -> None:
        now = time.monotonic()
        if now < self.next_write or not self.unwritten:
            return
        self.next_write = now + 1.0
        pending, self.unwritten = self.unwritten, []
        for job in pending:
            self._write_exit(job)


def _become_subreaper() -> bool:
    """Processes our jobs leave behind are re-parented to us instead of to init (Linux 3.4+)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def main(argv: list[str]) -> int:
    ready: Optional[int] = None
    if len(argv) == 3 and argv[1] == "--ready" and argv[2].isdigit():
        argv, ready = argv[:1], int(argv[2])
        os.set_inheritable(ready, False)   # never handed on to a job
    if len(argv) != 1:
        sys.stderr.write("usage: python -m cc_local.supervisor RUN_FOLDER [--ready FD]\n")
        return 2
    try:
        # absolute: the supervisor changes its working directory to each job's to start it (cc_local.spawn)
        return Supervisor(Path(os.path.abspath(argv[0])), ready).serve()
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            sys.stderr.write(f"cc supervisor: the disk is full ({exc})\n")
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
