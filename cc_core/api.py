"""cc's Python API.

    from cc_core import Workflow

    wf = Workflow("analysis")
    wf.add_job("fetch", command="curl -O https://example.org/data.csv")
    wf.add_job("clean", script="clean.py", depends=["fetch"])
    result = wf.run()                       # blocks, returns the run's final state
    wf.export("svg")                        # the graph, coloured by the states of the latest run

``Workflow.start()`` returns a :class:`RunController` instead: the run goes on in a background thread, and jobs
may be added to it while it runs.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from cc_core.running.engine import Engine
from cc_core.errors import CCError, Problem, WorkflowError
from cc_core.running.events import Event, EventBus
from cc_core.workflow.model import JobSpec, WorkflowSpec
from cc_core.states import RunState
from cc_core.store.base import JobRecord, StatusStore


class RunController:
    """A run going on in a background thread of this process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.run_id = engine.run.id
        self._state: Optional[RunState] = None
        self._error: Optional[BaseException] = None
        self._done = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._callbacks_lock = threading.Lock()
        self._thread = threading.Thread(target=self._drive, name=f"cc-run-{self.run_id}", daemon=True)
        self._thread.start()

    def _drive(self) -> None:
        try:
            self._state = self.engine.execute()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            self._error = exc
        finally:
            with self._callbacks_lock:
                self._done.set()
                callbacks, self._callbacks = self._callbacks, []
            for callback in callbacks:
                callback()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` when the run has ended (from the run's thread; at once when it already has)."""
        with self._callbacks_lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def __await__(self) -> Any:
        """``state = await run``: waits for the run's end without blocking the event loop."""
        from cc_core.running.aio import awaitable

        return awaitable(self).__await__()

    def events(self) -> Any:
        """``async for event in run.events()``: the run's events from now on, until it finishes (call it inside
        a running event loop)."""
        from cc_core.running.aio import EventStream

        return EventStream(self.engine.bus, lambda: self.done)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: Optional[float] = None) -> RunState:
        """Wait for the run to end; returns its state (raises what stopped it, e.g. a store error)."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"run {self.run_id} is still going after {timeout} s")
        if self._error is not None:
            raise self._error
        assert self._state is not None
        return self._state

    def _command(self, name: str, *args: Any) -> Any:
        if self.done:
            raise CCError(f"run {self.run_id} has ended", hint="start a new run")
        return self.engine.command(name, *args).result(timeout=60)

    def kill(self, job: Optional[str] = None) -> None:
        """Kill one job (its descendants are skipped) or, without ``job``, the whole run."""
        self._command("kill", job)

    def add_job(self, job: JobSpec) -> None:
        self._command("add_job", job)

    def remove_job(self, name: str) -> None:
        self._command("remove_job", name)

    def add_dependency(self, parent: str, child: str) -> None:
        self._command("add_dependency", parent, child)

    def remove_dependency(self, parent: str, child: str) -> None:
        self._command("remove_dependency", parent, child)

    def detach(self) -> None:
        """Stop following the run; its jobs go on, and ``resume`` follows them again."""
        self.engine.detach()

    def subscribe(self, callback: Callable[[Event], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for each event of the run; returns the function that unsubscribes. A coroutine
        function (``async def``) is run on the event loop it was subscribed from, as is any callback subscribed
        from inside a running loop; other callbacks run on the run's thread and must be quick."""
        import asyncio
        import inspect

        try:
            asyncio.get_running_loop()
            in_loop = True
        except RuntimeError:
            in_loop = False
        if in_loop or inspect.iscoroutinefunction(callback):
            from cc_core.running.aio import subscribe_async

            return subscribe_async(self.engine.bus, callback)
        return self.engine.bus.subscribe(callback)

    def jobs(self) -> list[JobRecord]:
        return self.engine.store.get_jobs(self.run_id)


def start_run(spec: WorkflowSpec, *, scheduler: str = "parallel", max_parallel: Optional[int] = None,
              store: Optional[StatusStore] = None, bus: Optional[EventBus] = None,
              force: Sequence[str] = ()) -> RunController:
    """Validate ``spec``, record a new run and drive it in a background thread. ``force``: jobs that run even when
    their cache has a result."""
    from cc_core.running.runner import prepare_run

    return RunController(prepare_run(spec, scheduler=scheduler, max_parallel=max_parallel, store=store, bus=bus,
                                     force=force))


def rerun(run: str | int, *, stored: bool = False, jobs: Sequence[str] = (), max_parallel: Optional[int] = None,
          force: Sequence[str] = (), store: Optional[StatusStore] = None,
          bus: Optional[EventBus] = None) -> RunController:
    """Continue a run that ended failed or killed as a new run linked to it (``rerun_of``), in a background thread:
    its done jobs are carried over, failed, killed and skipped ones (and ``jobs`` with everything below them) run
    again. The workflow file the run came from is read again unless ``stored``. See docs/states.md, "Rerun"."""
    from cc_core.running.rerun import prepare_rerun

    return RunController(prepare_rerun(run, stored=stored, jobs=jobs, max_parallel=max_parallel, force=force,
                                       store=store, bus=bus))


class _class_or_instance:
    """A method that receives the class when called on it and the instance when called on one."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.__doc__ = function.__doc__

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        target = owner if instance is None else instance
        return lambda *args, **kwargs: self.function(target, *args, **kwargs)


class Workflow:
    """A workflow built in code (or loaded from a file) that can be run, inspected and exported."""

    def __init__(self, name: str, *, directory: str | Path | None = None, description: str = "") -> None:
        self.spec = WorkflowSpec(name=name, description=description,
                                 workflow_dir=str(Path(directory or Path.cwd()).resolve()))
        self._controller: Optional[RunController] = None

    @_class_or_instance
    def load(target: "Workflow | type[Workflow]", path: str | Path) -> "Workflow":
        """Load a workflow file: ``Workflow.load(path)`` returns a new workflow; ``wf.load(path)`` on a workflow
        fills that workflow (it never leaves it silently empty)."""
        from cc_core.workflow.file import load_workflow

        spec = load_workflow(path)
        wf = target if isinstance(target, Workflow) else target.__new__(target)
        wf.spec = spec
        wf._controller = None
        return wf

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def jobs(self) -> dict[str, JobSpec]:
        return self.spec.jobs

    @property
    def graph(self) -> Any:
        """The workflow as a networkx ``DiGraph`` (edges parent → child)."""
        from cc_core.workflow.dag import to_networkx

        return to_networkx(self.spec)

    def add_job(self, name: str, **fields: Any) -> JobSpec:
        """Add a job (fields as in a workflow file: script/notebook/command, kind, host, depends, ...). While a
        run started with :meth:`start` goes on, the job joins that run too. ``function=`` takes a Python function
        (or an ``@function``) called with ``args``/``kwargs``; :meth:`result_of` passes a parent's return value."""
        if name in self.spec.jobs:
            raise WorkflowError([Problem("a job of this name already exists", job=name)])
        if callable(fields.get("function")):
            from cc_core.functions.workflow_jobs import function_job_fields

            fields = function_job_fields(name, fields)
        try:
            job = JobSpec(name=name, **fields)
        except Exception as exc:  # pydantic's error, said in cc's words
            raise WorkflowError([Problem(_pydantic_message(exc), job=name)]) from None
        if self._running():
            assert self._controller is not None
            self._controller.add_job(job)
        self.spec.jobs[name] = job
        return job

    @staticmethod
    def result_of(job: str) -> Any:
        """Stands for the return value of function job ``job`` in another function job's ``args``/``kwargs``
        (the job then depends on it)."""
        from cc_core.functions.payload import ResultOf

        return ResultOf(job)

    def remove_job(self, name: str) -> None:
        if name not in self.spec.jobs:
            raise WorkflowError([Problem("no such job", job=name)])
        children = [j.name for j in self.spec.jobs.values() if name in j.depends]
        if children:
            raise WorkflowError([Problem(f"other jobs depend on it ({', '.join(children)})", job=name)])
        if self._running():
            assert self._controller is not None
            self._controller.remove_job(name)
        del self.spec.jobs[name]

    def add_dependency(self, parent: str, child: str) -> None:
        """``child`` starts only after ``parent`` is done."""
        from cc_core.workflow.dag import dependency_problems

        for name in (parent, child):
            if name not in self.spec.jobs:
                raise WorkflowError([Problem("no such job", job=name)])
        job = self.spec.jobs[child]
        if parent in job.depends:
            return
        jobs = dict(self.spec.jobs)
        jobs[child] = job.model_copy(update={"depends": [*job.depends, parent]})
        problems = dependency_problems(jobs)
        if problems:
            raise WorkflowError(problems)
        if self._running():
            assert self._controller is not None
            self._controller.add_dependency(parent, child)
        self.spec.jobs[child] = jobs[child]

    def remove_dependency(self, parent: str, child: str) -> None:
        job = self.spec.jobs[child]
        if self._running():
            assert self._controller is not None
            self._controller.remove_dependency(parent, child)
        self.spec.jobs[child] = job.model_copy(update={"depends": [p for p in job.depends if p != parent]})

    def validate(self) -> None:
        """Raise :class:`WorkflowError` listing every problem (cycles, unknown kinds, missing scripts, ...)."""
        from cc_core.workflow.validation import validate_workflow

        validate_workflow(self.spec)

    def start(self, *, scheduler: str = "parallel", max_parallel: Optional[int] = None,
              force: Sequence[str] = ()) -> RunController:
        """Start a run in the background and return its controller (``force``: jobs that ignore the cache)."""
        self._controller = start_run(self.spec.model_copy(deep=True), scheduler=scheduler,
                                     max_parallel=max_parallel, force=force)
        return self._controller

    def run(self, *, scheduler: str = "parallel", max_parallel: Optional[int] = None,
            timeout: Optional[float] = None, force: Sequence[str] = ()) -> RunState:
        """Run the workflow to its end; returns the run's state (``done`` when every job is done)."""
        return self.start(scheduler=scheduler, max_parallel=max_parallel, force=force).wait(timeout)

    def rerun(self, *, jobs: Sequence[str] = (), max_parallel: Optional[int] = None,
              force: Sequence[str] = ()) -> RunController:
        """Continue this workflow's latest run (it must have ended) with the workflow as it is now: its done jobs
        are carried over, the rest, ``jobs`` and everything below them run again. Returns the new run's controller."""
        from cc_core.running.rerun import prepare_rerun

        if self._running():
            raise CCError(f"workflow '{self.name}' has a run going in this process", hint="wait for it first")
        ref = self.run_id if self.run_id is not None else self.name
        self._controller = RunController(prepare_rerun(ref, jobs=jobs, spec=self.spec.model_copy(deep=True),
                                                       max_parallel=max_parallel, force=force))
        return self._controller

    async def run_async(self, *, scheduler: str = "parallel", max_parallel: Optional[int] = None) -> RunState:
        """:meth:`run` for asyncio: ``state = await wf.run_async()`` never blocks the event loop."""
        import asyncio

        controller = await asyncio.to_thread(self.start, scheduler=scheduler, max_parallel=max_parallel)
        return await controller

    def kill(self, job: Optional[str] = None) -> None:
        """Kill the current run (or one job of it)."""
        if self._controller is None:
            raise CCError(f"workflow '{self.name}' has no run going in this process")
        self._controller.kill(job)

    def _running(self) -> bool:
        return self._controller is not None and not self._controller.done

    @property
    def run_id(self) -> Optional[int]:
        return self._controller.run_id if self._controller else None

    def status(self) -> dict[str, Any]:
        """The latest run of this workflow: its state and each job's state, progress and exit code."""
        from cc_core.running.control import run_status

        return run_status(self.run_id if self.run_id is not None else self.name)

    def save(self, path: str | Path) -> Path:
        from cc_core.workflow.file import save_workflow

        return save_workflow(self.spec, path)

    def to_yaml(self) -> str:
        from cc_core.workflow.file import dump_workflow

        return dump_workflow(self.spec)

    def export(self, format: str = "yaml") -> str:
        """The workflow as YAML, or as SVG coloured by the states of its latest run."""
        if format == "yaml":
            return self.to_yaml()
        if format == "svg":
            from cc_core.running.control import latest_jobs
            from cc_core.drawing.svg import workflow_svg

            return workflow_svg(self.spec, latest_jobs(self.name))
        raise CCError(f"unknown export format '{format}' (formats: yaml, svg)")


def _pydantic_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors():
            where = ".".join(str(x) for x in err["loc"])
            parts.append(f"{where + ': ' if where else ''}{err['msg'].removeprefix('Value error, ')}")
        return "; ".join(parts)
    return str(exc)
