"""The plain-Python loop of ``pool_reference.py`` plus the least a runner must do per job to keep what cc keeps:
each job gets a folder, a log file its output goes to and an exit-code file, and a SQLite store (WAL,
``synchronous=NORMAL``, as cc's) records the job as started before its process exists and as ended, with its exit
code, after. No resume logic, no events, no supervisor: a floor for a durable runner, not a runner.

``python durable_pool_reference.py EDGES.json WORK_FOLDER``
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

from pool_reference import run   # the same loop: only what each job does differs


class Store:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS jobs (name TEXT PRIMARY KEY, state TEXT, exit_code INTEGER)")
        self.db.execute("CREATE TABLE IF NOT EXISTS transitions (job TEXT, state TEXT, at REAL, exit_code INTEGER)")
        self.lock = threading.Lock()

    def record(self, name: str, state: str, code: int | None = None) -> None:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?)", (name, state, code))
            self.db.execute("INSERT INTO transitions VALUES (?, ?, ?, ?)", (name, state, time.time(), code))
            self.db.execute("COMMIT")


def job(name: str, work: str, store: Store) -> int:
    folder = os.path.join(work, name)
    os.mkdir(folder)
    exit_fd = os.open(os.path.join(folder, ".exit"), os.O_WRONLY | os.O_CREAT, 0o666)
    os.write(exit_fd, b" " * 15 + b"\n")
    store.record(name, "running")
    with open(os.path.join(folder, name + ".log"), "ab") as log:
        code = subprocess.run(["true"], stdout=log, stderr=subprocess.STDOUT, cwd=folder).returncode
    os.pwrite(exit_fd, f"{code:<15}\n".encode(), 0)
    os.close(exit_fd)
    store.record(name, "done" if code == 0 else "failed", code)
    return code


def main(path: str, work: str) -> None:
    with open(path) as handle:
        parents: dict[str, list[str]] = json.load(handle)
    os.makedirs(work, exist_ok=True)
    store = Store(os.path.join(work, "store.db"))
    run(parents, lambda name: job(name, work, store))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
