"""The plain-Python reference: a ``ThreadPoolExecutor(2)`` loop that runs ``true`` with ``subprocess.run`` per job,
each job submitted once its parents are done. No store, no resume: the floor for any Python runner.

``python pool_reference.py EDGES.json``
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable


def job(name: str) -> int:
    return subprocess.run(["true"], check=True).returncode


def run(parents: dict[str, list[str]], job: Callable[[str], int], workers: int = 2) -> None:
    """Run ``job(name)`` for every job, ``workers`` at a time, each once its parents are done; stop at the first
    job that does not return 0."""
    waiting = {name: set(deps) for name, deps in parents.items()}
    children: dict[str, list[str]] = {name: [] for name in parents}
    for name, deps in parents.items():
        for parent in deps:
            children[parent].append(name)
    with ThreadPoolExecutor(workers) as pool:
        running: dict[Future[int], str] = {}
        for name in [n for n, deps in waiting.items() if not deps]:
            running[pool.submit(job, name)] = name
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                if future.result() != 0:
                    raise SystemExit(f"{name} failed")
                for child in children[name]:
                    waiting[child].discard(name)
                    if not waiting[child]:
                        running[pool.submit(job, child)] = child


def main(path: str) -> None:
    with open(path) as handle:
        run(json.load(handle), job)


if __name__ == "__main__":
    main(sys.argv[1])
