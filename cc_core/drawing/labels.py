"""Job labels with placeholders, as cloudmesh-cc writes them: ``"{name}\\nprogress={progress}"``.

A label may name any field of its job (``{name}``, ``{progress}``, ``{status}``, ``{host}``, ``{kind}``, ``{user}``,
``{exit_code}``, ...), the environment (``{os.HOME}``), cloudmesh variables (``{cm.debug}``, read from
``~/.cloudmesh/variables.dat`` when it exists) and times with a strftime format after the dot: ``{now.%H--%M}``,
``{created.}``, ``{modified.}``, ``{tstart.}``/``{tend.}`` (the job's start and end), ``{t0.}``/``{t1.}`` (the run's),
``{dt.}`` (the job's duration), ``{dt0.}`` (time since the run started) and ``{dt1.}`` (the run's duration). As in
cloudmesh-cc, ``--`` in the filled label stands for ``:`` and ``\\n`` (written as two characters) for a line break. A placeholder that cannot be filled stays
as written, or ``N/A`` for a time not known yet; a label never makes drawing fail.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Optional

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_WHEN = "%m/%d/%Y, %H:%M:%S"
_DURATION = "%H:%M:%S"


@dataclass
class LabelTimes:
    """Times a label may show, as epoch seconds (``None`` while not known)."""

    created: Optional[float] = None
    modified: Optional[float] = None
    started: Optional[float] = None
    ended: Optional[float] = None
    run_started: Optional[float] = None
    run_ended: Optional[float] = None
    now: float = field(default_factory=time.time)


def has_placeholders(label: Optional[str]) -> bool:
    return bool(label) and ("{" in label or "\\n" in label or "--" in label)  # type: ignore[operator]


def _cloudmesh_variables() -> dict[str, Any]:
    path = Path.home() / ".cloudmesh" / "variables.dat"
    try:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, ImportError):
        return {}
    except Exception:  # noqa: BLE001 - a broken variables file must not break drawing
        return {}
    return data if isinstance(data, dict) else {}


def _at(seconds: Optional[float], fmt: str) -> str:
    return "N/A" if seconds is None else datetime.fromtimestamp(seconds).strftime(fmt or _WHEN)


def _span(start: Optional[float], end: Optional[float], fmt: str) -> str:
    if start is None or end is None:
        return "N/A"
    return time.strftime(fmt or _DURATION, time.gmtime(max(0.0, end - start)))


def fill_label(template: str, fields: Mapping[str, Any], times: Optional[LabelTimes] = None) -> str:
    """The label ``template`` with its placeholders filled from ``fields`` and ``times``."""
    times = times or LabelTimes()
    variables: Optional[dict[str, Any]] = None

    def value(match: re.Match[str]) -> str:
        nonlocal variables
        key = match.group(1)
        head, dot, rest = key.partition(".")
        if not dot:
            found = fields.get(key)
            if found is None:
                return match.group(0) if key not in fields else ""
            if isinstance(found, float) and found.is_integer():
                return str(int(found))
            return str(found)
        if head == "os":
            return os.environ.get(rest, "")
        if head == "cm":
            if variables is None:
                variables = _cloudmesh_variables()
            found = variables.get(rest)
            return "" if found is None else str(found)
        point = {"now": times.now, "created": times.created, "modified": times.modified, "tstart": times.started,
                 "tend": times.ended, "t0": times.run_started, "t1": times.run_ended}
        if head in point:
            return _at(point[head], rest)
        if head == "dt":
            return _span(times.started, times.ended if times.ended is not None else
                         (times.now if times.started is not None else None), rest)
        if head == "dt0":
            return _span(times.run_started, times.now, rest)
        if head == "dt1":
            return _span(times.run_started, times.run_ended, rest)
        return match.group(0)

    # as in cloudmesh-cc, '--' becomes ':' in the whole filled label (so '{now.%H--%M}' shows '12:30')
    return _PLACEHOLDER.sub(value, template).replace("--", ":").replace("\\n", "\n")
