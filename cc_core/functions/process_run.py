"""The run that holds the calls one Python process makes outside a workflow.

It is created at the first call (named after the calling script or notebook) and stays ``running`` while the
process may still add calls; each call is a job added to it as it is made. A collector thread turns the run's
events into the futures' states, progress and results. When the process exits, the run is let go: it ends like
any run once its calls are over (the exit waits for them, as :class:`concurrent.futures.ThreadPoolExecutor`
does); a process that dies leaves it ``interrupted`` and ``ccw run --resume`` collects the calls.
"""

from __future__ import annotations

import atexit
import os
import queue
import re
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

from cc_core.functions.future import CallFuture
from cc_core.functions.payload import write_payload
from cc_core.running.events import Event, JobProgress, JobStateChanged, RunFinished
from cc_core.states import JobState


def run_name() -> str:
    """The calling script's or notebook's name (``analysis.py`` → ``analysis``)."""
    candidates = [os.environ.get("JPY_SESSION_NAME", ""), getattr(sys.modules.get("__main__"), "__file__", "") or "",
                  sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c") else ""]
    for candidate in candidates:
        stem = Path(candidate).stem
        if stem and "ipykernel" not in stem:
            name = re.sub(r"[^A-Za-z0-9_.\-]", "_", stem).lstrip(".-") or "calls"
            return name
    return "python"


def job_name(function: Callable[..., Any]) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "", getattr(function, "__name__", "call")) or "call"
    return name


class ProcessRun:
    """The calls of this process: one run, jobs added as calls are made."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._controller: Any = None
        self._run_dir: Optional[Path] = None
        self._counts: dict[str, int] = {}
        self._futures: dict[tuple[int, str], CallFuture] = {}
        self._events: "queue.SimpleQueue[Optional[tuple[Path, Event]]]" = queue.SimpleQueue()
        self._collector: Optional[threading.Thread] = None
        self._folder: Optional[Path] = None
        self._exit_registered = False
        self._home: Optional[Path] = None

    # ---------------------------------------------------------------------------------------------- calls
    def submit(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
               fields: dict[str, Any], ref: str) -> CallFuture:
        from cc_core.workflow.model import JobSpec

        with self._lock:
            name = self._next_name(job_name(function))
            folder = self._calls_folder()
        call_file = folder / f"{name}.pkl"
        write_payload(call_file, function=function, args=args, kwargs=kwargs, name=ref)
        fields = dict(fields)
        force = bool(fields.pop("force", False))
        spec = JobSpec(name=name, function=ref, call_file=str(call_file), **fields)
        identity = None
        if spec.cache:
            from cc_core.functions.call_cache import call_identity

            identity = call_identity(function, args, kwargs)
        with self._lock:
            controller = self._controller
            if controller is not None and self._home != _home():   # CC_HOME changed: a run there
                controller.engine.command("release")
                controller = None
            if controller is None or controller.done or not controller.engine.held_open:
                return self._start(spec, force, identity)
            if force:
                controller.engine.gate.forced([name])
            if identity is not None:
                controller.engine.gate.identify(name, identity)
            future = self._future(controller.run_id, name)
            added = controller.engine.command("add_job", spec)
        added.add_done_callback(lambda done: self._refused(future, done))
        return future

    def _refused(self, future: CallFuture, added: Any) -> None:
        error = added.exception()
        if error is not None:
            future._settle(error=error)

    def _next_name(self, base: str) -> str:
        count = self._counts.get(base, 0) + 1
        self._counts[base] = count
        return f"{base}-{count}"

    def _calls_folder(self) -> Path:
        home = _home()
        if self._folder is None or not self._folder.is_relative_to(home):
            self._folder = home / "calls" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder

    def _start(self, spec: Any, force: bool = False, identity: Optional[str] = None) -> CallFuture:
        from cc_core.api import RunController
        from cc_core.functions.call_cache import CallCacheGate
        from cc_core.functions.options import settings_max_parallel
        from cc_core.running.events import EventBus
        from cc_core.running.runner import prepare_run
        from cc_core.workflow.model import WorkflowSpec

        workflow = WorkflowSpec(name=run_name(), jobs={spec.name: spec}, workflow_dir=os.getcwd())
        bus = EventBus()
        holder: dict[str, Path] = {}
        bus.subscribe(lambda event: self._events.put((holder["dir"], event)))
        engine = prepare_run(workflow, max_parallel=self.max_parallel or settings_max_parallel(), bus=bus)
        engine.held_open = True
        engine.gate = CallCacheGate(workflow, engine.store, engine.run, _home())
        if force:
            engine.gate.forced([spec.name])
        if identity is not None:
            engine.gate.identify(spec.name, identity)
        self._home = _home()
        holder["dir"] = Path(engine.run.run_dir)
        future = self._future(engine.run.id, spec.name)
        self._ensure_collector()
        self._controller = RunController(engine)
        if not self._exit_registered:
            atexit.register(self.close)
            self._exit_registered = True
        return future

    max_parallel: Optional[int] = None

    def _future(self, run: int, job: str) -> CallFuture:
        future = CallFuture(run, job, lambda: self.kill(run, job))
        self._futures[(run, job)] = future
        return future

    def kill(self, run: int, job: str) -> None:
        controller = self._controller
        if controller is not None and controller.run_id == run and not controller.done:
            controller.engine.command("kill", job)
        else:
            from cc_core.running.control import kill

            kill(run, job)

    # ---------------------------------------------------------------------------------------------- events
    def _ensure_collector(self) -> None:
        if self._collector is None or not self._collector.is_alive():
            self._collector = threading.Thread(target=self._collect, name="cc-calls", daemon=True)
            self._collector.start()

    def _collect(self) -> None:
        from cc_core.functions.results import settle

        while True:
            item = self._events.get()
            if item is None:
                return
            run_dir, event = item
            if isinstance(event, RunFinished):
                continue
            future = self._futures.get((event.run_id, getattr(event, "job", "")))
            if future is None:
                continue
            if isinstance(event, JobProgress):
                future.progress, future.message = event.progress, event.message
            elif isinstance(event, JobStateChanged):
                future.state, future.attempt = event.state, event.attempt
                if event.state.is_final:
                    self._futures.pop((event.run_id, event.job), None)
                    if future.cancelled():
                        continue
                    try:
                        value = settle(event.run_id, run_dir, event.job, event.state, event.attempt, event.reason)
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller
                        future._settle(error=exc)
                    else:
                        future._settle(value)

    def close(self) -> None:
        """No more calls from this process: the run ends once its calls are over (waited for)."""
        with self._lock:
            controller, self._controller = self._controller, None
        if controller is None or controller.done:
            return
        try:
            controller.engine.command("release")
            controller.wait()
        except Exception:  # noqa: BLE001 - the run ended meanwhile
            pass


def _home() -> Path:
    from cc_core.home import cc_home

    return cc_home()


_current: Optional[ProcessRun] = None
_current_lock = threading.Lock()


def process_run() -> ProcessRun:
    global _current
    with _current_lock:
        if _current is None:
            _current = ProcessRun()
        return _current


def forget_process_run() -> None:
    """End this process's run of calls (waiting for its calls) and start the next call in a new one; for tests
    that change ``CC_HOME``, and for long-lived processes that want one run per batch of calls."""
    global _current
    with _current_lock:
        current, _current = _current, None
    if current is not None:
        current.close()
