"""Reading what SLURM says of many jobs at once: one ``squeue`` for all of them, then ``sacct`` for the few
``squeue`` no longer knows (with accounting storage, or from the job-completion log with ``sacct -c``).

Every SLURM command run is counted in :attr:`SlurmQueue.calls`, so the number of calls per check can be seen
(and tested) not to grow with the number of jobs.
"""

from __future__ import annotations

import os
import shlex
from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from cc_core.errors import JobTypeError
from cc_slurm.login_host import LoginHost

WAITING = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD",
                     "POWER_UP_NODE"})
GOING = frozenset({"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "SUSPENDED", "STOPPED", "RESIZING",
                   "UPDATE_DB"})
# When tasks of an array end differently, the first of these found says how the array ended.
_WORST_FIRST = ("NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY", "TIMEOUT", "DEADLINE", "PREEMPTED", "FAILED",
                "SPECIAL_EXIT", "REVOKED", "CANCELLED")

SQUEUE_FIELDS = "ArrayJobID:|,ArrayTaskID:|,State:|,Reason:|,exit_code:|"


@dataclass(frozen=True)
class SlurmJobState:
    """What SLURM says of one job (for an array: of all its tasks together)."""

    job_id: str
    state: str                       # COMPLETED, FAILED, PENDING, ... (SLURM's word)
    reason: Optional[str] = None     # squeue's reason (Priority, Resources, ...), None when "None"
    exit_code: Optional[int] = None  # the job's exit code, when it ended by itself
    signal: Optional[int] = None     # the signal that ended it, if any
    source: str = "squeue"
    tasks: int = 1
    tasks_failed: int = 0

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    @property
    def going(self) -> bool:
        return self.state in GOING


class ControllerUnreachable(JobTypeError):
    """``squeue`` could not reach slurmctld (restarting, network): the jobs' states are unknown for now."""


class SlurmQueue:
    """Asks SLURM on one login host about jobs, in batches."""

    def __init__(self, host: LoginHost, calls: Counter[str], timeout: float = 60.0) -> None:
        self.host = host
        self.calls = calls
        self.timeout = timeout

    def _run(self, program: str, command: str, env: Mapping[str, str]) -> tuple[int, str, str]:
        self.calls[program] += 1
        result = self.host.run(command, env=env, timeout=self.timeout)
        return result.exit_code, result.stdout, result.stderr

    def states(self, job_ids: Sequence[str], env: Mapping[str, str]) -> dict[str, SlurmJobState]:
        """The state of each job SLURM still knows; a job missing from the answer is unknown to SLURM."""
        ids = sorted(set(job_ids), key=_id_order)
        if not ids:
            return {}
        found = self.squeue(ids, env)
        unknown = [i for i in ids if i not in found]
        if unknown:
            found.update(self.accounting(unknown, env))
        return found

    def squeue(self, ids: Sequence[str], env: Mapping[str, str]) -> dict[str, SlurmJobState]:
        code, out, err = self._run("squeue", f"squeue -h --states=all -j {','.join(ids)} -O '{SQUEUE_FIELDS}'",
                                   env)
        if code != 0:
            if "Invalid job id" in err:   # every id asked for is unknown (squeue says so only for a single id)
                return {}
            if code == 127:
                raise JobTypeError("squeue is not installed or not on PATH", host=self.host.label,
                                   hint="install the SLURM client commands, or point 'host:' at the login node")
            raise ControllerUnreachable(f"squeue failed: {err.strip() or out.strip() or f'exit code {code}'}",
                                        host=self.host.label)
        rows: dict[str, list[tuple[str, Optional[str], Optional[int], Optional[int]]]] = {}
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) < 5 or not parts[0].strip():
                continue
            job_id, _task, state, reason, status = (p.strip() for p in parts[:5])
            exit_code, signal = _wait_status(status)
            rows.setdefault(job_id, []).append((_first_word(state), _reason(reason), exit_code, signal))
        return {job_id: _combine(job_id, tasks, "squeue") for job_id, tasks in rows.items()}

    def accounting(self, ids: Sequence[str], env: Mapping[str, str]) -> dict[str, SlurmJobState]:
        """Ended jobs ``squeue`` has forgotten: from ``sacct`` (accounting storage), else ``sacct -c`` (the
        job-completion log). Jobs neither knows are left out."""
        fields = "-n -P -o JobID,State,ExitCode"
        code, out, err = self._run("sacct", f"sacct -X {fields} -j {','.join(ids)}", env)
        source = "sacct"
        if code != 0:
            code, out, err = self._run("sacct", f"sacct -c {fields} -j {','.join(ids)}", env)
            source = "sacct -c"
            if code != 0:
                return {}
        rows: dict[str, list[tuple[str, Optional[str], Optional[int], Optional[int]]]] = {}
        wanted = set(ids)
        for line in out.splitlines():
            parts = line.split("|")
            if len(parts) < 3:
                continue
            raw_id, state, exit_text = (p.strip() for p in parts[:3])
            base = raw_id.split("_", 1)[0].split(".", 1)[0]
            if base not in wanted or "." in raw_id:
                continue
            exit_code, signal = _exit_pair(exit_text)
            rows.setdefault(base, []).append((_first_word(state), None, exit_code, signal))
        return {job_id: _combine(job_id, tasks, source) for job_id, tasks in rows.items()}

    def find_by_name(self, name: str, env: Mapping[str, str], folder: Optional[str] = None) -> Optional[str]:
        """The id of a job of this user that SLURM knows under ``name`` (and, given ``folder``, submitted from that
        folder): from ``squeue`` (queued, running, recently ended), else from the last week of accounting or the
        job-completion log. Jobs of other users or from other folders are never taken."""
        code, out, err = self._run(
            "squeue", f"echo \"cc-user=$(id -un)\"; squeue -h --states=all --name={shlex.quote(name)} -o '%F|%u|%Z'",
            env)
        if code != 0:
            raise ControllerUnreachable(f"squeue failed: {err.strip() or f'exit code {code}'}",
                                        host=self.host.label)
        lines = out.splitlines()
        user = lines[0].removeprefix("cc-user=").strip() if lines and lines[0].startswith("cc-user=") else ""
        ids = set()
        for line in lines[1:]:
            job_id, owner, workdir = (line.split("|") + ["", "", ""])[:3]
            if job_id.strip() and _is_ours(owner, workdir, user, folder):
                ids.add(job_id.strip())
        found = sorted(ids, key=_id_order)
        return found[-1] if found else self.accounting_by_name(name, env, user, folder)

    def accounting_by_name(self, name: str, env: Mapping[str, str], user: str = "",
                           folder: Optional[str] = None) -> Optional[str]:
        """The id of the last job of the past week named ``name`` (of ``user``, from ``folder``, when given), from
        accounting or the job-completion log."""
        # The job-completion log filters neither by name nor by user itself: ask for them and pick.
        query = f"-n -P -S now-7days --name={shlex.quote(name)} -o JobID,JobName,User,WorkDir"
        code, out, _ = self._run("sacct", f"sacct -X {query}", env)
        if code != 0:
            code, out, _ = self._run("sacct", f"sacct -c {query}", env)
        ids = set()
        for line in out.splitlines() if code == 0 else []:
            job_id, job_name, owner, workdir = (line.split("|") + ["", "", "", ""])[:4]
            if job_name.strip() == name and _is_ours(owner, workdir, user, folder):
                ids.add(job_id.split("_", 1)[0].strip())
        found = sorted(ids, key=_id_order)
        return found[-1] if found else None

    def cancel(self, ids: Sequence[str], env: Mapping[str, str]) -> None:
        """``scancel`` every job in one call (jobs that already ended are no error)."""
        if not ids:
            return
        code, out, err = self._run("scancel", f"scancel {' '.join(ids)}", env)
        if code != 0 and "Invalid job id" not in err and "already completing or completed" not in err:
            raise JobTypeError(f"scancel {' '.join(ids)} failed: {err.strip() or out.strip()}",
                               host=self.host.label)


def _is_ours(owner: str, workdir: str, user: str, folder: Optional[str]) -> bool:
    """A job SLURM lists belongs to this attempt: same user (sacct -c writes ``alice(1000)``) and, when known, the
    folder the attempt is submitted from (a folder given with ``~/`` matches on what follows the home)."""
    owner = owner.strip().split("(", 1)[0]
    if user and owner and owner != user:
        return False
    if folder is None:
        return True
    workdir = workdir.strip().rstrip("/")
    want = folder.rstrip("/")
    if want.startswith("~"):
        return workdir.endswith(want[1:]) and bool(want[1:])
    return workdir == want or (os.path.exists(want) and os.path.realpath(workdir) == os.path.realpath(want))


def _id_order(job_id: str) -> tuple[int, str]:
    return (int(job_id), "") if job_id.isdigit() else (1 << 62, job_id)


def _first_word(state: str) -> str:
    # sacct says "CANCELLED by 0"; squeue may add "+" to states of job steps.
    return state.split()[0].rstrip("+").upper() if state.split() else "UNKNOWN"


def _reason(reason: str) -> Optional[str]:
    return None if not reason or reason in ("None", "(null)", "N/A") else reason


def _wait_status(text: str) -> tuple[Optional[int], Optional[int]]:
    """squeue's ``exit_code`` is a wait status: exit code in the high byte, signal in the low bits."""
    try:
        status = int(text)
    except ValueError:
        return None, None
    signal = status & 0x7F
    return (None, signal) if signal else (status >> 8, None)


def _exit_pair(text: str) -> tuple[Optional[int], Optional[int]]:
    """sacct's ``ExitCode`` is ``code:signal``."""
    code_text, _, signal_text = text.partition(":")
    try:
        code, signal = int(code_text), int(signal_text or 0)
    except ValueError:
        return None, None
    return (None, signal) if signal else (code, None)


def _combine(job_id: str, tasks: list[tuple[str, Optional[str], Optional[int], Optional[int]]],
             source: str) -> SlurmJobState:
    """One state for a job from its rows (several for an array: one per task, or per group of pending tasks)."""
    if len(tasks) == 1:
        state, reason, exit_code, signal = tasks[0]
        return SlurmJobState(job_id, state, reason, exit_code, signal, source)
    going = [t for t in tasks if t[0] in GOING]
    waiting = [t for t in tasks if t[0] in WAITING]
    failed = [t for t in tasks if t[0] not in GOING | WAITING | {"COMPLETED"}]
    if going or waiting:
        state = "RUNNING" if going else "PENDING"
        reason = waiting[0][1] if waiting and not going else None
        return SlurmJobState(job_id, state, reason, source=source, tasks=len(tasks), tasks_failed=len(failed))
    if not failed:
        return SlurmJobState(job_id, "COMPLETED", exit_code=0, source=source, tasks=len(tasks))
    worst = min(failed, key=lambda t: _WORST_FIRST.index(t[0]) if t[0] in _WORST_FIRST else len(_WORST_FIRST))
    state, reason, _, _ = worst
    codes = [t[2] for t in failed if t[2]]
    return SlurmJobState(job_id, state, reason, max(codes) if codes else worst[2], worst[3], source,
                         tasks=len(tasks), tasks_failed=len(failed))
