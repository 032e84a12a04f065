"""Analytics functions: 100 calls of a trivial function with ``map``, 2 at a time, against 100 plain Python
processes that import cloudpickle, load a payload and write a result (2 at a time), with Dask's ``Client.map``
beside them; and one call's round trip on the test SLURM cluster against ``sbatch --wrap`` plus ``squeue``."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Optional

from measure import Sample, run_once
from report import Table

HERE = Path(__file__).resolve().parent
CALLS = 100
Section = tuple[str, Table, list[str]]


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _median(samples: list[Sample]) -> float:
    return statistics.median(s.wall for s in samples)


def _home(path: Path, parallel: Optional[int] = 2) -> dict[str, str]:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    if parallel:
        (path / "config.yaml").write_text(f"functions: {{max_parallel: {parallel}}}\n")
    env = dict(os.environ)
    env["CC_HOME"] = str(path)
    env.pop("CC_STORE_SYNC", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def dask_distributed(ref_python: Optional[Path]) -> tuple[Optional[Path], str]:
    """The reference environment's Python when it has dask.distributed (installed there when missing)."""
    if ref_python is None:
        return None, "no reference environment"
    probe = [str(ref_python), "-c", "import distributed; print(distributed.__version__)"]
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0:
        subprocess.run([str(ref_python), "-m", "pip", "install", "-q", "distributed"], capture_output=True,
                       timeout=600)
        found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0:
        return None, f"dask.distributed could not be installed: {found.stderr[-200:]}"
    return ref_python, found.stdout.strip()


def map_section(work: Path, runs: int, ref_python: Optional[Path]) -> Section:
    title = f"Functions: {CALLS} calls of a trivial function with map, 2 at a time, whole processes"
    dask_python, dask_version = dask_distributed(ref_python)
    floor: list[Sample] = []
    cc: list[Sample] = []
    dask: list[Sample] = []
    rounds = max(1, runs)
    for i in range(-1, rounds):                      # round -1 warms up
        f = run_once([sys.executable, str(HERE / "fn_floor.py"), str(CALLS), str(work / f"fn-floor-{i}")])
        c = run_once([sys.executable, str(HERE / "fn_calls.py"), str(CALLS)], env=_home(work / f"fn-home-{i}"),
                     cwd=work)
        d = run_once([str(dask_python), str(HERE / "fn_dask.py"), str(CALLS)]) if dask_python else None
        if i >= 0:
            floor.append(f)
            cc.append(c)
            if d is not None:
                dask.append(d)
    table = Table(["measure", "value", "target", "met"])
    f_wall, c_wall = _median(floor), _median(cc)
    table.add(["floor: 100 Python processes, cloudpickle payload in, result out", f"{f_wall:.2f} s", "", ""])
    ratio = c_wall / f_wall
    table.add(["cc: f.map(range(100)), results collected", f"{c_wall:.2f} s", f"<= 1.5x floor ({1.5 * f_wall:.2f} s)",
               f"{_yes(ratio <= 1.5)} ({ratio:.2f}x)"])
    table.add([f"Dask {dask_version}: Client.map, LocalCluster 2 workers",
               f"{_median(dask):.2f} s" if dask else "n/a", "", ""])
    notes = [f"per call: floor {f_wall / CALLS * 1000:.1f} ms, cc {c_wall / CALLS * 1000:.1f} ms; CPU of the whole "
             f"process tree: floor {statistics.median(s.cpu for s in floor):.2f} s, cc "
             f"{statistics.median(s.cpu for s in cc):.2f} s"]
    if not dask:
        notes.append(f"Dask not measured: {dask_version}")
    return title, table, notes


def slurm_section(work: Path, runs: int) -> Section:
    title = "Functions on SLURM: one call's round trip on the one-node test cluster"
    try:
        from cc_slurm.jobtype import SlurmJobType
        from cc_core.testing.slurm import SlurmCluster, SlurmUnavailable, find_binaries
    except ImportError as exc:
        return _unavailable(title, f"the slurm plugin is not installed ({exc})")
    try:
        find_binaries()
        cluster = SlurmCluster(work / "fn-slurm", cpus=2).start()
    except (SlurmUnavailable, RuntimeError, OSError, subprocess.SubprocessError, TimeoutError) as exc:
        return _unavailable(title, str(exc))
    poll = SlurmJobType.poll_interval
    floor: list[Sample] = []
    cc: list[Sample] = []
    times = work / "fn-slurm-times.txt"
    try:
        for i in range(-1, max(1, min(runs, 3))):
            env = dict(cluster.env)
            f = run_once([sys.executable, str(HERE / "slurm_floor.py"), "1", str(poll)], env=env)
            home = _home(work / f"fn-slurm-home-{i}", None)
            home.update(PATH=env["PATH"], SLURM_CONF=env["SLURM_CONF"])
            c = run_once([sys.executable, str(HERE / "fn_slurm.py"), cluster.partition, str(times)], env=home,
                         cwd=work)
            if i >= 0:
                floor.append(f)
                cc.append(c)
    finally:
        cluster.stop()
    table = Table(["measure", "value", "target", "met"])
    f_wall, c_wall = _median(floor), _median(cc)
    table.add([f"floor: sbatch --wrap true, squeue every {poll:g} s until done", f"{f_wall:.2f} s", "", ""])
    ratio = c_wall / f_wall
    table.add(["cc: one call of a function with kind=slurm, result back", f"{c_wall:.2f} s",
               f"<= 1.2x floor ({1.2 * f_wall:.2f} s)", f"{_yes(ratio <= 1.2)} ({ratio:.2f}x)"])
    rows = [tuple(map(float, line.split())) for line in times.read_text().splitlines()[1:]]
    start = statistics.median(r[0] for r in rows)
    trip = statistics.median(r[1] for r in rows)
    table.add(["cc inside the process: the call from submit to result", f"{trip:.2f} s", "", f"({trip / f_wall:.2f}x)"])
    notes = [f"the rest of cc's whole process is Python start-up and imports before the call ({start:.2f} s "
             "median) and the run's end at exit"]
    return title, table, notes


def _unavailable(title: str, reason: str) -> Section:
    table = Table(["measure", "value"])
    table.add(["not available", reason])
    return title, table, []


def function_sections(work: Path, runs: int, ref_python: Optional[Path], chosen: set[str]) -> list[Section]:
    out: list[Section] = []
    if "FN" in chosen:
        out.append(map_section(work, runs, ref_python))
    if "FN-SLURM" in chosen:
        out.append(slurm_section(work, runs))
    return out


