"""Runs from asyncio: ``await run``, ``async for event in run.events()`` and coroutine subscribers.

A run is driven by a thread of its own; nothing here blocks the event loop. The thread hands results and events
to the loop with ``call_soon_threadsafe``, so they arrive on the loop's thread, in order.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, AsyncIterator, Awaitable, Callable, Optional, TypeVar

from cc_core.running.events import Event, EventBus, RunFinished

T = TypeVar("T")


async def when_done(add_done_callback: Callable[[Callable[..., None]], None], result: Callable[[], T]) -> T:
    """Wait without blocking the loop until ``add_done_callback`` calls back (from any thread, or at once when
    already done), then return ``result()`` (which may raise). The shape every thread-driven handle of cc can
    offer: a run, a function call's future."""
    loop = asyncio.get_running_loop()
    finished = loop.create_future()

    def settle() -> None:
        if not finished.done():
            finished.set_result(None)

    def on_done(*_: Any) -> None:   # a future's callbacks get the future; a run's get nothing
        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:   # the loop was closed meanwhile: nobody waits any more
            pass

    add_done_callback(on_done)
    await finished
    return result()


def awaitable(handle: Any) -> Awaitable[Any]:
    """An awaitable of a run (:class:`cc_core.api.RunController`), a ``concurrent.futures.Future``, or any handle
    with ``add_done_callback(fn)`` and a blocking ``result()`` (or ``wait()``) that returns at once when done."""
    import concurrent.futures

    if isinstance(handle, concurrent.futures.Future):
        return asyncio.wrap_future(handle)
    result = getattr(handle, "result", None) or handle.wait
    return when_done(handle.add_done_callback, result)


def subscribe_async(bus: EventBus, callback: Callable[[Event], Any],
                    loop: Optional[asyncio.AbstractEventLoop] = None) -> Callable[[], None]:
    """Subscribe ``callback`` (a plain function or a coroutine function) so that it runs on ``loop`` (default:
    the running loop), never on the run's thread. Returns the function that unsubscribes."""
    loop = loop or asyncio.get_running_loop()
    is_coroutine = inspect.iscoroutinefunction(callback)

    def deliver(event: Event) -> None:
        if is_coroutine:
            loop.call_soon_threadsafe(lambda: loop.create_task(callback(event)))
        else:
            loop.call_soon_threadsafe(callback, event)

    return bus.subscribe(deliver)


class EventStream:
    """``async for event in run.events()``: the run's events from now on, ending after :class:`RunFinished` (at
    once when the run has already ended)."""

    def __init__(self, bus: EventBus, already_done: Callable[[], bool]) -> None:
        self._queue: asyncio.Queue[Optional[Event]] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self._unsubscribe = bus.subscribe(lambda event: loop.call_soon_threadsafe(self._queue.put_nowait, event))
        self._ended = False
        if already_done():
            self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._ended:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None or isinstance(event, RunFinished):
            self._ended = True
            self._unsubscribe()
            if event is None:
                raise StopAsyncIteration
        return event

    def close(self) -> None:
        self._ended = True
        self._unsubscribe()
