"""The cache as the engine's :class:`~cc_core.running.gate.JobGate`: before a job with ``cache:`` on is scheduled,
its key is computed and looked up; on a hit the kept folder is copied into the run and the job is done (cached).
When a job with a key ends done, its folder is kept in ``$CC_HOME/cache`` before its children start."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from cc_core.cache.folder import copy_folder, keep
from cc_core.cache.key import cache_key, key_parts
from cc_core.cache.lookup import find_hit, origin_of
from cc_core.store.base import CacheHit, JobRecord, RunRecord, StatusStore
from cc_core.workflow.model import JobSpec, WorkflowSpec

log = logging.getLogger(__name__)


def cache_root(home: Path) -> Path:
    return home / "cache"


class CacheGate:
    def __init__(self, workflow: WorkflowSpec, store: StatusStore, run: RunRecord, home: Path,
                 force: Iterable[str] = ()) -> None:
        self.workflow = workflow
        self.store = store
        self.run = run
        self.root = cache_root(home) / run.workflow
        self.force: set[str] = set(force)   # jobs whose cache is skipped (--force; forced calls join later)

    what = "job"   # in warnings: "job 'x': cache not used"

    def before_start(self, spec: JobSpec, record: JobRecord, parents: Sequence[JobRecord]) -> Optional[dict[str, Any]]:
        if not self._cache_on(spec):
            return None
        try:
            parts = self._key_parts(spec, parents)
            if parts is None:
                return None
            record.cache_parts = parts
            record.cache_key = cache_key(parts)
            if spec.name in self.force:
                return None
            hit = self._find(spec, record.cache_key)
            if hit is None:
                return None
            target = copy_folder(Path(hit.cache_copy), Path(self.run.run_dir) / spec.name)
        except Exception as exc:  # noqa: BLE001 - an unreadable input or a full disk: the job simply runs
            log.warning("%s '%s': cache not used (%s)", self.what, spec.name, exc)
            return None
        record.cache_copy = hit.cache_copy
        if hit.job.log_path:
            record.log_path = str(target / Path(hit.job.log_path).name)
        return origin_of(hit)

    def after_done(self, spec: JobSpec, record: JobRecord) -> None:
        if record.cache_key is None:
            return
        job_dir = Path(self.run.run_dir) / spec.name
        try:
            record.cache_copy = str(keep(job_dir, self._kept_at(spec, record)))
        except OSError as exc:
            log.warning("%s '%s': its folder could not be kept in the cache (%s)", self.what, spec.name, exc)

    # What a kind of gate decides for itself: whether a job's cache is on, its key, where a hit is looked for
    # and where a done job's folder is kept.
    def _cache_on(self, spec: JobSpec) -> bool:
        return bool(self.workflow.cache_of(spec))

    def _key_parts(self, spec: JobSpec, parents: Sequence[JobRecord]) -> Optional[dict[str, str]]:
        return key_parts(self.workflow, spec, parents)

    def _find(self, spec: JobSpec, key: str) -> Optional[CacheHit]:
        return find_hit(self.store, self.run.workflow, spec.name, key)

    def _kept_at(self, spec: JobSpec, record: JobRecord) -> Path:
        assert record.cache_key is not None
        return self.root / spec.name / f"{record.cache_key[:20]}-run{self.run.id}-attempt{record.attempt}"

def cache_gate(workflow: WorkflowSpec, store: StatusStore, run: RunRecord, home: Path) -> Optional[CacheGate]:
    """The gate for a run, or ``None`` when no job of the workflow has its cache on (nothing to ask)."""
    if not any(workflow.cache_of(job) for job in workflow.jobs.values()):
        return None
    return CacheGate(workflow, store, run, home, run.options.get("force") or ())
