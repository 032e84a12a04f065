"""The live view of ``ccw run``: a rich table of jobs (state, progress bar, elapsed) redrawn as events arrive."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

from cc_core.running.events import Event, JobProgress, JobStateChanged, RunFinished
from cc_core.states import JobState

STATE_STYLE = {
    "ready": "dim", "preparing": "dark_orange", "queued": "yellow", "running": "bold cyan", "retrying": "magenta",
    "done": "green",
    "failed": "bold red", "killed": "red", "skipped": "dim red",
    "done (cached)": "blue", "done (carried)": "dim green",
}
MAX_ROWS = 40


@dataclass
class Row:
    name: str
    host: str
    kind: str
    state: str = "ready"
    attempt: int = 0
    progress: Optional[float] = None
    started: Optional[float] = None
    ended: Optional[float] = None
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    message: Optional[str] = None


class LiveTable:
    """Keeps one row per job from the run's events and renders them (all, or the most relevant 40)."""

    def __init__(self, workflow: str, run_id: int, rows: list[Row]) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self.rows = {r.name: r for r in rows}
        self.started = time.time()
        self.finished: Optional[str] = None
        self.prompt: Optional[str] = None   # a question shown under the table while it goes on updating
        self.lock = threading.Lock()
        self.changed = threading.Event()

    def on_event(self, event: Event) -> None:
        with self.lock:
            if isinstance(event, JobStateChanged):
                row = self.rows.get(event.job)
                if row is None:
                    row = self.rows[event.job] = Row(event.job, "", "")
                row.state = f"{event.state.value} ({event.origin})" if event.origin else event.state.value
                row.attempt = event.attempt
                if event.state in (JobState.PREPARING, JobState.QUEUED):
                    row.started, row.ended, row.progress = None, None, None
                if event.state is JobState.RUNNING:
                    row.started = event.at
                if event.state.is_final or event.state is JobState.RETRYING:
                    row.ended = event.at
                    row.exit_code = event.exit_code
                    row.reason = event.reason
                    if event.state is JobState.DONE:
                        row.progress = 100.0
            elif isinstance(event, JobProgress):
                row = self.rows.get(event.job)
                if row is not None:
                    if event.progress is not None:
                        row.progress = event.progress
                    if event.message is not None:
                        row.message = event.message
            elif isinstance(event, RunFinished):
                self.finished = event.state.value
        self.changed.set()

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts

    def visible(self) -> list[Row]:
        rows = list(self.rows.values())
        if len(rows) <= MAX_ROWS:
            return rows
        rank = {"running": 0, "preparing": 1, "queued": 1, "retrying": 2, "failed": 3, "killed": 4, "ready": 5,
                "done": 6, "skipped": 7}
        rows.sort(key=lambda r: (rank.get(r.state, 9), -(r.ended or r.started or 0)))
        return rows[:MAX_ROWS]

    def render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        now = time.time()
        with self.lock:
            table = Table(title=f"{self.workflow}  (run {self.run_id})", title_justify="left", expand=False,
                          header_style="bold")
            for column in ("job", "host", "state", "progress", "elapsed", "exit"):
                table.add_column(column, justify="right" if column in ("elapsed", "exit") else "left")
            for row in self.visible():
                elapsed = ""
                if row.started:
                    elapsed = f"{(row.ended or now) - row.started:6.1f}s"
                progress: Any = row.message or ""
                if row.progress is not None or row.state == "running":
                    bar = ProgressBar(total=100, completed=row.progress or 0, width=20,
                                      pulse=row.progress is None and row.state == "running")
                    progress = _bar_with_percent(bar, row.progress, row.message)
                state = row.state + (f" #{row.attempt}" if row.attempt > 1 else "")
                table.add_row(row.name, row.host, Text(state, style=STATE_STYLE.get(row.state, "")), progress,
                              elapsed, "" if row.exit_code is None else str(row.exit_code))
            counts = self.counts()
            summary = "  ".join(f"[{STATE_STYLE.get(s, '')}]{s} {n}[/]" for s, n in sorted(counts.items()))
            hidden = len(self.rows) - len(self.visible())
            extra = f"  ({hidden} more jobs not shown)" if hidden > 0 else ""
            footer = Text.from_markup(f"{summary}   elapsed {now - self.started:.1f}s{extra}")
        if self.prompt:
            return Group(table, footer, Text(self.prompt, style="bold yellow"))
        return Group(table, footer)


def _bar_with_percent(bar: Any, progress: Optional[float], message: Optional[str] = None) -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_row(bar, f"{progress:5.1f}%" if progress is not None else "", message or "")
    return grid
