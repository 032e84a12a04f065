"""The plain-Python reference: a ``ThreadPoolExecutor(2)`` loop that runs ``true`` with ``subprocess.run`` per job,
each job submitted once its parents are done. No store, no resume: the floor for any Python runner.

``python pool_reference.py EDGES.json``
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait


def job() -> int:
    return subprocess.run(["true"], check=True).returncode


def main(path: str, workers: int = 2) -> None:
    with open(path) as handle:
        parents: dict[str, list[str]] = json.load(handle)
    waiting = {name: set(deps) for name, deps in parents.items()}
    children: dict[str, list[str]] = {name: [] for name in parents}
    for name, deps in parents.items():
        for parent in deps:
            children[parent].append(name)
    with ThreadPoolExecutor(workers) as pool:
        running: dict[Future[int], str] = {}
        for name in [n for n, deps in waiting.items() if not deps]:
            running[pool.submit(job)] = name
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                future.result()
                for child in children[name]:
                    waiting[child].discard(name)
                    if not waiting[child]:
                        running[pool.submit(job)] = child


if __name__ == "__main__":
    main(sys.argv[1])
