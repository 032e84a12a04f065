"""Running a command as a whole process and measuring it: wall time from start to exit, peak RSS and CPU time
(from ``wait4``, so only that process and the children it waited for count)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence


@dataclass(frozen=True)
class Sample:
    wall: float          # seconds
    cpu: float           # user + system seconds of the process and its children
    peak_rss_mb: float   # the largest resident set of the process or any one child
    returncode: int


class CommandFailed(RuntimeError):
    pass


def run_once(argv: Sequence[str], *, env: Optional[Mapping[str, str]] = None, cwd: Optional[Path] = None,
             before: Optional[Callable[[], None]] = None) -> Sample:
    if before is not None:
        before()
    start = time.perf_counter()
    process = subprocess.Popen(list(argv), env=dict(env) if env is not None else None, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    error = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode != 0:
        raise CommandFailed(f"{' '.join(argv)} exited {process.returncode}: "
                            f"{error.decode(errors='replace')[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, process.returncode)


@dataclass(frozen=True)
class Summary:
    wall: float
    cpu: float
    peak_rss_mb: float
    walls: tuple[float, ...]

    @property
    def spread(self) -> str:
        return f"{min(self.walls):.3f}-{max(self.walls):.3f}"


def summarise(samples: Sequence[Sample]) -> Summary:
    return Summary(statistics.median(s.wall for s in samples), statistics.median(s.cpu for s in samples),
                   max(s.peak_rss_mb for s in samples), tuple(s.wall for s in samples))
