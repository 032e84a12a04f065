"""The default status store: one SQLite file in WAL mode (``$CC_HOME/cc.db``).

WAL lets other processes read while the engine writes; each :meth:`SQLiteStore.write` is one transaction, so a
reader never sees half of a change. ``synchronous=NORMAL`` keeps every committed transaction when a process dies
(the engine, a runner killed with SIGKILL); after a power loss the last transactions may be missing, never
half-applied. ``CC_STORE_SYNC=full`` makes every commit survive power loss at the price of an fsync each.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from cc_core.errors import RunNotFoundError, StoreError
from cc_core.plugins.hookspecs import hookimpl
from cc_core.states import JobState, RunState
from cc_core.store.base import CacheHit, JobRecord, Request, RunRecord, StatusStore, StoredWorkflow, Transition

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0), ('schema', 1);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow TEXT NOT NULL, state TEXT NOT NULL, scheduler TEXT NOT NULL, definition TEXT NOT NULL,
    workflow_dir TEXT NOT NULL, run_dir TEXT NOT NULL, created REAL NOT NULL, started REAL, ended REAL,
    options TEXT NOT NULL, runner_pid INTEGER, runner_host TEXT, reason TEXT, seq INTEGER NOT NULL,
    definition_version INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow, id);
CREATE TABLE IF NOT EXISTS jobs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL,
    kind TEXT NOT NULL, host TEXT NOT NULL, ord INTEGER NOT NULL, state TEXT NOT NULL, attempt INTEGER NOT NULL,
    progress REAL, message TEXT, detail TEXT, exit_code INTEGER, reason TEXT, handle TEXT, log_path TEXT,
    log_offset INTEGER NOT NULL, submitted REAL, started REAL, ended REAL, seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, name));
CREATE INDEX IF NOT EXISTS jobs_by_seq ON jobs (run_id, seq);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    job TEXT NOT NULL, attempt INTEGER NOT NULL, state TEXT NOT NULL, at REAL NOT NULL, exit_code INTEGER,
    reason TEXT);
CREATE INDEX IF NOT EXISTS transitions_by_run ON transitions (run_id, job, id);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, action TEXT NOT NULL, payload TEXT NOT NULL,
    created REAL NOT NULL, closed REAL);
CREATE INDEX IF NOT EXISTS requests_open ON requests (run_id, closed);
CREATE TABLE IF NOT EXISTS workflows (
    name TEXT PRIMARY KEY, text TEXT NOT NULL, directory TEXT NOT NULL, created REAL NOT NULL,
    updated REAL NOT NULL);
"""

# Each step brings a store from the version before it to its own; ``meta.schema`` says where a store is. A store
# written by an older cc is brought up to date when it is opened (in one transaction, whoever opens it first).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: ("ALTER TABLE runs ADD COLUMN rerun_of INTEGER",
        "ALTER TABLE jobs ADD COLUMN origin TEXT",
        "ALTER TABLE jobs ADD COLUMN cache_key TEXT",
        "ALTER TABLE jobs ADD COLUMN cache_parts TEXT",
        "ALTER TABLE jobs ADD COLUMN cache_copy TEXT",
        "CREATE INDEX IF NOT EXISTS jobs_by_cache_key ON jobs (cache_key) WHERE cache_key IS NOT NULL"),
}
SCHEMA_VERSION = max(MIGRATIONS)

_JOB_COLUMNS = ("run_id, name, kind, host, ord, state, attempt, progress, message, detail, exit_code, reason, "
                "handle, log_path, log_offset, submitted, started, ended, seq, origin, cache_key, cache_parts, "
                "cache_copy")
_RUN_COLUMNS = ("id, workflow, state, scheduler, definition, workflow_dir, run_dir, created, started, ended, "
                "definition_version, "
                "options, runner_pid, runner_host, reason, seq, rerun_of")
_JOB_SLOTS = ", ".join("?" * len(_JOB_COLUMNS.split(",")))

_JOB_UPDATE = ("UPDATE jobs SET " + ", ".join(f"{c.strip()} = ?" for c in _JOB_COLUMNS.split(",")[2:])
               + " WHERE run_id = ? AND name = ?")
_RUN_UPSERT = (f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 17)}) ON CONFLICT(id) DO UPDATE SET "
               + ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in _RUN_COLUMNS.split(",")[1:]))


def _job_row(job: JobRecord) -> tuple[Any, ...]:
    return (job.run_id, job.name, job.kind, job.host, job.order, job.state.value, job.attempt, job.progress,
            job.message, job.detail, job.exit_code, job.reason,
            None if job.handle is None else json.dumps(job.handle), job.log_path, job.log_offset, job.submitted,
            job.started, job.ended, job.seq, _dumps(job.origin), job.cache_key, _dumps(job.cache_parts),
            job.cache_copy)


def _dumps(value: Any) -> Optional[str]:
    return None if value is None else json.dumps(value)


def _loads(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(run_id=row[0], name=row[1], kind=row[2], host=row[3], order=row[4], state=JobState(row[5]),
                     attempt=row[6], progress=row[7], message=row[8], detail=row[9], exit_code=row[10],
                     reason=row[11], handle=None if row[12] is None else json.loads(row[12]), log_path=row[13],
                     log_offset=row[14], submitted=row[15], started=row[16], ended=row[17], seq=row[18],
                     origin=_loads(row[19]), cache_key=row[20], cache_parts=_loads(row[21]), cache_copy=row[22])


def _run_row(run: RunRecord) -> tuple[Any, ...]:
    return (run.id, run.workflow, run.state.value, run.scheduler, json.dumps(run.definition), run.workflow_dir,
            run.run_dir, run.created, run.started, run.ended, run.definition_version, json.dumps(run.options),
            run.runner_pid,
            run.runner_host, run.reason, run.seq, run.rerun_of)


def _run(row: sqlite3.Row, definition: dict[str, Any]) -> RunRecord:
    return RunRecord(id=row[0], workflow=row[1], state=RunState(row[2]), scheduler=row[3], definition=definition,
                     workflow_dir=row[5], run_dir=row[6], created=row[7], started=row[8], ended=row[9],
                     definition_version=row[10], options=json.loads(row[11]), runner_pid=row[12],
                     runner_host=row[13], reason=row[14], seq=row[15], rerun_of=row[16])


_OPEN: "weakref.WeakSet[SQLiteStore]" = weakref.WeakSet()


def _write_ahead_log(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """Put the store in WAL mode. Two processes opening a new store at the same moment (two ``ccw run`` in a new
    CC_HOME) both try to switch it, and SQLite answers the second "database is locked" at once, without waiting
    for its busy timeout: that one tries again until the switch is done."""
    deadline = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class SQLiteStore(StatusStore):
    name = "sqlite"
    description = "one SQLite file in WAL mode (the default)"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._sync = "FULL" if os.environ.get("CC_STORE_SYNC", "").lower() == "full" else "NORMAL"
        self._connections: list[sqlite3.Connection] = []
        self._definitions: dict[tuple[int, int], dict[str, Any]] = {}
        self._lock = threading.Lock()
        _OPEN.add(self)
        conn = self._conn()
        try:
            with conn:
                conn.executescript(SCHEMA)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
                if "definition_version" not in columns:
                    conn.execute("ALTER TABLE runs ADD COLUMN definition_version INTEGER NOT NULL DEFAULT 0")
            self._migrate(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot create the status store {path}: {exc}") from None

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Bring the store to :data:`SCHEMA_VERSION`, all steps in one transaction (or none of them)."""
        if int(conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]) >= SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0])
            for step in sorted(v for v in MIGRATIONS if v > version):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (step,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @classmethod
    def open(cls, location: str) -> "SQLiteStore":
        path = Path(location).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def _conn(self) -> sqlite3.Connection:
        conn: Optional[sqlite3.Connection] = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                _write_ahead_log(conn)
                conn.execute(f"PRAGMA synchronous={self._sync}")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open the status store {self.path}: {exc}",
                                 hint="check that CC_HOME points at a writable folder") from None
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        except sqlite3.Error as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise StoreError(f"the status store {self.path} could not be written ({exc}); what it had recorded "
                             "before is unchanged", hint="free disk space or fix permissions, then "
                             "'ccw run --resume RUN'") from None

    def _run(self, row: sqlite3.Row) -> RunRecord:
        """A run record; its definition (large for big workflows) is decoded once per version and shared: callers
        must not change it in place."""
        key = (row[0], row[10])
        definition = self._definitions.get(key)
        if definition is None:
            definition = json.loads(row[4])
            if len(self._definitions) > 64:
                self._definitions.clear()
            self._definitions[key] = definition
        return _run(row, definition)

    @staticmethod
    def _next_seq(conn: sqlite3.Connection) -> int:
        return int(conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value").fetchone()[0])

    def create_run(self, run: RunRecord, jobs: Sequence[JobRecord],
                   transitions: Sequence[Transition] = ()) -> RunRecord:
        def work(conn: sqlite3.Connection) -> RunRecord:
            seq = self._next_seq(conn)
            run.seq = seq
            row = _run_row(run)
            cursor = conn.execute(f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (NULL{', ?' * (len(row) - 1)})",
                                  row[1:])
            run.id = int(cursor.lastrowid or 0)
            for job in jobs:
                job.run_id = run.id
                job.seq = seq
            conn.executemany(f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES ({_JOB_SLOTS})", [_job_row(j) for j in jobs])
            self._add_transitions(conn, run.id, transitions)
            return run
        return self._transaction(work)

    def write(self, run: Optional[RunRecord], jobs: Sequence[JobRecord], transitions: Sequence[Transition],
              done_requests: Sequence[int] = (), removed_jobs: Sequence[str] = ()) -> int:
        def work(conn: sqlite3.Connection) -> int:
            seq = self._next_seq(conn)
            if run is not None:
                run.seq = seq
                # An upsert, not REPLACE: REPLACE deletes the row first, and the delete would cascade to the jobs.
                conn.execute(_RUN_UPSERT, _run_row(run))
            if jobs:
                for job in jobs:
                    job.seq = seq
                rows = [_job_row(j) for j in jobs]
                # Jobs are nearly always in the store already: an update in place is cheaper than REPLACE's
                # delete and insert. A job that is not (added while the run goes) is inserted.
                updated = conn.executemany(_JOB_UPDATE, [row[2:] + row[:2] for row in rows]).rowcount
                if updated != len(rows):
                    conn.executemany(f"INSERT OR REPLACE INTO jobs ({_JOB_COLUMNS}) VALUES ({_JOB_SLOTS})", rows)
            if transitions:
                self._add_transitions(conn, None, transitions)
            if removed_jobs and run is not None:
                conn.executemany("DELETE FROM jobs WHERE run_id = ? AND name = ?",
                                 [(run.id, name) for name in removed_jobs])
            if done_requests:
                now = time.time()
                conn.executemany("UPDATE requests SET closed = ? WHERE id = ?", [(now, i) for i in done_requests])
            return seq
        return int(self._transaction(work))

    @staticmethod
    def _add_transitions(conn: sqlite3.Connection, run_id: Optional[int], transitions: Sequence[Transition]) -> None:
        conn.executemany("INSERT INTO transitions (run_id, job, attempt, state, at, exit_code, reason) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [(t.run_id if run_id is None else run_id, t.job, t.attempt, t.state.value, t.at,
                           t.exit_code, t.reason) for t in transitions])

    def find_cached(self, workflow: Optional[str], job: Optional[str], key: str) -> list[CacheHit]:
        columns = ", ".join(f"jobs.{c.strip()}" for c in _JOB_COLUMNS.split(","))
        where, args = ["jobs.cache_key = ?"], [key]
        if job is not None:
            where.append("jobs.name = ?")
            args.append(job)
        if workflow is not None:
            where.append("runs.workflow = ?")
            args.append(workflow)
        rows = self._read(f"SELECT {columns} FROM jobs JOIN runs ON runs.id = jobs.run_id WHERE {' AND '.join(where)} "
                          "AND jobs.state = 'done' AND jobs.cache_copy IS NOT NULL "
                          "ORDER BY jobs.origin IS NOT NULL, jobs.run_id DESC LIMIT 5", args)
        return [CacheHit(job=record, run_id=record.run_id, cache_copy=str(record.cache_copy))
                for record in map(_job, rows)]

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the status store {self.path}: {exc}") from None

    def get_run(self, run_id: int) -> RunRecord:
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (int(run_id),))
        if not rows:
            raise RunNotFoundError(f"there is no run {run_id}", hint="'ccw list' shows the runs")
        return self._run(rows[0])

    def find_run(self, ref: str | int) -> RunRecord:
        text = str(ref).strip()
        if text.isdigit():
            rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (int(text),))
            if rows:
                return self._run(rows[0])
        rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE workflow = ? ORDER BY id DESC LIMIT 1", (text,))
        if not rows:
            raise RunNotFoundError(f"there is no run with id or workflow name '{text}'",
                                   hint="'ccw list' shows the runs")
        return self._run(rows[0])

    def list_runs(self, workflow: Optional[str] = None, limit: int = 100) -> list[RunRecord]:
        if workflow is None:
            rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE workflow = ? ORDER BY id DESC LIMIT ?",
                              (workflow, limit))
        return [self._run(r) for r in rows]

    def get_jobs(self, run_id: int, since_seq: int = 0) -> list[JobRecord]:
        rows = self._read(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE run_id = ? AND seq > ? ORDER BY ord",
                          (int(run_id), since_seq))
        return [_job(r) for r in rows]

    def get_transitions(self, run_id: int, job: Optional[str] = None, after_id: int = 0) -> list[Transition]:
        sql = "SELECT run_id, job, attempt, state, at, exit_code, reason, id FROM transitions WHERE run_id = ? " \
              "AND id > ?"
        args: list[Any] = [int(run_id), after_id]
        if job is not None:
            sql += " AND job = ?"
            args.append(job)
        rows = self._read(sql + " ORDER BY id", args)
        return [Transition(r[0], r[1], r[2], JobState(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    def delete_run(self, run_id: int) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM transitions WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM jobs WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM requests WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        self._transaction(work)

    def add_request(self, run_id: int, action: str, payload: dict[str, Any]) -> int:
        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute("INSERT INTO requests (run_id, action, payload, created) VALUES (?, ?, ?, ?)",
                                  (run_id, action, json.dumps(payload), time.time()))
            return int(cursor.lastrowid or 0)
        return int(self._transaction(work))

    def pending_requests(self, run_id: int) -> list[Request]:
        rows = self._read("SELECT id, run_id, action, payload, created FROM requests WHERE run_id = ? AND closed IS "
                          "NULL ORDER BY id", (run_id,))
        return [Request(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def save_workflow(self, name: str, text: str, directory: str) -> StoredWorkflow:
        now = time.time()

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO workflows (name, text, directory, created, updated) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET text = excluded.text, directory = excluded.directory, "
                         "updated = excluded.updated", (name, text, directory, now, now))
        self._transaction(work)
        return self.get_workflow(name)

    def get_workflow(self, name: str) -> StoredWorkflow:
        rows = self._read("SELECT name, text, directory, created, updated FROM workflows WHERE name = ?", (name,))
        if not rows:
            from cc_core.errors import WorkflowNotFoundError

            raise WorkflowNotFoundError(f"there is no stored workflow named '{name}'",
                                        hint="upload it first (POST /api/workflows/upload); GET /api/workflows "
                                             "lists the stored ones")
        return StoredWorkflow(*rows[0])

    def list_workflows(self) -> list[StoredWorkflow]:
        rows = self._read("SELECT name, text, directory, created, updated FROM workflows ORDER BY name")
        return [StoredWorkflow(*r) for r in rows]

    def delete_workflow(self, name: str) -> None:
        self._transaction(lambda conn: conn.execute("DELETE FROM workflows WHERE name = ?", (name,)))

    def latest_seq(self) -> int:
        return int(self._read("SELECT value FROM meta WHERE key = 'seq'")[0][0])

    @classmethod
    def close_all(cls) -> None:
        """Close every store this process opened (``ccw`` does so just before it exits)."""
        for store in list(_OPEN):
            store.close()

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()


@hookimpl
def cc_register_status_stores(register: Callable[[type[StatusStore]], None]) -> None:
    register(SQLiteStore)
