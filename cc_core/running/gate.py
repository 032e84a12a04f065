"""The seam through which a run decides, job by job, whether a job needs to run at all.

The engine asks its gate once per job, when the job's parents are done and before the scheduler sees it. The cache
(:mod:`cc_core.cache`) is such a gate: it answers with the origin of an earlier successful attempt, and the job
becomes ``done (cached)`` without running. The engine knows nothing more about caching than this.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, Sequence

from cc_core.store.base import JobRecord
from cc_core.workflow.model import JobSpec


class JobGate(Protocol):
    def before_start(self, spec: JobSpec, record: JobRecord, parents: Sequence[JobRecord]) -> Optional[dict[str, Any]]:
        """Called on the engine's thread when every parent of the job is done, before it may be scheduled. May set
        fields of ``record`` (its cache key). Returns the job's ``origin`` when it need not run (the job becomes
        ``done`` with it), else ``None``. Must not raise: a gate that cannot decide lets the job run."""

    def after_done(self, spec: JobSpec, record: JobRecord) -> None:
        """Called on the engine's thread when a job that ran here ended ``done``, before its children start (so
        nothing they do is in what the gate keeps). May set fields of ``record``. Must not raise."""
