"""Acting on recorded runs from any process: status, kill, resume.

A run driven by a live process is controlled through requests left in the store (the driver picks them up within
a quarter of a second). A run that nobody drives (its process died, or it detached) is taken over here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from cc_core.home import open_store
from cc_core.running.run_lock import is_driven
from cc_core.states import RunState
from cc_core.store.base import JobRecord, RunRecord, StatusStore


def effective_state(run: RunRecord) -> RunState:
    """The run's state as a reader should see it: ``interrupted`` when it says running but nobody drives it."""
    if run.state is RunState.RUNNING and not is_driven(Path(run.run_dir)):
        return RunState.INTERRUPTED
    return run.state


def run_status(ref: str | int, store: Optional[StatusStore] = None) -> dict[str, Any]:
    store = store or open_store()
    run = store.find_run(ref)
    data = run.to_json()
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


def kill(ref: str | int, job: Optional[str] = None, *, store: Optional[StatusStore] = None,
         wait: float = 30.0) -> RunRecord:
    """Kill a run (or one of its jobs) whoever drives it. Returns the run as recorded afterwards."""
    store = store or open_store()
    run = store.find_run(ref)
    if job is not None:
        names = {j.name for j in store.get_jobs(run.id)}
        if job not in names:
            from cc_core.errors import JobNotFoundError

            raise JobNotFoundError(f"run {run.id} has no job '{job}'")
    if run.state.is_final:
        return run
    if is_driven(Path(run.run_dir)):
        store.add_request(run.id, "kill", {"job": job})
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            current = store.get_run(run.id)
            if job is None and current.state.is_final:
                return current
            if job is not None and _job_final(store, run.id, job):
                return current
            time.sleep(0.05)
        return store.get_run(run.id)
    # Nobody drives it: take it over without starting anything new, kill, follow the killed jobs to their end.
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
    return store.get_run(run.id)


def _job_final(store: StatusStore, run_id: int, job: str) -> bool:
    for record in store.get_jobs(run_id):
        if record.name == job:
            return record.state.is_final
    return True


def resume(ref: str | int, *, max_parallel: Optional[int] = None) -> Any:
    """Continue a run whose driver died or detached, in a background thread of this process."""
    from cc_core.api import RunController
    from cc_core.running.runner import prepare_resume

    return RunController(prepare_resume(ref, max_parallel=max_parallel))
