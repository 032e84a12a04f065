"""Acting on recorded runs from any process: status, kill, resume.

A run driven by a live process is controlled through requests left in the store (the driver picks them up within
a quarter of a second). A run that nobody drives (its process died, or it detached) is taken over here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from cc_core.errors import RunEndedError
from cc_core.home import open_store
from cc_core.running.run_lock import is_driven
from cc_core.states import JobState, RunState
from cc_core.store.base import JobRecord, RunRecord, StatusStore


def effective_state(run: RunRecord) -> RunState:
    """The run's state as a reader should see it: ``interrupted`` when it says running but nobody drives it."""
    if run.state is RunState.RUNNING and not is_driven(Path(run.run_dir)):
        return RunState.INTERRUPTED
    return run.state


def run_status(ref: str | int, store: Optional[StatusStore] = None) -> dict[str, Any]:
    """The run and every job's state, progress, message and exit code: a dict (what ``--json`` prints) that
    prints as a table and shows as one in a notebook."""
    from cc_core.drawing.status_table import RunStatus

    store = store or open_store()
    run = store.find_run(ref)
    data = RunStatus(run.to_json())
    data.pop("definition", None)
    data["state"] = effective_state(run).value
    data["jobs"] = [job.to_json() for job in store.get_jobs(run.id)]
    return data


def latest_jobs(workflow: str, store: Optional[StatusStore] = None) -> Optional[list[JobRecord]]:
    from cc_core.errors import RunNotFoundError

    store = store or open_store()
    try:
        run = store.find_run(workflow)
    except RunNotFoundError:
        return None
    return store.get_jobs(run.id)


@dataclass(frozen=True)
class KillOutcome:
    """What a kill did: the run as recorded afterwards, the jobs the kill ended and, when it ended none, the final
    state of what was to be killed (the job's, or the run's)."""

    run: RunRecord
    killed: list[str]
    job: Optional[str] = None
    already: Optional[str] = None   # "done", "failed", ...: nothing was left to kill

    def message(self) -> str:
        if self.killed:
            count = len(self.killed)
            return f"killed {count} job{'s' if count != 1 else ''} of run {self.run.id}"
        what = f"job {self.job} of run {self.run.id}" if self.job else f"run {self.run.id}"
        return f"{what} already ended: {self.already}"


def kill(ref: str | int, job: Optional[str] = None, *, store: Optional[StatusStore] = None,
         wait: float = 30.0) -> KillOutcome:
    """Kill a run (or one of its jobs) whoever drives it; a run nobody drives is taken over here, without starting
    anything new. Raises :class:`cc_core.errors.JobNotFoundError` for a job the run does not have."""
    store = store or open_store()
    run = store.find_run(ref)
    before = {j.name: j.state for j in store.get_jobs(run.id)}
    if job is not None and job not in before:
        from cc_core.errors import JobNotFoundError

        raise JobNotFoundError(f"run {run.id} has no job '{job}'",
                               hint=f"'ccw status {run.id}' lists its jobs")
    if job is not None and before[job].is_final:
        return KillOutcome(run, [], job, before[job].value)
    if run.state.is_final:
        return KillOutcome(run, [], job, run.state.value)
    if is_driven(Path(run.run_dir)):
        store.add_request(run.id, "kill", {"job": job})
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if job is None and store.get_run(run.id).state.is_final:
                break
            if job is not None and _job_final(store, run.id, job):
                break
            time.sleep(0.05)
    else:
        _take_over_and_kill(store, run, job)
    after = {j.name: j for j in store.get_jobs(run.id)}
    killed = [name for name, state in before.items()
              if not state.is_final and name in after and after[name].state is JobState.KILLED]
    current = store.get_run(run.id)
    if killed:
        return KillOutcome(current, killed, job)
    if job is not None:
        return KillOutcome(current, [], job, after[job].state.value if job in after else "removed")
    return KillOutcome(current, [], None, effective_state(current).value)


def _take_over_and_kill(store: StatusStore, run: RunRecord, job: Optional[str]) -> None:
    """Nobody drives the run: follow it here without starting anything new, kill, follow the killed jobs to their
    end. After a job's kill the run is left as it was (its other jobs go on) unless nothing is left to follow."""
    from cc_core.running.events import JobStateChanged
    from cc_core.running.runner import prepare_resume

    engine = prepare_resume(run.id, store=store)
    engine.schedule_new = False
    if job is not None:
        def detach_when_done(event: object) -> None:
            if isinstance(event, JobStateChanged) and event.job == job and event.state.is_final:
                engine.detach()
        engine.bus.subscribe(detach_when_done)
    engine.command("kill", job)
    engine.execute()


def _job_final(store: StatusStore, run_id: int, job: str) -> bool:
    for record in store.get_jobs(run_id):
        if record.name == job:
            return record.state.is_final
    return True


def resume(ref: str | int, *, max_parallel: Optional[int] = None) -> Any:
    """Continue a run whose driver died or detached, in a background thread of this process. A run that ended
    failed or killed is not resumed (:func:`refuse_ended`): it is continued by a rerun."""
    from cc_core.api import RunController
    from cc_core.running.runner import prepare_resume

    refuse_ended(open_store().find_run(ref))
    return RunController(prepare_resume(ref, max_parallel=max_parallel))


def refuse_ended(run: RunRecord) -> None:
    """``--resume`` follows a run whose runner died or left; one that ended failed or killed is rerun instead."""
    if run.state.value in ("failed", "killed"):
        raise RunEndedError(f"run {run.id} has ended {run.state.value}; resume follows a run whose runner died or "
                      "detached", hint=f"continue it as a new run (done jobs carried over): ccw rerun {run.id}")
