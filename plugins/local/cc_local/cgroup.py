"""A cgroup (v2) per job, where cc can make one: the kernel then counts every process of the job, whatever it does.

cc uses one when ``/sys/fs/cgroup`` is the cgroup v2 hierarchy with controllers and the supervisor's own cgroup is
writable (root, or a delegated subtree such as a systemd user slice); otherwise :mod:`cc_local.job_processes`' tags
and the supervisor's child subreaper do the tracking. ``CC_LOCAL_CGROUPS=0`` turns cgroups off.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

ROOT = Path("/sys/fs/cgroup")


def cgroup_base() -> Optional[Path]:
    """The cgroup under which job cgroups can be made, or ``None`` (then the subreaper is used)."""
    if os.environ.get("CC_LOCAL_CGROUPS", "1") == "0":
        return None
    try:
        if not (ROOT / "cgroup.controllers").read_text(encoding="utf-8").split():
            return None
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            own = ROOT / line[3:].lstrip("/")
            if own.is_dir() and os.access(own, os.W_OK) and os.access(own / "cgroup.procs", os.W_OK):
                return own
    return None


class JobCgroup:
    """The cgroup of one job: made before the job starts, joined by the job's first process, removed when empty."""

    def __init__(self, base: Path, tag: str) -> None:
        self.path = base / f"cc-job-{tag}"

    def create(self) -> bool:
        try:
            self.path.mkdir()
            return True
        except OSError:
            return False

    def join(self) -> None:
        """Called in the job's process before it runs the job (``preexec_fn``): move it into the cgroup."""
        with open(self.path / "cgroup.procs", "w", encoding="utf-8") as handle:
            handle.write("0")

    def pids(self) -> set[int]:
        try:
            return {int(line) for line in (self.path / "cgroup.procs").read_text(encoding="utf-8").split()}
        except (OSError, ValueError):
            return set()

    def kill(self) -> None:
        """SIGKILL everything in it at once (``cgroup.kill``, Linux 5.14+)."""
        try:
            (self.path / "cgroup.kill").write_text("1", encoding="utf-8")
        except OSError:
            pass

    def remove(self) -> bool:
        try:
            self.path.rmdir()
            return True
        except OSError:
            return False
