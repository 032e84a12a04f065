"""Starting and steering runs from the service.

A run started (or resumed) through the service is driven by a background thread of the service's process; its
controller is kept here so that changes reach the run at once. A run driven by another process (``ccw run``) or by
no process at all is steered through :mod:`cc_core.running.control` and the store's requests, exactly as the CLI does.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from cc_core.errors import CCError, RunEndedError, RunLockedError  # noqa: F401 - RunEndedError is raised from here too
from cc_core.workflow.model import JobSpec, WorkflowSpec
from cc_core.store.base import StatusStore

Wake = Callable[[int], None]
KILL_WAIT = 5.0




class RunControl:
    def __init__(self, store: StatusStore, wake: Optional[Wake] = None) -> None:
        self.store = store
        self.wake = wake
        self._controllers: dict[int, Any] = {}
        self._lock = threading.Lock()

    def _keep(self, controller: Any) -> int:
        run_id = int(controller.run_id)
        with self._lock:
            self._controllers[run_id] = controller
        if self.wake is not None:
            wake = self.wake
            try:
                controller.subscribe(lambda event: wake(run_id))
            except Exception:  # noqa: BLE001 - without a subscription the store is still polled
                pass
        return run_id

    def controller(self, run_id: int) -> Optional[Any]:
        with self._lock:
            return self._controllers.get(run_id)

    def start(self, spec: WorkflowSpec, scheduler: str, max_parallel: Optional[int]) -> int:
        from cc_core.api import start_run

        return self._keep(start_run(spec, scheduler=scheduler, max_parallel=max_parallel))

    def resume(self, run_id: int, max_parallel: Optional[int] = None) -> int:
        from cc_core.running.control import resume
        from cc_core.running.run_lock import is_driven

        run = self.store.get_run(run_id)
        if is_driven(Path(run.run_dir)):
            raise RunLockedError(f"run {run_id} is still being driven; there is nothing to resume",
                                 hint=f"follow it with GET /api/runs/{run_id}/events")
        return self._keep(resume(run_id, max_parallel=max_parallel))

    def rerun(self, run_id: int, *, stored: bool = False, jobs: Sequence[str] = ()) -> int:
        """A new run continuing ``run_id`` (see docs/states.md, "Rerun"), driven here. A run started from a stored
        workflow is continued with that workflow as it is stored now (unless ``stored``)."""
        from cc_core.api import RunController
        from cc_core.errors import RunNotFoundError
        from cc_core.running.rerun import prepare_rerun
        from cc_web.stored_workflows import load_stored

        run = self.store.get_run(run_id)
        spec = None
        if not stored and not run.options.get("source"):
            try:
                spec = load_stored(self.store.get_workflow(run.workflow))
            except RunNotFoundError:
                spec = None   # built in code: its definition as it was run
        return self._keep(RunController(prepare_rerun(run_id, stored=stored, jobs=jobs, spec=spec,
                                                      store=self.store)))

    def kill(self, run_id: int, job: Optional[str] = None) -> None:
        """Kill a run or one job; waits a little for the kill to be recorded, so a status read next sees it."""
        from cc_core.running.control import kill

        controller = self._running(run_id)
        if controller is not None:
            controller.kill(job)
            return
        kill(run_id, job, store=self.store, wait=KILL_WAIT)

    def add_job(self, run_id: int, job: JobSpec) -> None:
        controller = self._running(run_id)
        if controller is not None:
            controller.add_job(job)
            return
        self.store.add_request(run_id, "add_job", {"job": job.model_dump(mode="json")})

    def _running(self, run_id: int) -> Optional[Any]:
        controller = self.controller(run_id)
        if controller is None or controller.done:
            return None
        return controller

    def detach_all(self, wait: float = 10.0) -> None:
        """Leave every run this process drives (the service is stopping): their jobs go on and the runs read
        ``detached``, so ``resume`` (here after a restart, or ``ccw run --resume``) follows them again."""
        with self._lock:
            going = [c for c in self._controllers.values() if not c.done]
            self._controllers.clear()
        for controller in going:
            controller.detach()
        for controller in going:
            try:
                controller.wait(timeout=wait)
            except Exception:  # noqa: BLE001 - a run that fails to stop cleanly is read as interrupted
                pass
