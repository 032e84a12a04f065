"""Live events of a run as a server-sent-event stream, followed through the store.

The store is the one source every process shares, so a run started by ``ccw run`` in another process shows up
exactly like one started here. One feed per watched run asks the store what changed since the last ``seq`` it saw
(every :data:`POLL_INTERVAL` seconds, at once when a run driven by this process says something happened) and
hands the changes to every subscriber of that run. Store reads happen in a worker thread, so a stream never holds
up other requests.

Events (each ``data:`` is one JSON object; ``id:`` is the store's ``seq``):

* ``snapshot`` — first: ``{"seq", "run": RunSummary, "jobs": [JobStatus, ...]}``.
* ``jobs`` — jobs that changed (state, progress, message): ``{"seq", "jobs": [JobStatus, ...]}``.
* ``run`` — the run row changed (state, reason): ``{"seq", "run": RunSummary}``.
* ``definition`` — jobs were added to or removed from the running workflow: ``{"seq", "jobs": [names]}``.
* ``end`` — the run reached a final state; the stream then closes: ``{"seq", "run": RunSummary}``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Optional

from cc_core.errors import CCError
from cc_core.store.base import RunRecord, StatusStore
from cc_web.models import job_json, run_json
from cc_web.run_status import RunStatusCache, dumps

POLL_INTERVAL = 0.05
KEEPALIVE = 15.0

Message = tuple[str, int, dict[str, Any]]   # (event, seq, data)


def sse(event: str, seq: int, data: dict[str, Any]) -> bytes:
    return f"event: {event}\nid: {seq}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _job_names(run: RunRecord) -> frozenset[str]:
    return frozenset((run.definition or {}).get("jobs") or {})


@dataclass(eq=False)
class Subscription:
    since: int = 0
    queue: "asyncio.Queue[Optional[list[Message]]]" = field(default_factory=asyncio.Queue)

    def deliver(self, messages: Optional[list[Message]]) -> None:
        if messages is None:
            self.queue.put_nowait(None)
            return
        out: list[Message] = []
        for event, seq, data in messages:
            if event == "jobs":
                jobs = [j for j in data["jobs"] if j["seq"] > self.since]
                if not jobs:
                    continue
                data = {"seq": seq, "jobs": jobs}
            elif seq <= self.since:
                continue
            out.append((event, seq, data))
        if out:
            self.queue.put_nowait(out)


class RunFeed:
    """The changes of one run, read once per poll for all its subscribers."""

    def __init__(self, store: StatusStore, run: RunRecord, interval: float) -> None:
        self.store = store
        self.run_id = run.id
        self.interval = interval
        self.subscribers: set[Subscription] = set()
        self.wakeup = asyncio.Event()
        self.seq = run.seq
        self.run_seq = run.seq
        self.names = _job_names(run)
        self.job_seq: dict[str, int] = {}
        self.task: Optional[asyncio.Task[None]] = None

    def poll(self) -> tuple[list[Message], bool]:
        """What changed since the last poll (called in a worker thread); ``True`` when the run has ended or is
        gone."""
        latest = getattr(self.store, "latest_seq", None)
        mark = latest() if latest is not None else None
        if mark is not None and mark <= self.seq:
            return [], False
        try:
            run = self.store.get_run(self.run_id)
        except CCError as exc:
            return [("end", self.seq, {"seq": self.seq, "run": None, "error": str(exc)})], True
        jobs = self.store.get_jobs(self.run_id, self.seq)
        messages: list[Message] = []
        changed = [j for j in jobs if self.job_seq.get(j.name) != j.seq]
        for job in changed:
            self.job_seq[job.name] = job.seq
        top = max([run.seq, *(j.seq for j in jobs)], default=self.seq)
        if changed:
            messages.append(("jobs", max(j.seq for j in changed), {"seq": top, "jobs": [job_json(j) for j in changed]}))
        if run.seq != self.run_seq:
            self.run_seq = run.seq
            names = _job_names(run)
            if names != self.names:
                self.names = names
                messages.append(("definition", run.seq, {"seq": run.seq, "jobs": sorted(names)}))
            messages.append(("run", run.seq, {"seq": run.seq, "run": run_json(run)}))
        self.seq = mark if mark is not None else top
        if run.state.is_final:
            messages.append(("end", top, {"seq": top, "run": run_json(run)}))
            return messages, True
        return messages, False

    async def follow(self, hub: "EventHub") -> None:
        try:
            while self.subscribers:
                try:
                    await asyncio.wait_for(self.wakeup.wait(), self.interval)
                except asyncio.TimeoutError:
                    pass
                self.wakeup.clear()
                try:
                    messages, ended = await asyncio.to_thread(self.poll)
                except CCError:
                    continue  # the store was busy; ask again next time
                if messages:
                    for subscriber in list(self.subscribers):
                        subscriber.deliver(messages)
                if ended:
                    for subscriber in list(self.subscribers):
                        subscriber.deliver(None)
                    return
        finally:
            hub.feeds.pop(self.run_id, None)


class EventHub:
    """The feeds of every watched run of one service."""

    def __init__(self, store: StatusStore, status: RunStatusCache, interval: float = POLL_INTERVAL) -> None:
        self.store = store
        self.status = status
        self.interval = interval
        self.feeds: dict[int, RunFeed] = {}
        self.loop: Optional[asyncio.AbstractEventLoop] = None

    def wake(self, run_id: int) -> None:
        """Poll a run now (safe to call from any thread, e.g. a run's event callback)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return

        def set_flag() -> None:
            feed = self.feeds.get(run_id)
            if feed is not None:
                feed.wakeup.set()
        try:
            loop.call_soon_threadsafe(set_flag)
        except RuntimeError:  # the loop closed meanwhile
            pass

    async def stream(self, run: RunRecord) -> AsyncIterator[bytes]:
        """The event stream of ``run``: a snapshot, then changes until the run ends."""
        self.loop = asyncio.get_running_loop()
        feed = self.feeds.get(run.id)
        if feed is None:
            feed = self.feeds[run.id] = RunFeed(self.store, run, self.interval)
        subscription = Subscription()
        feed.subscribers.add(subscription)
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(feed.follow(self))
        try:
            run, jobs, seq = await asyncio.to_thread(self._snapshot, run.id)
            subscription.since = seq
            body = f'{{"seq":{seq},"run":{dumps(run_json(run))},"jobs":{jobs}}}'
            yield f"event: snapshot\nid: {seq}\ndata: {body}\n\n".encode()
            if run.state.is_final:
                yield sse("end", seq, {"seq": seq, "run": run_json(run)})
                return
            while True:
                try:
                    batch = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE)
                except asyncio.TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if batch is None:
                    return
                for event, seq, data in batch:
                    yield sse(event, seq, data)
                    if event == "end":
                        return
        finally:
            feed.subscribers.discard(subscription)

    def _snapshot(self, run_id: int) -> tuple[RunRecord, str, int]:
        """The run and the JSON of all its jobs, as of ``seq`` (every change after it comes as an event)."""
        latest = getattr(self.store, "latest_seq", None)
        jobs, _, seq = self.status.jobs_json(self.store.get_run(run_id))
        run = self.store.get_run(run_id)    # read after seq, so no change of the run falls between
        if latest is None:
            seq = max([run.seq, *(j["seq"] for j in json.loads(jobs))])
        return run, jobs, seq
