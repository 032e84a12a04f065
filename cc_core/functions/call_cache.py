"""Cached calls outside a workflow: ``@function(cache=True)``.

A call whose function (its code, as pickled), arguments and environment (job type, host, options, Python,
``venv:`` or ``requirements:``, ``env:``, the content of its ``inputs:``) match an earlier successful call of any
process's run of calls is ``done (cached)`` in this process's run without running: the earlier call's job folder,
with its result, is copied in. The gate of a process's run (a :class:`~cc_core.running.gate.JobGate`); a call that
raised ended ``failed`` and is never kept.
"""

from __future__ import annotations

import logging
import types
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from cc_core.cache.folder import copy_folder, keep
from cc_core.cache.key import _NOT_IN_DEFINITION, _canonical, cache_key, digest, key_parts
from cc_core.cache.lookup import origin_of
from cc_core.store.base import CacheHit, JobRecord, RunRecord, StatusStore
from cc_core.workflow.model import JobSpec, WorkflowSpec

log = logging.getLogger(__name__)

SCOPE = "calls"
"""Cached calls are kept under ``$CC_HOME/cache/calls/`` and found by key alone (any run, any job name)."""

_PER_CALL = {"name", "call_file"}   # differ from call to call; the call's identity is the key part ``call``


def call_identity(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The identity of a call for the cache: its function and arguments as pickled, where a function of the main
    script or notebook does not carry the name of the file it was defined in (a notebook's cells are a new file in
    every kernel session; a script may be renamed), only its code."""
    import cloudpickle

    if getattr(function, "__module__", None) == "__main__" and isinstance(function, types.FunctionType):
        original = function
        names = {k: v for k, v in function.__globals__.items() if k != "__file__"}   # hashed, never run
        function = types.FunctionType(_without_file(function.__code__), names, function.__name__,
                                      function.__defaults__, function.__closure__)
        function.__qualname__, function.__kwdefaults__ = original.__qualname__, original.__kwdefaults__
    return digest(cloudpickle.dumps({"function": function, "args": args, "kwargs": kwargs}, protocol=5))


def _without_file(code: types.CodeType) -> types.CodeType:
    consts = tuple(_without_file(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename="<cc call>", co_consts=consts)


def call_key_parts(workflow: WorkflowSpec, spec: JobSpec, identity: Optional[str] = None) -> Optional[dict[str, str]]:
    """The parts of a call's key: the workflow key parts with a definition that leaves out the job's name and its
    payload's path (one per call), the call's :func:`call_identity` when known, plus a scope, so a workflow job
    never matches a call."""
    parts = key_parts(workflow, spec, ())
    if parts is None or "call" not in parts:
        return None
    if identity is not None:
        parts["call"] = identity
    definition = spec.model_dump(exclude=_NOT_IN_DEFINITION | _PER_CALL)
    parts["definition"] = digest(_canonical(definition))
    parts["scope"] = digest(SCOPE)
    return parts


class CallCacheGate:
    """Looks up calls whose cache is on; keeps the folder of each such call that ends done."""

    def __init__(self, workflow: WorkflowSpec, store: StatusStore, run: RunRecord, home: Path) -> None:
        self.workflow = workflow
        self.store = store
        self.run = run
        self.root = home / "cache" / SCOPE
        self.force: set[str] = set()
        self.identities: dict[str, str] = {}   # call name -> call_identity, set before the call is added

    def before_start(self, spec: JobSpec, record: JobRecord, parents: Sequence[JobRecord]) -> Optional[dict[str, Any]]:
        if not spec.cache:
            return None
        try:
            parts = call_key_parts(self.workflow, spec, self.identities.pop(spec.name, None))
            if parts is None:
                return None
            record.cache_parts = parts
            record.cache_key = cache_key(parts)
            if spec.name in self.force:
                return None
            hit = self._hit(record.cache_key)
            if hit is None:
                return None
            target = copy_folder(Path(hit.cache_copy), Path(self.run.run_dir) / spec.name)
        except Exception as exc:  # noqa: BLE001 - an unreadable input or a full disk: the call simply runs
            log.warning("call '%s': cache not used (%s)", spec.name, exc)
            return None
        record.cache_copy = hit.cache_copy
        if hit.job.log_path:
            record.log_path = str(target / Path(hit.job.log_path).name)
        return origin_of(hit)

    def _hit(self, key: str) -> Optional[CacheHit]:
        for hit in self.store.find_cached(None, None, key):
            if Path(hit.cache_copy).is_dir():
                return hit
        return None

    def after_done(self, spec: JobSpec, record: JobRecord) -> None:
        if record.cache_key is None:
            return
        job_dir = Path(self.run.run_dir) / spec.name
        name = f"{record.cache_key[:20]}-run{self.run.id}-{spec.name}"
        try:
            record.cache_copy = str(keep(job_dir, self.root / name))
        except OSError as exc:
            log.warning("call '%s': its folder could not be kept in the cache (%s)", spec.name, exc)

    def forced(self, names: Iterable[str]) -> None:
        self.force.update(names)

    def identify(self, name: str, identity: str) -> None:
        self.identities[name] = identity
