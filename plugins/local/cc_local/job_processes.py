"""Finding every process of a local job, also those that left its process group or session.

Every job started by the supervisor carries ``CC_PROCESS_TAG=<tag>`` in its environment, which its descendants
inherit whatever they do with sessions and groups (``setsid``, double forks); a job's processes are those that carry
its tag, those in its process group or session, and every descendant of those. Where cc can make one, a cgroup per
job (:mod:`cc_local.cgroup`) adds the processes the kernel counts in it.
"""

from __future__ import annotations

import os
import signal
from typing import Iterable, Optional

TAG_VARIABLE = "CC_PROCESS_TAG"


def process_table() -> dict[int, tuple[int, int, int]]:
    """``pid -> (parent pid, process group, session)`` of every process, from ``/proc``."""
    table: dict[int, tuple[int, int, int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) > 3:
            table[int(entry)] = (int(fields[1]), int(fields[2]), int(fields[3]))
    return table


def carries_tag(pid: int, tag: str) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return (f"\0{TAG_VARIABLE}={tag}\0").encode() in b"\0" + data + b"\0"


def job_processes(group: Optional[int], tag: Optional[str], known: Iterable[int] = ()) -> set[int]:
    """The processes of a job: ``group`` is the pid of its main process, which leads its process group and
    session (the kernel reuses no pid while a group or session of that id exists, so this never names strangers),
    ``tag`` its environment tag, ``known`` processes found otherwise (its cgroup)."""
    table = process_table()
    me = os.getpid()
    found = {pid for pid in known if pid in table}
    for pid, (_parent, process_group, session) in table.items():
        if pid == me:
            continue
        if group is not None and group in (process_group, session):
            found.add(pid)
        elif tag is not None and carries_tag(pid, tag):
            found.add(pid)
    children: dict[int, list[int]] = {}
    for pid, (parent, _group, _session) in table.items():
        children.setdefault(parent, []).append(pid)
    pending = list(found)
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found and child != me:
                found.add(child)
                pending.append(child)
    return found


def send(pids: Iterable[int], sig: int) -> int:
    """Send ``sig`` to each of ``pids``; the number of processes it reached."""
    reached = 0
    for pid in pids:
        try:
            os.kill(pid, sig)
            reached += 1
        except (ProcessLookupError, PermissionError):
            pass
    return reached


def live(pids: Iterable[int]) -> set[int]:
    """Those of ``pids`` that are still there and not zombies (dead, only not reaped yet)."""
    alive = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        if data[data.rfind(b")") + 2:data.rfind(b")") + 3] != b"Z":
            alive.add(pid)
    return alive


SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)
