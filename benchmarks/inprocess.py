"""One run of a workflow inside this process (``prepare_run`` + ``Engine.execute``), reported as JSON on stdout:
how long loading, preparing and executing took, the edge latencies seen in the store, and this process's peak
RSS. Run it with the cc environment's Python and a fresh ``CC_HOME``::

    CC_HOME=/tmp/x python inprocess.py WORKFLOW.yaml MAX_PARALLEL
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time


def edge_latencies(store: object, run_id: int, parents: dict[str, list[str]]) -> dict[str, list[float]]:
    """For each job with one parent: its parent's ``done`` to its ``queued`` and to its ``running``."""
    at: dict[tuple[str, str], float] = {}
    for t in store.get_transitions(run_id):  # type: ignore[attr-defined]
        at.setdefault((t.job, t.state.value), t.at)
    queued, running = [], []
    for job, ps in parents.items():
        if len(ps) == 1 and (ps[0], "done") in at:
            done = at[(ps[0], "done")]
            queued.append(at[(job, "queued")] - done)
            running.append(at[(job, "running")] - done)
    return {"queued": queued, "running": running}


def main(path: str, max_parallel: int) -> None:
    start = time.perf_counter()
    from cc_core.running.runner import prepare_run
    from cc_core.workflow.file import load_workflow

    imported = time.perf_counter()
    spec = load_workflow(path)
    loaded = time.perf_counter()
    engine = prepare_run(spec, max_parallel=max_parallel)
    prepared = time.perf_counter()
    state = engine.execute()
    executed = time.perf_counter()
    store = engine.store
    jobs = store.get_jobs(engine.run.id)
    transitions = store.get_transitions(engine.run.id)
    parents = {name: list(job.depends) for name, job in spec.jobs.items()}
    latency = edge_latencies(store, engine.run.id, parents)
    out = {
        "state": state.value,
        "jobs": len(jobs),
        "jobs_done": sum(1 for j in jobs if j.state.value == "done"),
        "transitions": len(transitions),
        "import": imported - start,
        "load": loaded - imported,
        "prepare": prepared - loaded,
        "execute": executed - prepared,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "latency_queued_median": statistics.median(latency["queued"]) if latency["queued"] else None,
        "latency_running_median": statistics.median(latency["running"]) if latency["running"] else None,
        "latency_running_p95": (sorted(latency["running"])[int(0.95 * (len(latency["running"]) - 1))]
                                if latency["running"] else None),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
