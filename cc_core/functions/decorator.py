"""``@function``: a Python function whose calls run as cc jobs.

    @function(kind="slurm", options={"partition": "gpu"}, venv="~/venvs/ml")
    def train(model: str, epochs: int = 5) -> dict: ...

    fut = train.submit("cnn", epochs=3)                  # a CallFuture, at once
    futs = train.map(["mlp", "cnn", "lstm"])             # one job each
    train("mlp")                                         # runs as a job and waits
    train.options(kind="ssh", host="gpu-box").submit("cnn")
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Generic, Iterable, Optional, TypeVar, overload

from cc_core.functions.future import CallFuture
from cc_core.functions.options import check_fields, job_fields, merged, settings_defaults

R = TypeVar("R")


class RemoteFunction(Generic[R]):
    """A function with the job fields its calls run with."""

    def __init__(self, function: Callable[..., R], fields: dict[str, Any]) -> None:
        self.function = function
        self.fields = check_fields(fields, f"function {getattr(function, '__qualname__', function)}")
        functools.update_wrapper(self, function)  # type: ignore[arg-type]

    @property
    def ref(self) -> str:
        """``module:qualified name``, how cc names the function in runs and the GUI."""
        return f"{getattr(self.function, '__module__', '?')}:{getattr(self.function, '__qualname__', 'call')}"

    def options(self, **fields: Any) -> "RemoteFunction[R]":
        """The same function with some job fields changed for the calls made through the result."""
        return RemoteFunction(self.function, merged(self.fields, check_fields(fields, f"{self.ref}.options()")))

    def job_fields(self) -> dict[str, Any]:
        """The job fields a call gets now: settings, then the decorator and ``.options()``."""
        return job_fields(merged(settings_defaults(), self.fields), f"function {self.ref}")

    def submit(self, *args: Any, **kwargs: Any) -> CallFuture:
        """Start a call as a job of this process's run of calls; returns its future at once."""
        from cc_core.functions.process_run import process_run

        return process_run().submit(self.function, args, kwargs, self.job_fields(), self.ref)

    def map(self, *iterables: Iterable[Any]) -> list[CallFuture]:
        """One call per item (several iterables: one argument from each, as the built-in ``map``)."""
        fields = self.job_fields()
        from cc_core.functions.process_run import process_run

        run = process_run()
        return [run.submit(self.function, tuple(items), {}, fields, self.ref) for items in zip(*iterables)]

    def __call__(self, *args: Any, **kwargs: Any) -> R:
        """Run the call as a job and wait for its return value (or raise what it raised)."""
        return self.submit(*args, **kwargs).result()  # type: ignore[no-any-return]

    def __reduce__(self) -> Any:
        # A remote function sent to the far side (e.g. called from another function) is the plain function there.
        return (_plain, (self.function,))

    def __repr__(self) -> str:
        return f"<cc function {self.ref}>"


def _plain(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


@overload
def function(fn: Callable[..., R], /) -> RemoteFunction[R]: ...
@overload
def function(fn: None = None, /, **fields: Any) -> Callable[[Callable[..., R]], RemoteFunction[R]]: ...


def function(fn: Optional[Callable[..., Any]] = None, /, **fields: Any) -> Any:
    """Make ``fn`` a function whose calls run as cc jobs; ``fields`` are job fields (kind, host, options, venv,
    python, requirements, timeout, retries, env, ...). Works bare (``@function``) or with fields."""
    if fn is not None:
        return RemoteFunction(fn, fields)
    return lambda f: RemoteFunction(f, fields)


