"""Finding an earlier successful attempt with a job's cache key whose kept folder is still there."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from cc_core.store.base import CacheHit, StatusStore


def find_hit(store: StatusStore, workflow: Optional[str], job: Optional[str], key: str) -> Optional[CacheHit]:
    """The newest earlier attempt of ``job`` in ``workflow`` (``None``: any) that ended done with ``key`` and whose
    cached folder exists (``$CC_HOME/cache`` may be cleared at any time: then the job runs again)."""
    for hit in store.find_cached(workflow, job, key):
        if Path(hit.cache_copy).is_dir():
            return hit
    return None


def origin_of(hit: CacheHit) -> dict[str, object]:
    """The ``origin`` of a job taken from ``hit``: the attempt that really ran, also when ``hit`` was cached."""
    earlier = hit.job.origin
    if earlier:
        return {"how": "cached", "run": earlier["run"], "job": earlier["job"], "attempt": earlier["attempt"]}
    return {"how": "cached", "run": hit.run_id, "job": hit.job.name, "attempt": hit.job.attempt}
