"""Calls that compete: :func:`race` takes the first success and kills the rest; :func:`best` waits for all and
takes the winner by a key. Every attempt stays in the run, with the state it ended in.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, as_completed, wait
from typing import Any, Callable, Iterable, Optional

from cc_core.errors import CCError

__all__ = ["as_completed", "race", "best"]


def race(calls: Iterable["Future[Any]"], timeout: Optional[float] = None) -> Any:
    """The return value of the first call that succeeds; the calls still going are cancelled (their jobs end
    ``killed``). When every call fails, the last failure is raised."""
    pending = set(calls)
    if not pending:
        raise CCError("race() needs at least one call")
    last: Optional[BaseException] = None
    try:
        while pending:
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:
                raise TimeoutError(f"no call of the race succeeded within {timeout} s")
            for future in done:
                if future.cancelled():
                    continue
                error = future.exception()
                if error is None:
                    return future.result()
                last = error
        assert last is not None
        raise last
    finally:
        for future in pending:
            future.cancel()


def best(calls: Iterable["Future[Any]"], key: Callable[[Any], Any] = lambda value: value, *,
         timeout: Optional[float] = None) -> Any:
    """Wait for every call and return the successful return value with the highest ``key``; failed calls are
    left out (all failing raises the last failure)."""
    futures = list(calls)
    if not futures:
        raise CCError("best() needs at least one call")
    winner: Any = None
    score: Any = None
    found = False
    last: Optional[BaseException] = None
    for future in as_completed(futures, timeout=timeout):
        if future.cancelled():
            continue
        error = future.exception()
        if error is not None:
            last = error
            continue
        value = future.result()
        value_key = key(value)
        if not found or value_key > score:
            winner, score, found = value, value_key, True
    if not found:
        if last is not None:
            raise last
        raise CCError("best(): every call was cancelled")
    return winner
