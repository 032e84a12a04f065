"""The far side of a function call: load the payload, run the call, write the result or the exception.

This file travels with every call: the job type stages it like any script and starts it with the job's Python
(``python:``, ``venv:``). It is self-contained on purpose: it needs only the standard library and ``cloudpickle``
(the caller's major version), never cc itself.

    python remote.py PAYLOAD RESULT [LOCAL_FOLDER]

PAYLOAD is looked for in the working folder, then in LOCAL_FOLDER (the caller's folder, when both sides share a
file system). Both files start with one JSON line; a pickle follows. The exit code is 0 when the call returned,
1 when it raised, 2 when it could not run (versions differ, cloudpickle missing, a broken payload).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import types

FORMAT = 1


def report_progress(percent: float, message: str = "") -> None:
    """Print a progress line cc reads from the job's log (``# cc status=running progress=40 msg="..."``)."""
    text = f"# cc status=running progress={float(percent):g}"
    if message:
        text += ' msg="' + str(message).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    print(text, flush=True)


def _stand_in_for_cc() -> None:
    """Functions that call ``cc_core.report_progress`` work where cc is not installed."""
    try:
        import cc_core  # noqa: F401
        return
    except ImportError:
        pass
    module = types.ModuleType("cc_core")
    module.report_progress = report_progress  # type: ignore[attr-defined]
    sys.modules["cc_core"] = module


def _write(path: str, header: dict, body: object = None, pickler: object = None) -> None:
    temporary = f"{path}.partial"
    with open(temporary, "wb") as handle:
        handle.write(json.dumps(header).encode() + b"\n")
        if pickler is not None:
            pickler.dump(body, handle, protocol=5)  # type: ignore[attr-defined]
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _fail(path: str, kind: str, message: str, attempt: str) -> int:
    print(f"cc: {message}", file=sys.stderr, flush=True)
    _write(path, {"format": FORMAT, "ok": False, "kind": kind, "type": "RuntimeError", "module": "builtins",
                  "message": message, "traceback": "", "attempt": attempt})
    return 2


def _python() -> str:
    return "%d.%d" % tuple(sys.version_info[:2])


def main(argv: list) -> int:
    if len(argv) < 2:
        print("usage: remote.py PAYLOAD RESULT [LOCAL_FOLDER]", file=sys.stderr)
        return 2
    payload, result = argv[0], argv[1]
    attempt = os.environ.get("CC_ATTEMPT", "")
    folders = [f for f in (argv[2].split(os.pathsep) if len(argv) > 2 else []) if f and os.path.isdir(f)]
    if not os.path.exists(payload):
        for folder in folders:
            if os.path.exists(os.path.join(folder, payload)):
                payload = os.path.join(folder, payload)
                break
    try:
        handle = open(payload, "rb")
    except OSError as exc:
        return _fail(result, "setup", f"the call's payload {payload} cannot be read ({exc.strerror})", attempt)
    with handle:
        try:
            header = json.loads(handle.readline())
        except ValueError:
            return _fail(result, "setup", f"{payload} is not a cc function payload", attempt)
        here = _python()
        if header.get("python") != here:
            return _fail(result, "mismatch", f"Python versions differ: the caller runs Python {header.get('python')}, "
                         f"this side runs Python {here} ({sys.executable})", attempt)
        try:
            import cloudpickle
        except ImportError:
            return _fail(result, "mismatch", f"cloudpickle is not installed for {sys.executable}: install "
                         f"cloudpickle {header.get('cloudpickle')} there (pip install "
                         f"'cloudpickle=={header.get('cloudpickle')}')", attempt)
        theirs, ours = str(header.get("cloudpickle")), cloudpickle.__version__
        if theirs.split(".")[0] != ours.split(".")[0]:
            return _fail(result, "mismatch", f"cloudpickle versions differ: the caller has cloudpickle {theirs}, "
                         f"this side ({sys.executable}) has cloudpickle {ours}", attempt)
        _stand_in_for_cc()
        for folder in reversed([os.getcwd(), *folders]):  # modules next to the workflow file
            if folder not in sys.path:
                sys.path.insert(0, folder)
        try:
            if header.get("encoding") == "base64":
                import base64

                call = cloudpickle.loads(base64.b64decode(handle.read()))
            else:
                call = cloudpickle.load(handle)
            function = call.get("function")
            if function is None:
                import importlib

                module, _, name = str(call["ref"]).partition(":")
                function = importlib.import_module(module)
                for part in name.split("."):
                    function = getattr(function, part)
        except BaseException as exc:  # noqa: BLE001 - said to the caller
            return _exception(result, exc, attempt, cloudpickle, "setup")
    try:
        value = function(*call.get("args", ()), **call.get("kwargs", {}))
    except BaseException as exc:  # noqa: BLE001 - the caller gets it
        return _exception(result, exc, attempt, cloudpickle, "exception")
    try:
        _write(result, {"format": FORMAT, "ok": True, "attempt": attempt, "python": here,
                        "cloudpickle": ours}, value, cloudpickle)
    except BaseException as exc:  # noqa: BLE001
        return _exception(result, exc, attempt, cloudpickle, "result", "the return value cannot be pickled: ")
    return 0


def _exception(path: str, exc: BaseException, attempt: str, cloudpickle: object, kind: str,
               prefix: str = "") -> int:
    tb = exc.__traceback__
    if kind == "exception" and tb is not None and tb.tb_next is not None:
        tb = tb.tb_next  # the runner's own frame says nothing about the call
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    sys.stderr.write(text)
    sys.stderr.flush()
    header = {"format": FORMAT, "ok": False, "kind": kind, "type": type(exc).__qualname__,
              "module": type(exc).__module__, "message": prefix + str(exc), "traceback": text, "attempt": attempt}
    try:
        body = cloudpickle.dumps(exc)  # type: ignore[attr-defined]
    except BaseException:  # noqa: BLE001 - the text is enough then
        body = None
    temporary = f"{path}.partial"
    with open(temporary, "wb") as handle:
        handle.write(json.dumps(header).encode() + b"\n")
        if body is not None:
            handle.write(body)
    os.replace(temporary, path)
    return 1 if kind == "exception" else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
