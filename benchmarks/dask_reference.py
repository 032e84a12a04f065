"""The Dask reference: one delayed task per job, each running ``true`` in a subprocess, computed with Dask's
threaded scheduler and two workers (the same parallelism as ``make -j2`` and ``ccw run --max-parallel 2``).

Run with the benchmark environment's Python: ``python dask_reference.py EDGES.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import dask
from dask import delayed


@delayed
def job(*parents: object) -> int:
    return subprocess.run(["true"], check=True).returncode


def main(path: str, workers: int = 2) -> None:
    with open(path) as handle:
        parents: dict[str, list[str]] = json.load(handle)
    tasks: dict[str, object] = {}
    for name, deps in parents.items():   # parents come before their children
        tasks[name] = job(*[tasks[p] for p in deps], dask_key_name=f"{name}")
    dask.compute(*tasks.values(), scheduler="threads", num_workers=workers)


if __name__ == "__main__":
    main(sys.argv[1])
