"""``ccw envs`` (list) and ``ccw envs prune --days N``: contributed through the ``cc_register_commands`` hook."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from cc_core.plugins.commands import Command
from cc_core.plugins.hookspecs import hookimpl

if TYPE_CHECKING:   # every command loads this plugin; only ``ccw envs`` reaches a host
    from cc_core.environments.host import EnvironmentHost


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["list", "prune"], default="list",
                        help="list (default) or prune the environments")
    parser.add_argument("--days", type=float, default=None, help="prune: remove those not used for this many days")
    parser.add_argument("--kind", default=None, help="the job type whose host to look at (default: local)")
    parser.add_argument("--host", default=None, help="the host (as a job's host: says it)")
    parser.add_argument("--workflow", "-w", default=None, help="look at every host this workflow file's jobs use")
    parser.add_argument("--json", action="store_true")


def _hosts(args: argparse.Namespace) -> list[EnvironmentHost]:
    from cc_core.plugins.registry import get_registry
    from cc_core.settings import make_job_type
    from cc_core.workflow.model import JobSpec

    jobs: list[JobSpec] = []
    if args.workflow:
        from cc_core.workflow.file import load_workflow

        spec = load_workflow(Path(args.workflow))
        jobs = [j for j in spec.jobs.values() if j.requirements is not None or j.conda]
    else:
        fields = {"name": "envs", "command": "true", "kind": args.kind or "local"}
        if args.host:
            fields["host"] = args.host
        jobs = [JobSpec(**fields)]
    registry = get_registry()
    job_types = {}
    hosts: dict[tuple[str, str], EnvironmentHost] = {}
    for job in jobs:
        if job.kind not in job_types:
            job_types[job.kind] = make_job_type(registry, job.kind)
        host = job_types[job.kind].environment_host(job)
        hosts.setdefault(host.identity, host)
    return list(hosts.values())


def _size(size: Optional[int]) -> str:
    if size is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size = size / 1024  # type: ignore[assignment]
    return "-"


def _ago(when: Optional[float]) -> str:
    if not when:
        return "never"
    seconds = max(0.0, time.time() - when)
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f}{unit} ago"
    return "just now"


def run_envs(args: argparse.Namespace) -> int:
    from cc_core.environments.listing import list_environments, prune_environments
    from cc_core.errors import CCError

    hosts = _hosts(args)
    if args.action == "prune":
        if args.days is None:
            raise CCError("ccw envs prune needs --days N (remove environments not used for N days)")
        removed = {host.label: prune_environments(host, args.days) for host in hosts}
        if args.json:
            print(json.dumps(removed))
        else:
            for label, names in removed.items():
                print(f"{label}: removed {len(names)} environment{'s' if len(names) != 1 else ''}"
                      + (": " + ", ".join(names) if names else ""))
        return 0
    found = [info for host in hosts for info in list_environments(host)]
    if args.json:
        print(json.dumps([info.as_dict() for info in found]))
        return 0
    if not found:
        print("no environments on " + ", ".join(h.label for h in hosts))
        return 0
    rows = [("HOST", "ENVIRONMENT", "SIZE", "LAST USED", "INSTALLER", "REQUIREMENTS")]
    for info in found:
        wanted = " ".join(line for line in info.requirements.splitlines() if not line.startswith("-"))
        rows.append((info.host, info.name + ("" if info.complete else " (unfinished)"), _size(info.size),
                     _ago(info.last_used), info.installer or "-", wanted[:60] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")
    return 0


ENVS = Command("envs", "list the environments built on hosts (size, last use), or prune unused ones",
               _configure, run_envs)


@hookimpl
def cc_register_commands(register: Callable[[Command], None]) -> None:
    register(ENVS)
