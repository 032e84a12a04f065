"""A run's status as text and HTML: one row per job with its state, progress and message, exit code, start and
duration. Plain string formatting (no layout engine), so that a table of 10,000 jobs is drawn in well under a
second, and never cut to a terminal's width when it goes to a pipe or a file."""

from __future__ import annotations

import time
from typing import Any, Iterable, Optional

COLUMNS = ("job", "kind", "host", "state", "attempt", "progress", "exit", "started", "duration", "reason")
_ANSI = {"ready": "2", "preparing": "33", "queued": "33", "running": "1;36", "retrying": "35", "done": "32",
         "failed": "1;31", "killed": "31", "skipped": "2;31"}


def _clock(value: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value)) if value else ""


def duration(started: Optional[float], ended: Optional[float], now: Optional[float] = None) -> str:
    """``12.3s``, ``4m05s``, ``2h03m``; a job still running counts up to ``now``."""
    if not started:
        return ""
    seconds = max(0.0, (ended or now or time.time()) - started)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def progress_text(job: dict[str, Any]) -> str:
    """``40% reading input``: the progress and the job's last message beside it."""
    parts = []
    if job.get("progress") is not None:
        parts.append(f"{job['progress']:.0f}%")
    if job.get("message"):
        parts.append(str(job["message"]))
    return " ".join(parts)


def state_label(state: str, origin: Optional[dict[str, Any]]) -> str:
    """``done (cached)`` and ``done (carried)`` for jobs whose result comes from another run."""
    return f"{state} ({origin['how']})" if origin and state == "done" else state


def job_cells(job: dict[str, Any], now: float) -> list[str]:
    return [job["name"], job["kind"], job["host"], state_label(job["state"], job.get("origin")), str(job["attempt"]),
            progress_text(job),
            "" if job["exit_code"] is None else str(job["exit_code"]), _clock(job["started"]),
            duration(job["started"], job["ended"], now), job.get("reason") or job.get("detail") or ""]


def title(status: dict[str, Any]) -> str:
    reason = f" ({status['reason']})" if status.get("reason") else ""
    rerun = f", rerun of run {status['rerun_of']}" if status.get("rerun_of") else ""
    return f"run {status['id']} of {status['workflow']}: {status['state']}{reason}{rerun}"


def status_lines(status: dict[str, Any], *, color: bool = False, jobs: Optional[Iterable[dict[str, Any]]] = None,
                 width: Optional[int] = None) -> list[str]:
    """The status as lines of text. ``color``: ANSI colours for states; ``width``: cut the reasons to fit (a
    terminal's width; never given for a pipe or a file)."""
    now = time.time()
    rows = [job_cells(job, now) for job in (status["jobs"] if jobs is None else jobs)]
    widths = [len(c) for c in COLUMNS]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    lines = [title(status), "  ".join(c.ljust(w) for c, w in zip(COLUMNS[:-1], widths)) + "  " + COLUMNS[-1]]
    state_column = COLUMNS.index("state")
    prefix = sum(widths[:-1]) + 2 * (len(widths) - 1)   # where the last column (the reason) starts
    room = None if width is None else max(20, width - prefix)
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths)]
        if color:
            state = row[state_column].split(" ")[0]
            cells[state_column] = f"\x1b[{_ANSI.get(state, '0')}m{cells[state_column]}\x1b[0m"
        last = row[-1]
        if room is not None and len(last) > room:
            last = last[:room - 1] + "…"
        lines.append("  ".join(cells) + "  " + last)
    return [line.rstrip() for line in lines]


def status_html(status: dict[str, Any]) -> str:
    import html   # notebooks only; ccw run uses the text table

    now = time.time()
    head = "".join(f"<th style='text-align:left'>{c}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td style='text-align:left'>{html.escape(cell)}</td>"
                                    for cell in job_cells(job, now)) + "</tr>" for job in status["jobs"])
    return (f"<div><strong>{html.escape(title(status))}</strong><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


class RunStatus(dict):  # type: ignore[type-arg]
    """A run's status as a plain dict (``status["jobs"]``, JSON as it is) that prints as a table and shows as one
    in a notebook."""

    def __str__(self) -> str:
        return "\n".join(status_lines(self))

    def _repr_html_(self) -> str:
        return status_html(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:   # IPython's text display
        printer.text(str(self))
