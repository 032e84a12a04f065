"""What a call raises in the caller when it did not return: the remote exception (carrying its type, message,
traceback and the log's tail, and an instance of the original type where that type can be unpickled here), a
version mismatch found before the call ran, or a job that was killed, timed out, was lost or could not start.
"""

from __future__ import annotations

from typing import Any, Optional

from cc_core.errors import CCError


class FunctionError(CCError):
    """A function call did not return a value. ``run`` and ``job`` name the job it ran as."""

    exit_code = 1

    def __init__(self, message: str, *, run: Optional[int] = None, job: Optional[str] = None,
                 log_tail: str = "", hint: Optional[str] = None) -> None:
        self.run = run
        self.job = job
        self.log_tail = log_tail
        super().__init__(message, hint=hint)


class RemoteError(FunctionError):
    """The function raised on the far side. ``remote_type`` (``module.Name``), ``remote_message`` and
    ``remote_traceback`` say what; ``log_tail`` is the end of the job's log."""

    remote_type: str = ""
    remote_message: str = ""
    remote_traceback: str = ""

    def __str__(self) -> str:
        text = f"{self.message}\n\nremote traceback:\n{self.remote_traceback.rstrip()}" if self.remote_traceback \
            else self.message
        return text


class VersionMismatchError(FunctionError):
    """The two sides differ in Python minor version or cloudpickle major version; the call did not run."""


class CallKilledError(FunctionError):
    """The call's job was killed (by ``ccw kill``, the GUI, or a killed run)."""


class CallTimeoutError(FunctionError, TimeoutError):
    """The call ran longer than its ``timeout``."""


class CallLostError(FunctionError):
    """The call's job ended while nobody watched and left no result."""


def remote_error(header: dict[str, Any], original: Optional[BaseException], *, run: int, job: str,
                 log_tail: str) -> FunctionError:
    """The error to raise for a result file that says the call raised (or could not run)."""
    kind = header.get("kind")
    message = str(header.get("message") or "")
    if kind == "mismatch":
        return VersionMismatchError(f"call {job} of run {run} did not run: {message}", run=run, job=job,
                                    log_tail=log_tail, hint="use the same Python minor version and cloudpickle "
                                    "major version on both sides (python:/venv: of the call)")
    type_name = f"{header.get('module')}.{header.get('type')}".removeprefix("builtins.")
    text = f"call {job} of run {run} raised {type_name}: {message}"
    error: RemoteError
    cls = type(original) if original is not None else None
    error = _both(cls) if cls is not None and not issubclass(cls, CCError) else RemoteError.__new__(RemoteError)
    if original is not None:
        try:
            error.__dict__.update(getattr(original, "__dict__", {}))
        except Exception:  # noqa: BLE001
            pass
        error.args = original.args
    else:
        error.args = (text,)
    error.message, error.hint = text, None
    error.run, error.job, error.log_tail = run, job, log_tail
    error.remote_type, error.remote_message = type_name, message
    error.remote_traceback = str(header.get("traceback") or "")
    return error


_dual: dict[type, type] = {}


def _both(cls: type) -> RemoteError:
    """An instance of a class that is both :class:`RemoteError` and ``cls`` (``except ValueError`` still works)."""
    dual = _dual.get(cls)
    if dual is None:
        try:
            dual = type(f"RemoteError({cls.__name__})", (RemoteError, cls), {"__module__": __name__})
        except TypeError:  # a layout that cannot be combined: the plain error then
            dual = RemoteError
        _dual[cls] = dual
    try:
        return dual.__new__(dual)  # type: ignore[no-any-return]
    except TypeError:
        return RemoteError.__new__(RemoteError)
