"""The CACHE section of ``make bench``: what continuing and skipping cost.

On W3 (20 layers x 25 jobs, each on all of the layer before; every job ``true``), in one CC_HOME:

- the first run with ``cache: true`` (every job runs, and its folder is kept in the cache);
- the same run without the cache, for comparison;
- an unchanged second run with the cache: no job process starts, every job is ``done (cached)``;
- ``ccw rerun`` of a run whose last layer failed on one job: 499 jobs carried over, one runs again.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, Callable

from measure import CommandFailed, Sample, run_once, summarise
from report import Table
from workloads import Workload, layers_all_to_all


def _workflow(path: Path, workload: Workload, cache: bool, fail: str = "", flag: Path | None = None) -> Path:
    lines = [f"name: bench-cache-{path.stem}", *(["cache: true"] if cache else []), "jobs:"]
    for name, parents in workload.jobs.items():
        command = f"test -e {flag}" if name == fail and flag is not None else "true"
        lines.append(f"  {name}:")
        lines.append(f"    command: {json.dumps(command)}")
        if parents:
            lines.append(f"    depends: [{', '.join(parents)}]")
    path.write_text("\n".join(lines) + "\n")
    return path


def _jobs_that_ran(home: Path, run_id: int) -> int:
    conn = sqlite3.connect(home / "cc.db")
    try:
        return int(conn.execute("SELECT count(*) FROM jobs WHERE run_id = ? AND origin IS NULL", (run_id,))
                   .fetchone()[0])
    finally:
        conn.close()


def _run(argv: list[str], env: dict[str, str]) -> Sample:
    return run_once(argv, env=env)


def _fail(argv: list[str], env: dict[str, str]) -> None:
    """A run that must end failed (exit code 1)."""
    code = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if code != 1:
        raise CommandFailed(f"{' '.join(argv)} exited {code}, expected 1 (a failed run)")


def cached_benchmark(work: Path, ccw: Path, runs: int, env_for: Callable[[Path], dict[str, str]]
                     ) -> tuple[str, Table, list[str]]:
    workload = Workload("W3", "20 layers x 25 jobs", layers_all_to_all(20, 25))
    parallel = ["--max-parallel", "2", "-q"]
    cached = _workflow(work / "cached.yaml", workload, cache=True)
    plain = _workflow(work / "plain.yaml", workload, cache=False)
    flag = work / "fixed"
    failing = _workflow(work / "failing.yaml", workload, cache=False, fail="l19_24", flag=flag)
    first, uncached, again, rerun = [], [], [], []
    ran_again = ran_rerun = -1
    for round_no in range(runs):
        home = work / f"home-cache-{round_no}"
        shutil.rmtree(home, ignore_errors=True)
        env = env_for(home)
        first.append(_run([str(ccw), "run", str(cached), *parallel], env))
        uncached.append(_run([str(ccw), "run", str(plain), *parallel], env))
        again.append(_run([str(ccw), "run", str(cached), *parallel], env))
        ran_again = _jobs_that_ran(home, 3)
        if flag.exists():
            flag.unlink()
        _fail([str(ccw), "run", str(failing), *parallel], env)
        flag.touch()
        rerun.append(_run([str(ccw), "rerun", "4", *parallel], env))
        ran_rerun = _jobs_that_ran(home, 5)
        shutil.rmtree(home, ignore_errors=True)
    s = {name: summarise(samples) for name, samples in
         (("first", first), ("uncached", uncached), ("again", again), ("rerun", rerun))}
    table = Table(["W3, 500 jobs, ccw run -j2 (whole process)", "wall", "spread", "jobs that ran"])
    table.add(["without the cache", f"{s['uncached'].wall:.2f} s", s["uncached"].spread, "500"])
    table.add(["first run, cache: true (folders kept)", f"{s['first'].wall:.2f} s", s["first"].spread, "500"])
    table.add(["unchanged second run: all done (cached)", f"{s['again'].wall:.2f} s", s["again"].spread,
               str(ran_again)])
    table.add(["ccw rerun after one job failed: 499 carried", f"{s['rerun'].wall:.2f} s", s["rerun"].spread,
               str(ran_rerun)])
    notes = [f"an unchanged cached run takes {s['again'].wall / s['uncached'].wall:.0%} of an uncached one; keeping "
             f"every folder costs the first run {s['first'].wall - s['uncached'].wall:+.2f} s"]
    if ran_again != 0 or ran_rerun != 1:
        raise CommandFailed(f"the cached run ran {ran_again} jobs (expected 0), the rerun {ran_rerun} (expected 1)")
    return f"Cache and rerun, {runs} runs each, medians", table, notes
