"""Submissions that wait together: a job type that can send several at once gets every launch that is waiting for
its worker thread in one :meth:`cc_core.plugins.jobtype.JobType.submit_many` call.

While the worker is busy (submitting, checking), more launches queue up here instead of as calls of their own;
the next drain takes all of them. A job type that does not override ``submit_many`` is never batched.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from cc_core.errors import CCError
from cc_core.plugins.jobtype import JobType, Launch

Post = Callable[[tuple[Any, ...]], None]


def submits_together(job_type: JobType) -> bool:
    return job_type.blocking and type(job_type).submit_many is not JobType.submit_many


class TogetherSubmissions:
    """The launches waiting for each job type's worker (thread-safe)."""

    def __init__(self, post: Post, start_error: Callable[[str], str | None]) -> None:
        self._post = post
        self._start_error = start_error
        self._lock = threading.Lock()
        self._waiting: dict[str, list[tuple[Launch, Callable[[], None]]]] = {}

    def add(self, kind: str, launch: Launch, prepare: Callable[[], None],
            call: Callable[[Callable[[JobType], None]], None]) -> None:
        """Queue ``launch`` (``prepare`` makes its folder and payload on the worker, just before it is submitted);
        the first launch of a batch also queues the drain on the worker (through ``call``)."""
        with self._lock:
            waiting = self._waiting.setdefault(kind, [])
            waiting.append((launch, prepare))
            if len(waiting) > 1:
                return
        call(lambda job_type: self._drain(kind, job_type))

    def _drain(self, kind: str, job_type: JobType) -> None:
        with self._lock:
            waiting = self._waiting.pop(kind, [])
        error = self._start_error(kind)
        if error is not None:
            for launch, _ in waiting:
                self._post(("submitted", launch.key, launch.attempt, None,
                            f"the {kind} job type could not start: {error}"))
            return
        launches: list[Launch] = []
        for launch, prepare in waiting:
            try:
                prepare()
            except Exception as exc:  # noqa: BLE001 - this attempt fails with it, the others go on
                said = exc.message if isinstance(exc, CCError) else f"{type(exc).__name__}: {exc}"
                self._post(("submitted", launch.key, launch.attempt, None, said))
            else:
                launches.append(launch)
        if not launches:
            return
        try:
            results = job_type.submit_many(launches)
        except Exception as exc:  # noqa: BLE001 - every launch of the batch fails with it
            results = [exc] * len(launches)
        for launch, result in zip(launches, results):
            if isinstance(result, CCError):
                self._post(("submitted", launch.key, launch.attempt, None, result.message))
            elif isinstance(result, BaseException):
                self._post(("submitted", launch.key, launch.attempt, None, f"{type(result).__name__}: {result}"))
            else:
                self._post(("submitted", launch.key, launch.attempt, result, None))
