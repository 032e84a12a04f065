"""Jobs the host agents watch: their log bytes are copied into the local log as they grow, and their end is pushed
to the engine the moment the agent sees the durable exit file.

A job is watched from its submit (or from the first check that finds it running, after a resume or after an agent
came back). While its agent lives, the ssh job type's checks and log reads leave it to this module; when the agent
goes away, the job is forgotten here and the plain batch commands follow it again, from the durable files, until a
new agent watches it.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional

from cc_core.plugins.jobtype import ActiveJob, JobUpdate, UpdateSink, write_log_at
from cc_ssh.agent import Event, HostAgent
from cc_ssh.batch import RemoteStatus

log = logging.getLogger(__name__)

Finish = Callable[[HostAgent, ActiveJob, RemoteStatus], Optional[JobUpdate]]


@dataclass
class _Watch:
    job: ActiveJob
    agent: HostAgent
    ended: bool = False


class Watches:
    """The watched jobs of one ssh job type (thread-safe: events arrive on the agents' reader threads)."""

    def __init__(self, finish: Finish, needs_copy: Callable[[ActiveJob], bool]) -> None:
        self._finish = finish
        self._needs_copy = needs_copy
        self._sink: Optional[UpdateSink] = None
        self._lock = threading.Lock()
        self._watches: dict[tuple[str, int], _Watch] = {}
        self._copies = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cc-ssh-outputs")
        self._agents: set[int] = set()

    def start(self, sink: UpdateSink) -> None:
        self._sink = sink

    def close(self) -> None:
        self._copies.shutdown(wait=False)

    @property
    def pushing(self) -> bool:
        return self._sink is not None

    def watch(self, agent: HostAgent, job: ActiveJob) -> bool:
        """Have ``agent`` watch ``job`` (its log from what the local copy holds on). False when it could not."""
        key = (job.key, job.attempt)
        folder = str(job.handle.get("folder"))
        try:
            offset = os.path.getsize(job.log_path)
        except OSError:
            offset = 0
        with self._lock:
            self._watches[key] = _Watch(job, agent)
            new_agent = id(agent) not in self._agents
            self._agents.add(id(agent))
        if new_agent:
            agent.on_lost(lambda: self._lost(agent))
        try:
            agent.watch(folder, str(job.handle.get("log")), offset, lambda event: self._event(key, event))
        except Exception as exc:  # noqa: BLE001 - the plain checks follow it instead
            log.info("host agent could not watch job '%s' (%s)", job.key, exc)
            self.forget(job.key, job.attempt)
            return False
        return True

    def watching(self, key: str, attempt: int) -> bool:
        """Whether the job's end and log come from an agent (so the plain checks and log reads leave it alone)."""
        with self._lock:
            watch = self._watches.get((key, attempt))
            return watch is not None and (watch.ended or watch.agent.alive)

    def forget(self, key: str, attempt: int) -> None:
        with self._lock:
            watch = self._watches.pop((key, attempt), None)
        if watch is not None:
            watch.agent.forget(str(watch.job.handle.get("folder")))

    def count(self) -> int:
        with self._lock:
            return len(self._watches)

    # ------------------------------------------------------------------------------------------------ events
    def _event(self, key: tuple[str, int], event: Event) -> None:
        with self._lock:
            watch = self._watches.get(key)
        if watch is None:
            return
        kind = event.get("ev")
        if kind == "log":
            write_log_at(watch.job.log_path, int(event["offset"]), base64.b64decode(event.get("data") or ""))
        elif kind == "exit":
            code = event.get("code")
            status = RemoteStatus("ended", code if isinstance(code, int) else None, bool(event.get("cancelled")),
                                  str(event.get("reason") or ""))
            with self._lock:
                watch.ended = True
            if self._needs_copy(watch.job):
                self._copies.submit(self._end, key, watch, status)
            else:
                self._end(key, watch, status)
        elif kind == "gone":
            self.forget(*key)  # the plain status command tells what became of it

    def _end(self, key: tuple[str, int], watch: _Watch, status: RemoteStatus) -> None:
        try:
            update = self._finish(watch.agent, watch.job, status)
        except Exception:  # noqa: BLE001 - the plain checks report the end instead
            log.exception("reporting the end of job '%s'", watch.job.key)
            update = None
        if update is None:
            with self._lock:
                watch.ended = False   # not reported: a plain check copies the outputs and reports it
            self.forget(*key)
            return
        if self._sink is not None:
            self._sink(update)

    def _lost(self, agent: HostAgent) -> None:
        with self._lock:
            self._agents.discard(id(agent))
            gone = [key for key, watch in self._watches.items() if watch.agent is agent and not watch.ended]
            for key in gone:
                del self._watches[key]
        if gone:
            log.warning("host agent on '%s' went away; %d job(s) are followed with plain commands until it is back",
                        agent.connection.target.label, len(gone))
