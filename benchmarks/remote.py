"""The SSH, SLURM and REST/GUI benchmarks, each against a floor measured in the same run.

Each section needs its plugin and its component (sshd, a one-node SLURM cluster, Chromium); where one is missing
the section says "not available" and why. The components are started from cc's own test helpers
(:mod:`cc_core.testing.sshd`, :mod:`cc_core.testing.slurm`) in folders of their own, and stopped afterwards.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from measure import CommandFailed, Sample, run_once
from report import Table

HERE = Path(__file__).resolve().parent
Section = tuple[str, Table, list[str]]


def unavailable(title: str, reason: str) -> Section:
    table = Table(["measure", "value"])
    table.add(["not available", reason])
    return title, table, []


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def cc_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CC_HOME"] = str(home)
    env.pop("CC_STORE_SYNC", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def _median(samples: list[Sample]) -> float:
    return statistics.median(s.wall for s in samples)


def _workflow(path: Path, name: str, jobs: dict[str, dict[str, Any]], header: str = "") -> Path:
    import json

    lines = [f"name: {name}", *([header] if header else []), "jobs:"]
    for job, fields in jobs.items():
        lines.append(f"  {job}:")
        lines += [f"    {key}: {json.dumps(value)}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def remote_sections(work: Path, bin_dir: Path, runs: int, which: Sequence[str]) -> list[Section]:
    sections = []
    benches = {"SSH": ssh_section, "SLURM": slurm_section, "WEB": web_section, "GUI": gui_section}
    for bench in (benches[key] for key in which):
        print(f"  {bench.__doc__.splitlines()[0] if bench.__doc__ else bench.__name__} ...", flush=True)
        try:
            sections.append(bench(work, bin_dir, runs))
        except CommandFailed as exc:
            sections.append(unavailable(bench.__name__, f"failed: {exc}"[:300]))
    return sections


# ------------------------------------------------------------------------------------------------------ ssh
SSH_JOBS = 100


def ssh_section(work: Path, bin_dir: Path, runs: int) -> Section:
    """SSH: 100 trivial jobs on the test sshd over loopback"""
    title = f"SSH: {SSH_JOBS} trivial jobs on a private sshd over loopback, 2 at a time"
    try:
        import cc_ssh  # noqa: F401
        from cc_core.testing.sshd import SSHD, SSHServer
    except ImportError as exc:
        return unavailable(title, f"the ssh plugin is not installed ({exc})")
    missing = [p for p in ("ssh", "ssh-keygen") if shutil.which(p) is None]
    if not os.access(SSHD, os.X_OK) or missing:
        return unavailable(title, f"OpenSSH is missing ({', '.join(missing) or SSHD}): "
                                  "apt-get install openssh-server openssh-client")
    try:
        server = SSHServer(work / "sshd", alias="cc-bench-host").start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return unavailable(title, f"sshd did not start: {exc}")
    try:
        flow = _workflow(work / "ssh.yaml", "bench-ssh",
                         {f"j{i}": {"kind": "ssh", "host": server.alias, "command": "true"} for i in range(SSH_JOBS)},
                         header=f"defaults:\n  options: {{remote_root: {work / 'ssh-remote'}}}")
        floor_argv = [sys.executable, str(HERE / "ssh_floor.py"), str(server.config_path), server.alias,
                      str(SSH_JOBS), str(work / "ssh-mux")]
        floor = [run_once(floor_argv) for _ in range(max(1, runs))]
        cc_runs: list[Sample] = []
        logins: list[int] = []
        for i in range(1):   # one run (the floor takes several)
            home = work / f"home-ssh-{i}"
            before = server.accepted_logins()
            cc_runs.append(run_once([str(bin_dir / "ccw"), "run", str(flow), "-q", "--max-parallel", "2"],
                                    env=cc_env(home, CC_SSH_CONFIG=str(server.config_path))))
            logins.append(server.accepted_logins() - before)
        from ssh_latency import measure

        latency = measure(server, work / "ssh-latency")
    finally:
        server.close()
    f, c = _median(floor), _median(cc_runs)
    table = Table(["measure", "value", "target", "met"])
    table.add(["floor: ssh over one multiplexed connection, 2 at a time", f"{f:.2f} s", "", ""])
    table.add(["ccw run (whole process)", f"{c:.2f} s", f"<= 1.5x floor ({1.5 * f:.2f} s)",
               f"{_yes(c <= 1.5 * f)} ({c / f:.2f}x)"])
    table.add(["SSH connections opened by one ccw run", f"{max(logins)}", "<= 2", _yes(max(logins) <= 2)])
    end, line, kill = latency["end_ms"], latency["progress_ms"], latency["kill"]
    table.add(["a job's exit to its end pushed (20 jobs, median / max)", f"{end['median']:.0f} / {end['max']:.0f} ms",
               "median <= 100 ms", _yes(end["median"] <= 100)])
    read = latency["log_interval"] * 1000
    table.add(["a progress line to the local log copy (median / max); the engine reads that copy every "
               f"{read:.0f} ms", f"{line['median']:.0f} / {line['max']:.0f} ms", "<= 500 ms",
               _yes(line["max"] + read <= 500)])
    table.add([f"sshd killed (every process) and restarted while {kill['jobs']} jobs are submitted: ran once / "
               "twice / never, done", f"{kill['ran_once']} / {kill['ran_twice']} / {kill['never']}, {kill['done']}",
               "all once, all done", _yes(kill["ran_once"] == kill["jobs"] == kill["done"])])
    submit, notice = _phases(work / "home-ssh-0")
    notes = [f"runs: floor {', '.join(f'{s.wall:.2f}' for s in floor)} s; cc {', '.join(f'{s.wall:.2f}' for s in cc_runs)}"
             f" s; logins per cc run {logins}; the sshd-kill run took {kill['seconds']:.1f} s",
             f"where cc's time goes (store timestamps): queued -> running (submission) median {submit * 1000:.0f} ms; "
             f"running -> done for a job that runs 'true' median {notice * 1000:.0f} ms"]
    return title, table, notes


def _phases(home: Path) -> tuple[float, float]:
    """Median queued -> running and running -> done of the jobs of the run in ``home``'s store."""
    import sqlite3

    db = sqlite3.connect(home / "cc.db")
    try:
        rows = db.execute("SELECT job, state, at FROM transitions ORDER BY id").fetchall()
    finally:
        db.close()
    at: dict[tuple[str, str], float] = {}
    for job, state, when in rows:
        at.setdefault((job, state), when)
    jobs = {job for job, _ in at}
    submit = [at[(j, "running")] - at[(j, "queued")] for j in jobs if (j, "running") in at and (j, "queued") in at]
    notice = [at[(j, "done")] - at[(j, "running")] for j in jobs if (j, "done") in at and (j, "running") in at]
    return (statistics.median(submit) if submit else float("nan"), statistics.median(notice) if notice else float("nan"))


# ------------------------------------------------------------------------------------------------------ slurm
SLURM_JOBS = (10, 50)
SLURM_COMMANDS = ("sbatch", "squeue", "sacct", "scontrol", "scancel")


def _slurm_shims(folder: Path, binaries: dict[str, str]) -> Path:
    """Wrappers that count every call of a SLURM command (in ``$CC_BENCH_CALLS``) and run the real one."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SLURM_COMMANDS:
        real = binaries.get(name) or shutil.which(name)
        if real is None:
            continue
        shim = folder / name
        shim.write_text(f'#!/bin/sh\necho {name} >> "$CC_BENCH_CALLS"\nexec {real} "$@"\n')
        shim.chmod(0o755)
    return folder


def _calls(path: Path) -> dict[str, int]:
    counts = {name: 0 for name in SLURM_COMMANDS}
    if path.exists():
        for line in path.read_text().split():
            counts[line] = counts.get(line, 0) + 1
    return counts


def slurm_section(work: Path, bin_dir: Path, runs: int) -> Section:
    """SLURM: independent jobs on a one-node test cluster"""
    title = f"SLURM: {SLURM_JOBS[-1]} independent trivial jobs on a one-node test cluster"
    try:
        from cc_slurm.jobtype import SlurmJobType
        from cc_core.testing.slurm import SlurmCluster, SlurmUnavailable, find_binaries
    except ImportError as exc:
        return unavailable(title, f"the slurm plugin is not installed ({exc})")
    try:
        binaries = find_binaries()
    except SlurmUnavailable as exc:
        return unavailable(title, str(exc))
    try:
        cluster = SlurmCluster(work / "slurm", cpus=max(SLURM_JOBS)).start()
    except (RuntimeError, OSError, subprocess.SubprocessError, TimeoutError) as exc:
        return unavailable(title, f"the test cluster did not start: {exc}")
    poll = SlurmJobType.poll_interval
    shims = _slurm_shims(work / "slurm-shims", binaries)
    rows: dict[int, dict[str, Any]] = {}
    try:
        for count in SLURM_JOBS:
            flow = _workflow(work / f"slurm-{count}.yaml", f"bench-slurm-{count}",
                             {f"j{i}": {"kind": "slurm", "command": "true"} for i in range(count)})
            floor: list[Sample] = []
            cc: list[Sample] = []
            calls: dict[str, int] = {}
            for i in range(max(1, min(runs, 3))):
                env = dict(cluster.env)
                env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
                env["CC_BENCH_CALLS"] = str(work / f"slurm-floor-{count}-{i}.calls")
                floor.append(run_once([sys.executable, str(HERE / "slurm_floor.py"), str(count), str(poll)],
                                      env=env))
                env = cc_env(work / f"home-slurm-{count}-{i}", PATH=env["PATH"], SLURM_CONF=env["SLURM_CONF"],
                             CC_BENCH_CALLS=str(work / f"slurm-cc-{count}-{i}.calls"))
                cc.append(run_once([str(bin_dir / "ccw"), "run", str(flow), "-q", "--max-parallel", str(count)],
                                   env=env))
                calls = _calls(Path(env["CC_BENCH_CALLS"]))
            rows[count] = {"floor": _median(floor), "cc": _median(cc), "calls": calls}
    finally:
        cluster.stop()
    big, small = rows[SLURM_JOBS[-1]], rows[SLURM_JOBS[0]]
    table = Table(["measure", "value", "target", "met"])
    for count, r in rows.items():
        table.add([f"{count} jobs: floor (sbatch each, then squeue every {poll:g} s until done)", f"{r['floor']:.2f} s",
                   "", ""])
        ratio = r["cc"] / r["floor"]
        table.add([f"{count} jobs: ccw run (whole process)", f"{r['cc']:.2f} s",
                   f"<= 1.2x floor ({1.2 * r['floor']:.2f} s)" if count == SLURM_JOBS[-1] else "",
                   f"{_yes(ratio <= 1.2)} ({ratio:.2f}x)" if count == SLURM_JOBS[-1] else f"({ratio:.2f}x)"])
    for count, r in rows.items():
        c = r["calls"]
        table.add([f"{count} jobs: squeue / sacct / sbatch calls of one ccw run",
                   f"{c['squeue']} / {c['sacct']} / {c['sbatch']}", "", ""])
    grows = (big["calls"]["squeue"] + big["calls"]["sacct"]) / max(1.0, big["cc"]) > \
        1.5 * (small["calls"]["squeue"] + small["calls"]["sacct"]) / max(1.0, small["cc"]) + 1
    table.add(["squeue+sacct calls per second of run grow with the job count", "yes" if grows else "no", "no",
               _yes(not grows)])
    return title, table, []


# ------------------------------------------------------------------------------------------------------ web
def web_section(work: Path, bin_dir: Path, runs: int) -> Section:
    """REST/GUI: status requests, event stream and graph view during a 1,000-job run"""
    title = "REST/GUI: a 1,000-job run (20 layers x 50) followed by 20 clients, an event stream and Chromium"
    try:
        import cc_web  # noqa: F401
    except ImportError as exc:
        return unavailable(title, f"the web plugin is not installed ({exc})")
    from web_load import measure_web

    return measure_web(title, work, bin_dir, cc_env)


def gui_section(work: Path, bin_dir: Path, runs: int) -> Section:
    """GUI in Chromium: a 1,000-job run at max_parallel 8, and 10,000 jobs"""
    title = "GUI in Chromium: a 1,000-job run going at max_parallel 8, and a run of 10,000 jobs"
    try:
        import cc_web  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        return unavailable(title, f"the web plugin or playwright is not installed ({exc})")
    from web_gui import measure_gui

    return measure_gui(title, work, bin_dir, cc_env)
