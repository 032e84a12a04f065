"""The two files of a call: the payload that goes out (function, arguments) and the result that comes back.

Each starts with one JSON line (versions, what the file holds) and goes on with a pickle, so either side can
refuse a file it cannot read before unpickling anything. Functions travel by value with cloudpickle: a function
from ``__main__``, a notebook or a test module works on the far side without its module.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import cloudpickle

FORMAT = 1
PAYLOAD_NAME = "call.pkl"
RESULT_NAME = "result.pkl"
TEXT_LIMIT = 32 << 10


def python_version() -> str:
    return "%d.%d" % tuple(sys.version_info[:2])


@dataclass(frozen=True)
class ResultOf:
    """Stands for the return value of another job of the same workflow; replaced by it when the call starts."""

    job: str


def travel_by_value(function: Any) -> None:
    """A function from the user's own module (not installed, not the standard library) travels with its module's
    code, so the far side needs no copy of the module; installed packages are imported there by name."""
    import sysconfig

    module = sys.modules.get(getattr(function, "__module__", None) or "")
    file = getattr(module, "__file__", None)
    if module is None or not file or module.__name__ in ("__main__", "builtins"):
        return
    parts = Path(file).resolve().parts
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    if "site-packages" in parts or "dist-packages" in parts or Path(file).resolve().is_relative_to(stdlib):
        return
    try:
        cloudpickle.register_pickle_by_value(module)
    except ValueError:
        pass


def write_payload(path: Path, *, function: Optional[Callable[..., Any]] = None, ref: Optional[str] = None,
                  args: tuple[Any, ...] | list[Any] = (), kwargs: Optional[dict[str, Any]] = None,
                  name: str = "") -> None:
    """Write a call to ``path`` (atomically: a reader sees the whole file or none)."""
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if function is not None:
        travel_by_value(function)
    results_of = sorted({v.job for v in (*args, *kwargs.values()) if isinstance(v, ResultOf)})
    header = {"format": FORMAT, "python": python_version(), "cloudpickle": cloudpickle.__version__,
              "name": name or ref or getattr(function, "__qualname__", "call"), "results_of": results_of}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "wb") as handle:
        handle.write(json.dumps(header).encode() + b"\n")
        start = handle.tell()
        cloudpickle.dump({"function": function, "ref": ref, "args": args, "kwargs": kwargs}, handle, protocol=5)
        size = handle.tell() - start
    if size <= TEXT_LIMIT:
        # A small call travels as text: job types that write small text files inline (ssh) save a copy.
        with open(temporary, "rb") as handle:
            handle.readline()
            body = base64.b64encode(handle.read())
        header["encoding"] = "base64"
        temporary.write_bytes(json.dumps(header).encode() + b"\n" + body + b"\n")
    os.replace(temporary, path)


def read_header(path: Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        return json.loads(handle.readline())


def read_payload(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    with open(path, "rb") as handle:
        header = json.loads(handle.readline())
        if header.get("encoding") == "base64":
            return header, pickle.loads(base64.b64decode(handle.read()))
        return header, pickle.load(handle)


@dataclass(frozen=True)
class Outcome:
    """What a result file says: the return value (loaded on demand), or the exception's facts."""

    path: Path
    header: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.header.get("ok"))

    @property
    def attempt(self) -> str:
        return str(self.header.get("attempt") or "")

    def value(self) -> Any:
        """The return value, unpickled straight from the file (no copy of the file in memory)."""
        with open(self.path, "rb") as handle:
            handle.readline()
            return pickle.load(handle)

    def exception(self) -> Optional[BaseException]:
        """The remote exception itself, when it can be unpickled here."""
        try:
            with open(self.path, "rb") as handle:
                handle.readline()
                if not handle.peek(1) if hasattr(handle, "peek") else False:
                    return None
                found = pickle.load(handle)
        except Exception:  # noqa: BLE001 - its type may not exist here; the text is kept anyway
            return None
        return found if isinstance(found, BaseException) else None


def read_outcome(path: Path) -> Optional[Outcome]:
    """The result file at ``path``, or ``None`` when there is none (or it is not whole)."""
    try:
        with open(path, "rb") as handle:
            header = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or "ok" not in header:
        return None
    return Outcome(path, header)


def call_key(path: Path) -> str:
    """The identity of a call: SHA-256 of its function and arguments as pickled (the header, which names versions,
    is left out), the same for the same call made again with the same code and values."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        header = json.loads(handle.readline())
        if header.get("encoding") == "base64":
            digest.update(base64.b64decode(handle.read()))
        else:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
