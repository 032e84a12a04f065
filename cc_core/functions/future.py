"""The future of one call: a :class:`concurrent.futures.Future` that knows its run and job and follows the job's
state and progress. ``cancel()`` kills the job; ``await fut`` works in asyncio code.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable, Generator, Optional

from cc_core.states import JobState


class CallFuture(Future):  # type: ignore[type-arg]
    """A call running as job ``job`` of run ``run``. ``state``, ``progress`` and ``message`` follow the job."""

    def __init__(self, run: int, job: str, kill: Callable[[], None]) -> None:
        super().__init__()
        self.run = run
        self.job = job
        self.state: JobState = JobState.READY
        self.progress: Optional[float] = None
        self.message: Optional[str] = None
        self.attempt = 0
        self._kill = kill

    def __repr__(self) -> str:
        return f"<CallFuture run={self.run} job={self.job} state={self.state.value}>"

    def cancel(self) -> bool:
        """Kill the call's job (it ends ``killed``); the future then raises ``CancelledError``. ``False`` when the
        call has already ended."""
        if self.done():
            return False
        try:
            self._kill()
        except Exception:  # noqa: BLE001 - the job may have ended meanwhile
            pass
        return super().cancel()

    def __await__(self) -> Generator[Any, None, Any]:
        import asyncio

        return asyncio.wrap_future(self).__await__()

    # called by whoever follows the job ------------------------------------------------------------------
    def _settle(self, value: Any = None, error: Optional[BaseException] = None) -> None:
        if self.done():
            return
        try:
            if error is not None:
                self.set_exception(error)
            else:
                self.set_result(value)
        except Exception:  # noqa: BLE001 - cancelled meanwhile
            pass
