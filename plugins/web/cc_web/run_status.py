"""A run's status as JSON, kept up to date from the store's ``seq`` instead of rebuilt for every request.

Many clients ask for the status of a big run while it goes (the GUI, scripts polling). Reading and encoding a
thousand jobs costs milliseconds each time, so each watched run keeps the JSON text of every job and, on each
request, reads and re-encodes only the jobs written since the ``seq`` it last saw.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Optional

from cc_core.store.base import RunRecord, StatusStore
from cc_web.models import job_json, run_json

_KEEP = 16


def dumps(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


@dataclass
class _Run:
    seq: int
    names: frozenset[str]
    order: dict[str, int] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)     # job name -> its JSON
    sorted_names: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _definition_names(run: RunRecord) -> frozenset[str]:
    return frozenset((run.definition or {}).get("jobs") or {})


class RunStatusCache:
    def __init__(self, store: StatusStore) -> None:
        self.store = store
        self._runs: "OrderedDict[int, _Run]" = OrderedDict()
        self._lock = threading.Lock()

    def _entry(self, run: RunRecord) -> _Run:
        with self._lock:
            entry = self._runs.get(run.id)
            if entry is not None:
                self._runs.move_to_end(run.id)
            return entry  # type: ignore[return-value]

    def jobs_json(self, run: RunRecord) -> tuple[str, dict[str, int], int]:
        """``(JSON array of the run's jobs, counts per state, seq)`` as the store has them now."""
        latest = getattr(self.store, "latest_seq", None)
        entry = self._entry(run)
        if entry is None or entry.names != _definition_names(run) or latest is None:
            entry = self._build(run, latest)
        else:
            with entry.lock:
                mark = latest()
                if mark > entry.seq:
                    changed = self.store.get_jobs(run.id, since_seq=entry.seq)
                    if any(job.name not in entry.text for job in changed):
                        entry = self._build(run, latest)
                    else:
                        for job in changed:
                            entry.states[job.name] = job.state.value
                            entry.text[job.name] = dumps(job_json(job))
                        entry.seq = mark
        with entry.lock:
            body = "[" + ",".join(entry.text[n] for n in entry.sorted_names) + "]"
            return body, dict(Counter(entry.states.values())), entry.seq

    def _build(self, run: RunRecord, latest: Optional[object]) -> _Run:
        mark = latest() if callable(latest) else 0
        jobs = self.store.get_jobs(run.id)
        entry = _Run(seq=int(mark or 0), names=_definition_names(run))
        for job in jobs:
            entry.order[job.name] = job.order
            entry.states[job.name] = job.state.value
            entry.text[job.name] = dumps(job_json(job))
        entry.sorted_names = sorted(entry.text, key=lambda n: entry.order[n])
        with self._lock:
            self._runs[run.id] = entry
            while len(self._runs) > _KEEP:
                self._runs.popitem(last=False)
        return entry

    def status_json(self, run: RunRecord) -> str:
        """The body of ``GET /api/runs/{run}`` (:class:`cc_web.models.RunStatus`)."""
        jobs, counts, _ = self.jobs_json(run)
        head = dumps({**run_json(run), "counts": counts})
        return head[:-1] + ',"jobs":' + jobs + "}"
