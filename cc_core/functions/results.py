"""A finished call's return value, or the error that says why there is none: read from the result file the
far-side runner wrote into the job's folder (copied back by the job type), the job's state and reason in the
store, and its log's tail. :func:`result` does it for any recorded call, from any later process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from cc_core.errors import CCError
from cc_core.functions.errors import (CallKilledError, CallLostError, CallTimeoutError, FunctionError,
                                      remote_error)
from cc_core.functions.payload import RESULT_NAME, read_outcome
from cc_core.states import JobState

LOG_TAIL = 4000


def log_path(job_dir: Path, job: str, attempt: int) -> Path:
    return job_dir / (f"{job}.log" if attempt <= 1 else f"{job}.attempt{attempt}.log")


def log_tail(path: Path, limit: int = LOG_TAIL) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def failure_reason(job_dir: Path, attempt: int) -> Optional[str]:
    """What a function job's result file says of its failure (``raised ValueError: ...``), for the store."""
    outcome = read_outcome(job_dir / RESULT_NAME)
    if outcome is None or outcome.ok or outcome.attempt not in ("", str(attempt)):
        return None
    header = outcome.header
    if header.get("kind") == "mismatch":
        return f"did not run: {header.get('message')}"
    type_name = f"{header.get('module')}.{header.get('type')}".removeprefix("builtins.")
    return f"raised {type_name}: {header.get('message')}"[:500]


def settle(run: int, run_dir: Path, job: str, state: JobState, attempt: int, reason: Optional[str]) -> Any:
    """The return value of a call whose job ended in ``state``; raises the matching :class:`FunctionError`."""
    job_dir = run_dir / job
    outcome = read_outcome(job_dir / RESULT_NAME)
    if outcome is not None and attempt > 0 and outcome.attempt not in ("", str(attempt)):
        outcome = None   # written by an earlier attempt (attempt 0: a cached result, brought from its run)
    if state is JobState.DONE:
        if outcome is None or not outcome.ok:
            raise FunctionError(f"call {job} of run {run} ended but left no result in {job_dir}", run=run, job=job,
                                log_tail=log_tail(log_path(job_dir, job, attempt)))
        return outcome.value()
    tail = log_tail(log_path(job_dir, job, attempt))
    where = f"call {job} of run {run}"
    if state is JobState.KILLED:
        raise CallKilledError(f"{where} was killed", run=run, job=job, log_tail=tail)
    if state is JobState.SKIPPED:
        raise FunctionError(f"{where} never ran: {reason or 'a parent did not finish'}", run=run, job=job)
    if outcome is not None and not outcome.ok:
        raise remote_error(outcome.header, outcome.exception(), run=run, job=job, log_tail=tail)
    text = reason or "it failed"
    if text.startswith("timeout"):
        raise CallTimeoutError(f"{where} timed out: {text}", run=run, job=job, log_tail=tail)
    if "lost" in text or "without recording an exit code" in text:
        raise CallLostError(f"{where} was lost: {text}", run=run, job=job, log_tail=tail)
    raise FunctionError(f"{where} failed: {text}" + (f"\n--- end of its log ---\n{tail}" if tail else ""),
                        run=run, job=job, log_tail=tail)


def result(run: int | str, job: str) -> Any:
    """The return value of call ``job`` of run ``run`` (a run id or name), loaded from its folder; raises what
    the call raised. A call still going raises :class:`CCError` saying so."""
    from cc_core.home import open_store
    from cc_core.running.control import effective_state

    store = open_store()
    record = store.find_run(run)
    jobs = {j.name: j for j in store.get_jobs(record.id)}
    if job not in jobs:
        raise CCError(f"run {record.id} has no call '{job}'", hint=f"'ccw status {record.id}' lists its jobs")
    found = jobs[job]
    origin = found.origin or {}
    if found.state is JobState.DONE and origin.get("how") == "carried" and origin.get("run") is not None:
        return result(int(origin["run"]), str(origin.get("job") or job))   # its folder stayed in that run
    if not found.state.is_final:
        state = effective_state(record).value
        raise CCError(f"call {job} of run {record.id} has not ended: it is {found.state.value} (run {state})",
                      hint=f"wait for it, or 'ccw run --resume {record.id}' when its runner died")
    return settle(record.id, Path(record.run_dir), job, found.state, found.attempt, found.reason)
