"""``ccw diff A B``: which jobs of two runs differ, and why.

A job differs by its definition (the fields that changed are named), its dependencies, the content of its script
or of its inputs (known for jobs whose cache was on: their key's parts are recorded), or because a parent differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from cc_core.store.base import JobRecord, RunRecord, StatusStore

_CONTENT_PARTS = {"script": "script content", "inputs": "input content", "setting": "cache key string"}


@dataclass
class JobDifference:
    job: str
    why: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job, "why": list(self.why)}


def _order(definitions: dict[str, Any]) -> list[str]:
    from cc_core.workflow.dag import topological_order

    try:
        return topological_order({n: list(d.get("depends") or []) for n, d in definitions.items()})
    except Exception:  # noqa: BLE001 - a stored definition is acyclic; any order will still do
        return list(definitions)


def _changed_fields(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(a) | set(b) if k != "depends" and a.get(k) != b.get(k))


def _content(a: Optional[JobRecord], b: Optional[JobRecord]) -> list[str]:
    parts_a = (a.cache_parts if a else None) or {}
    parts_b = (b.cache_parts if b else None) or {}
    why = []
    for part in sorted(set(parts_a) & set(parts_b) - {"definition", "parents"}):
        if parts_a[part] != parts_b[part]:
            why.append(_CONTENT_PARTS.get(part, part))
    return why


def diff_runs(a: str | int, b: str | int, store: Optional[StatusStore] = None) -> tuple[RunRecord, RunRecord,
                                                                                           list[JobDifference]]:
    """The two runs and the jobs that differ between them, parents first."""
    from cc_core.home import open_store

    store = store or open_store()
    run_a, run_b = store.find_run(a), store.find_run(b)
    defs_a = (run_a.definition or {}).get("jobs") or {}
    defs_b = (run_b.definition or {}).get("jobs") or {}
    jobs_a = {r.name: r for r in store.get_jobs(run_a.id)}
    jobs_b = {r.name: r for r in store.get_jobs(run_b.id)}
    names = _order(defs_b) + [n for n in _order(defs_a) if n not in defs_b]
    differing: set[str] = set()
    found: list[JobDifference] = []
    for name in names:
        if name not in defs_a:
            why = [f"only in run {run_b.id}"]
        elif name not in defs_b:
            why = [f"only in run {run_a.id}"]
        else:
            why = []
            fields = _changed_fields(defs_a[name], defs_b[name])
            if fields:
                why.append(f"definition ({', '.join(fields)})")
            deps_a, deps_b = sorted(defs_a[name].get("depends") or []), sorted(defs_b[name].get("depends") or [])
            if deps_a != deps_b:
                why.append("dependencies")
            why += _content(jobs_a.get(name), jobs_b.get(name))
            why += [f"parent {p}" for p in deps_b if p in differing]
        if why:
            differing.add(name)
            found.append(JobDifference(name, why))
    return run_a, run_b, found
