"""Progress parsers: turning a job's log lines into progress reports.

A job reports progress by printing a line such as ``# cc status=running progress=40 msg="reading input"``;
cloudmesh-cc's ``# cloudmesh status=running progress=40 pid=123`` is understood too. Other formats are plugins:
subclass :class:`ProgressParser` and register it with ``cc_register_progress_parsers``.

This module is itself a plugin of cc-core (entry point ``progress``), registered like any other.
"""

from __future__ import annotations

import re
import shlex
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Iterator, Optional, Sequence

from cc_core.plugins.hookspecs import hookimpl


@dataclass(frozen=True)
class ProgressReport:
    """What one progress line says. Any field may be missing."""

    progress: Optional[float] = None   # 0..100
    status: Optional[str] = None       # what the job says of itself; informational, exit codes decide
    message: Optional[str] = None
    values: dict[str, str] = field(default_factory=dict)


class ProgressParser(ABC):
    """Base class of progress parsers.

    ``needles`` are byte strings a line must contain to be worth parsing; lines without any are skipped before
    :meth:`parse` is called, which keeps chatty jobs cheap.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    needles: ClassVar[tuple[bytes, ...]] = ()

    @abstractmethod
    def parse(self, line: str) -> Optional[ProgressReport]:
        """The report in ``line`` (one log line, no newline), or ``None`` when the line is not one of this
        parser's."""


def progress_line(progress: Optional[float] = None, message: Optional[str] = None, status: str = "running") -> str:
    """The line a job prints to report progress: ``# cc status=running progress=40 msg="epoch 2/5"``."""
    parts = ["# cc", f"status={status}"]
    if progress is not None:
        value = max(0.0, min(100.0, float(progress)))
        parts.append(f"progress={int(value) if value.is_integer() else round(value, 2)}")
    if message:
        text = " ".join(str(message).split()).replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'msg="{text}"')
    return " ".join(parts)


_KEY_VALUES = re.compile(r"""([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)""")


def parse_key_values(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, raw in _KEY_VALUES.findall(text):
        if raw[:1] in ("'", '"'):
            try:
                raw = shlex.split(raw)[0] if raw not in ('""', "''") else ""
            except ValueError:
                raw = raw[1:-1]
        values[key] = raw
    return values


def _report(values: dict[str, str]) -> Optional[ProgressReport]:
    progress: Optional[float] = None
    if "progress" in values:
        try:
            progress = max(0.0, min(100.0, float(values["progress"].rstrip("%"))))
        except ValueError:
            progress = None
    status = values.get("status") or None
    message = values.get("msg") or values.get("message") or None
    if progress is None and status is None and message is None:
        return None
    rest = {k: v for k, v in values.items() if k not in ("progress", "status", "msg", "message")}
    return ProgressReport(progress=progress, status=status, message=message, values=rest)


class _PrefixParser(ProgressParser):
    prefix: ClassVar[str] = ""

    def parse(self, line: str) -> Optional[ProgressReport]:
        at = line.find(self.prefix)
        if at < 0 or line[:at].strip():
            return None
        return _report(parse_key_values(line[at + len(self.prefix):]))


class CCProgressParser(_PrefixParser):
    name = "cc"
    description = "lines '# cc status=running progress=40 msg=...'"
    needles = (b"# cc ",)
    prefix = "# cc "


class CloudmeshProgressParser(_PrefixParser):
    name = "cloudmesh"
    description = "cloudmesh-cc lines '# cloudmesh status=running progress=40 pid=123'"
    needles = (b"# cloudmesh ",)
    prefix = "# cloudmesh "


ALL_FIELDS = ("progress", "status", "message")


class LineScanner:
    """Applies parsers to log chunks; returns the last report a chunk holds (the last line wins).

    A chunk is read from its end: lines are found by looking for the parsers' needles (never by splitting the
    chunk into lines), and the scan stops as soon as the fields asked for are known. A million-line log costs
    one pass of ``bytes.rfind``, not a million parses.
    """

    def __init__(self, parsers: Sequence[ProgressParser]) -> None:
        self.parsers = list(parsers)
        self.needles = tuple({needle for p in self.parsers for needle in p.needles})
        self._any_line = any(not p.needles for p in self.parsers)

    def last_report(self, data: bytes, fields: Sequence[str] = ALL_FIELDS) -> Optional[ProgressReport]:
        """The merged report of the chunk's progress lines: each of ``fields`` from the last line that gives it
        (other values from the lines read until those were all known)."""
        if not data:
            return None
        if not self._any_line and not any(n in data for n in self.needles):
            return None
        found: dict[str, object] = {}
        values: dict[str, str] = {}
        seen = False
        for raw in self._lines_from_end(data):
            line = raw.decode("utf-8", "replace")
            for parser in self.parsers:
                report = parser.parse(line)
                if report is None:
                    continue
                seen = True
                for name in ALL_FIELDS:
                    value = getattr(report, name)
                    if name not in found and value is not None and value != "":
                        found[name] = value
                values = {**report.values, **values}
                break
            if all(name in found for name in fields):
                break
        if not seen:
            return None
        progress = found.get("progress")
        return ProgressReport(progress=float(progress) if isinstance(progress, (int, float)) else None,
                              status=found.get("status"), message=found.get("message"),  # type: ignore[arg-type]
                              values=values)

    def _lines_from_end(self, data: bytes) -> Iterator[bytes]:
        """The chunk's lines that may hold a report, last first."""
        end = len(data)
        while end > 0:
            if self._any_line:
                at = end - 1 if data[end - 1:end] == b"\n" else end
                start = data.rfind(b"\n", 0, at) + 1
                yield data[start:at]
                end = start
                continue
            at = max(data.rfind(needle, 0, end) for needle in self.needles)
            if at < 0:
                return
            start = data.rfind(b"\n", 0, at) + 1
            stop = data.find(b"\n", at, end)
            yield data[start:stop if stop >= 0 else end]
            end = start


@hookimpl
def cc_register_progress_parsers(register: Callable[[type[ProgressParser]], None]) -> None:
    register(CCProgressParser)
    register(CloudmeshProgressParser)
