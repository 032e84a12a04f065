"""The one stream of typed events a run emits, after the store has recorded what they say.

The CLI's live table, the REST event stream and the GUI subscribe to it in the process that drives the run; a
process that did not start the run follows the same changes through the store (:mod:`cc_core.follow`).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

from cc_core.states import JobState, RunState


@dataclass(frozen=True)
class Event:
    run_id: int
    at: float

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict[str, Any]:
        data = {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(self).items()}
        data["type"] = self.type
        return data


@dataclass(frozen=True)
class RunStarted(Event):
    workflow: str


@dataclass(frozen=True)
class JobStateChanged(Event):
    job: str
    state: JobState
    previous: JobState
    attempt: int
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    origin: Optional[str] = None   # "carried" or "cached" for a done job that did not run in this run


@dataclass(frozen=True)
class JobProgress(Event):
    job: str
    progress: Optional[float]
    message: Optional[str] = None


@dataclass(frozen=True)
class JobLog(Event):
    job: str
    text: str


@dataclass(frozen=True)
class WorkflowChanged(Event):
    """Jobs or dependencies were added or removed while the run goes."""

    jobs: tuple[str, ...]


@dataclass(frozen=True)
class RunFinished(Event):
    state: RunState
    reason: Optional[str] = None


Subscriber = Callable[[Event], None]


class EventBus:
    """Delivers events to subscribers in order. A subscriber that raises is dropped, never the run."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    @property
    def active(self) -> bool:
        return bool(self._subscribers)

    def emit(self, events: list[Event]) -> None:
        if not events or not self._subscribers:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                for event in events:
                    callback(event)
            except Exception:  # a broken subscriber must not stop the run
                with self._lock:
                    if callback in self._subscribers:
                        self._subscribers.remove(callback)
