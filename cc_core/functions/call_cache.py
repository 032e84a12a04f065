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

from cc_core.cache.gate import CacheGate, cache_root
from cc_core.cache.key import _NOT_IN_DEFINITION, _canonical, digest, key_parts
from cc_core.cache.lookup import find_hit
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


class CallCacheGate(CacheGate):
    """Looks up calls whose cache is on; keeps the folder of each such call that ends done."""

    what = "call"

    def __init__(self, workflow: WorkflowSpec, store: StatusStore, run: RunRecord, home: Path) -> None:
        super().__init__(workflow, store, run, home)
        self.root = cache_root(home) / SCOPE
        self.identities: dict[str, str] = {}   # call name -> call_identity, set before the call is added

    def _cache_on(self, spec: JobSpec) -> bool:
        return bool(spec.cache)

    def _key_parts(self, spec: JobSpec, parents: Sequence[JobRecord]) -> Optional[dict[str, str]]:
        return call_key_parts(self.workflow, spec, self.identities.pop(spec.name, None))

    def _find(self, spec: JobSpec, key: str) -> Optional[CacheHit]:
        return find_hit(self.store, None, None, key)     # any run, any job name

    def _kept_at(self, spec: JobSpec, record: JobRecord) -> Path:
        assert record.cache_key is not None
        return self.root / f"{record.cache_key[:20]}-run{self.run.id}-{spec.name}"

    def forced(self, names: Iterable[str]) -> None:
        self.force.update(names)

    def identify(self, name: str, identity: str) -> None:
        self.identities[name] = identity
