"""``make bench``: cc against GNU make and Dask on the same workloads of trivial jobs, measured in one run.

For each workload (W1 500 independent jobs, W2 a chain of 200, W3 20 layers x 25 all-to-all) it runs, after one
warm-up each and interleaved round by round: ``make -j2`` from a generated Makefile (the floor), Dask's threaded
scheduler with two workers (in a separate environment, ``benchmarks/.venv-ref``), and ``ccw run --max-parallel 2``
as a whole process with the SQLite store in a fresh ``CC_HOME``; then the engine inside one process
(``prepare_run`` + ``Engine.execute``) for its own per-job overhead and the chain's edge latency. Then the
10,000-job DAG, the cache and rerun (``cached.py``), the SSH, SLURM and REST benchmarks where their plugins and
components are there, and the analytics functions (100 calls with map; one SLURM round trip).

    .venv/bin/python benchmarks/run.py [--runs 5] [--only SECTIONS] [--markdown FILE]

SECTIONS, comma-separated: W1, W2, W3, SCALE, CACHE, ENV, SSH, SLURM, WEB, GUI, FN, FN-SLURM (default: all).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from measure import CommandFailed, Sample, Summary, run_once, summarise  # noqa: E402
from report import Table, machine_facts  # noqa: E402
from workloads import Workload, scale, standard, write_edges, write_makefile, write_workflow  # noqa: E402

PARALLEL = 2
REF_ENV = HERE / ".venv-ref"
BIN = Path(sys.executable).parent


@dataclass
class Reference:
    """The Dask environment, or why there is none."""

    python: Optional[Path]
    version: str
    problem: str = ""


def dask_environment() -> Reference:
    python = REF_ENV / "bin" / "python"
    probe = [str(python), "-c", "import dask; print(dask.__version__)"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True)
        if found.returncode == 0:
            return Reference(python, found.stdout.strip())
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(REF_ENV)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "dask"], check=True, capture_output=True,
                       timeout=600)
        found = subprocess.run(probe, capture_output=True, text=True, check=True)
        return Reference(python, found.stdout.strip())
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        return Reference(None, "", f"dask could not be installed into {REF_ENV}: {exc} {text[-300:]}".strip())


@dataclass
class Contender:
    name: str
    argv: Callable[[int], list[str]]            # round number -> command line
    env: Optional[dict[str, str]] = None
    before: Optional[Callable[[int], None]] = None
    samples: list[Sample] = field(default_factory=list)

    def once(self, round_no: int) -> Sample:
        if self.before is not None:
            self.before(round_no)
        return run_once(self.argv(round_no), env=self.env)


def cc_env(home: Path) -> dict[str, str]:
    """The environment of a cc run: a fresh CC_HOME, the default store settings, and Python's bytecode cache on
    (as for any installed program; some sandboxes turn it off, and then every start compiles cc anew)."""
    env = dict(os.environ)
    env["CC_HOME"] = str(home)
    env.pop("CC_STORE_SYNC", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fresh_home(base: Path, label: str) -> Callable[[int], Path]:
    def home(round_no: int) -> Path:
        return base / f"home-{label}-{round_no}"
    return home


def measure_round_robin(contenders: Sequence[Contender], runs: int, warm_up: bool = True) -> dict[str, Summary]:
    """One warm-up each, then ``runs`` rounds in which every contender runs once (so load on the machine hits
    all alike)."""
    for c in contenders if warm_up else ():
        c.once(-1)
    for round_no in range(runs):
        for c in contenders:
            c.samples.append(c.once(round_no))
    return {c.name: summarise(c.samples) for c in contenders}


def in_process(workflow: Path, home: Path) -> dict[str, Any]:
    """The engine inside one process: load, prepare, execute; edge latencies from the store."""
    shutil.rmtree(home, ignore_errors=True)
    out = subprocess.run([sys.executable, str(HERE / "inprocess.py"), str(workflow), str(PARALLEL)],
                         env=cc_env(home), capture_output=True, text=True)
    if out.returncode != 0:
        raise CommandFailed(f"in-process run of {workflow} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def in_process_runs(workflow: Path, base: Path, label: str, runs: int, warm_up: bool = True) -> dict[str, Any]:
    if warm_up:
        in_process(workflow, base / f"inproc-{label}-warm")
    results = [in_process(workflow, base / f"inproc-{label}-{i}") for i in range(runs)]
    for r in results:
        if r["state"] != "done" or r["jobs_done"] != r["jobs"] or r["transitions"] != 3 * r["jobs"]:
            raise CommandFailed(f"in-process run of {workflow} did not record every job as done: {r}")
    keys = ("execute", "prepare", "load", "import", "peak_rss_mb", "latency_queued_median",
            "latency_running_median", "latency_running_p95")
    merged = {k: statistics.median(r[k] for r in results) if results[0][k] is not None else None for k in keys}
    merged["executes"] = [r["execute"] for r in results]
    return merged


def check_store(home: Path, jobs: int) -> None:
    """The whole-process run recorded every job as done, with its three transitions."""
    import sqlite3

    db = sqlite3.connect(home / "cc.db")
    try:
        done = db.execute("SELECT count(*) FROM jobs WHERE state = 'done'").fetchone()[0]
        moves = db.execute("SELECT count(*) FROM transitions").fetchone()[0]
    finally:
        db.close()
    if done != jobs or moves != 3 * jobs:
        raise CommandFailed(f"{home}: {done} of {jobs} jobs done, {moves} transitions (expected {3 * jobs})")


# ---------------------------------------------------------------------------------------------------- local
def local_benchmarks(workloads: list[Workload], work: Path, ref: Reference, runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for w in workloads:
        label = w.key.lower()
        flow = write_workflow(w, work / f"{label}.yaml")
        makefile = write_makefile(w, work / f"{label}.mk")
        edges = write_edges(w, work / f"{label}.json")
        homes = fresh_home(work, label)
        contenders = [Contender("make", lambda r, m=makefile: ["make", "-s", f"-j{PARALLEL}", "-f", str(m)])]
        if ref.python is not None:
            contenders.append(Contender("dask", lambda r, e=edges: [str(ref.python), str(HERE / "dask_reference.py"),
                                                                    str(e)]))
        contenders.append(Contender("pool", lambda r, e=edges: [sys.executable, str(HERE / "pool_reference.py"),
                                                                str(e)]))
        durable = Contender("durable", lambda r, e=edges, d=work / f"durable-{label}": [
            sys.executable, str(HERE / "durable_pool_reference.py"), str(e), str(d / str(r))])
        durable.before = lambda r, d=work / f"durable-{label}": shutil.rmtree(d / str(r), ignore_errors=True)
        contenders.append(durable)
        cc = Contender("cc", lambda r, f=flow: [str(BIN / "ccw"), "run", str(f), "-q", "--max-parallel",
                                                str(PARALLEL)])
        cc.before = lambda r, c=cc, h=homes: (shutil.rmtree(h(r), ignore_errors=True),
                                              setattr(c, "env", cc_env(h(r))))  # type: ignore[func-returns-value]
        contenders.append(cc)
        print(f"  {w.key}: {w.title} ...", flush=True)
        summary = measure_round_robin(contenders, runs)
        check_store(homes(runs - 1), w.size)
        inner = in_process_runs(flow, work, label, runs)
        results[w.key] = {"workload": w, "summary": summary, "inner": inner}
    return results


def local_table(results: dict[str, Any], ref: Reference) -> Table:
    table = Table(["workload", "make -j2", "Python pool", "durable pool", "Dask", "ccw run", "cc/pool (<=1.1)",
                   "cc/durable", "cc/Dask", "CPU make/pool/durable/Dask/cc",
                   "cc peak RSS", "engine/job", "overhead/job", "vs make/job (<=2)"])
    for key, r in results.items():
        s, inner, w = r["summary"], r["inner"], r["workload"]
        make, cc = s["make"].wall, s["cc"].wall
        dask = s["dask"].wall if "dask" in s else None
        make_job = make / w.size
        overhead = (inner["execute"] - make) / w.size
        pool, durable = s["pool"].wall, s["durable"].wall
        table.add([key, f"{make:.3f} s", f"{pool:.3f} s", f"{durable:.3f} s", f"{dask:.3f} s" if dask else "n/a",
                   f"{cc:.3f} s", f"{cc / pool:.2f}x", f"{cc / durable:.2f}x",
                   f"{cc / dask:.2f}x" if dask else ref.problem[:40],
                   "/".join(f"{s[k].cpu:.2f}" if k in s else "-" for k in ("make", "pool", "durable", "dask", "cc"))
                   + " s",
                   f"{s['cc'].peak_rss_mb:.0f} MB", f"{inner['execute'] / w.size * 1000:.2f} ms",
                   f"{overhead * 1000:.2f} ms", f"{overhead / make_job:.2f}x"])
    return table


# ---------------------------------------------------------------------------------------------------- scale
def scale_benchmark(work: Path, runs: int, w1_overhead: Optional[float]) -> dict[str, Any]:
    w = scale()
    flow = write_workflow(w, work / "scale.yaml")
    makefile = write_makefile(w, work / "scale.mk")
    homes = fresh_home(work, "scale")
    validate = Contender("validate", lambda r: [str(BIN / "ccw"), "validate", str(flow)], env=cc_env(homes(0)))
    make = Contender("make", lambda r: ["make", "-s", f"-j{PARALLEL}", "-f", str(makefile)])
    cc = Contender("cc", lambda r: [str(BIN / "ccw"), "run", str(flow), "-q", "--max-parallel", str(PARALLEL)])
    cc.before = lambda r: (shutil.rmtree(homes(r), ignore_errors=True),
                           setattr(cc, "env", cc_env(homes(r))))  # type: ignore[func-returns-value]
    print(f"  {w.key}: {w.title} ...", flush=True)
    summary = measure_round_robin([validate, make, cc], runs, warm_up=False)   # the small workloads warmed up
    check_store(homes(runs - 1), w.size)
    inner = in_process_runs(flow, work, "scale", runs, warm_up=False)
    overhead = (inner["execute"] - summary["make"].wall) / w.size
    return {"workload": w, "summary": summary, "inner": inner, "overhead": overhead, "w1_overhead": w1_overhead}


def scale_table(r: dict[str, Any]) -> Table:
    s, inner, w = r["summary"], r["inner"], r["workload"]
    table = Table(["measure", "value", "target", "met"])
    v = s["validate"].wall
    table.add(["ccw validate (whole process)", f"{v:.2f} s", "< 2 s", _yes(v < 2)])
    table.add(["ccw run (whole process)", f"{s['cc'].wall:.2f} s", "", ""])
    table.add(["make -j2", f"{s['make'].wall:.2f} s", "", ""])
    table.add(["engine execute (in process)", f"{inner['execute']:.2f} s", "", ""])
    base = r["w1_overhead"]
    ratio = r["overhead"] / base if base else None
    table.add(["per-job overhead", f"{r['overhead'] * 1000:.2f} ms",
               f"<= 1.2x W1 ({base * 1000:.2f} ms)" if base else "W1 not measured",
               f"{_yes(ratio <= 1.2)} ({ratio:.2f}x)" if ratio else ""])
    rss = s["cc"].peak_rss_mb
    table.add(["peak RSS (ccw run)", f"{rss:.0f} MB", "< 250 MB", _yes(rss < 250)])
    return table


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


# ---------------------------------------------------------------------------------------------------- main
SECTIONS = ("W1", "W2", "W3", "SCALE", "CACHE", "ENV", "SSH", "SLURM", "WEB", "GUI", "FN", "FN-SLURM")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per contender (after one warm-up)")
    parser.add_argument("--scale-runs", type=int, default=2, help="measured runs of the 10,000-job DAG")
    parser.add_argument("--only", help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})")
    parser.add_argument("--markdown", type=Path, help="also write the results as Markdown to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "cc-bench",
                        help="where the temporary folder (CC_HOME, workflows, test servers) is made (default: "
                             "~/.cache/cc-bench, on the file system of the default CC_HOME ~/.cc: how long "
                             "creating a file takes can differ 50-fold between folders of one disk, and cc makes a "
                             "folder and files per job where the references make none)")
    args = parser.parse_args(argv)
    chosen = {k.strip().upper() for k in args.only.split(",")} if args.only else set(SECTIONS)
    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cc-bench-", dir=args.work))
    sections: list[tuple[str, Table, list[str]]] = []
    try:
        ref = dask_environment()
        facts = machine_facts(ref.version or f"not available ({ref.problem})")
        print("\n".join(f"{k}: {v}" for k, v in facts.items()), flush=True)
        workloads = [w for w in standard() if w.key in chosen]
        local = local_benchmarks(workloads, work, ref, args.runs) if workloads else {}
        if local:
            sections.append((f"Local, {args.runs} runs each after a warm-up, medians", local_table(local, ref),
                             local_notes(local)))
            _print_section(*sections[-1])
        if "SCALE" in chosen:
            w1 = local.get("W1")
            w1_overhead = (w1["inner"]["execute"] - w1["summary"]["make"].wall) / w1["workload"].size if w1 else None
            r = scale_benchmark(work, args.scale_runs, w1_overhead)
            sections.append((f"Scale: {r['workload'].title}, {args.scale_runs} runs, medians", scale_table(r), []))
            _print_section(*sections[-1])
        if "CACHE" in chosen:
            from cached import cached_benchmark

            sections.append(cached_benchmark(work, BIN / "ccw", args.runs, cc_env))
            _print_section(*sections[-1])
        if "ENV" in chosen:
            sections.append(environment_benchmark(work))
            _print_section(*sections[-1])
        remote = [k for k in ("SSH", "SLURM", "WEB", "GUI") if k in chosen]
        if remote:
            from remote import remote_sections

            for title, table, notes in remote_sections(work, BIN, args.runs, remote):
                sections.append((title, table, notes))
                _print_section(title, table, notes)
        if chosen & {"FN", "FN-SLURM"}:
            from functions import function_sections

            for title, table, notes in function_sections(work, args.runs, ref.python, chosen):
                sections.append((title, table, notes))
                _print_section(title, table, notes)
        total = time.perf_counter() - started
        facts["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"\nbenchmark took {total:.0f} s; load average at end {facts['load average at end']}", flush=True)
        if args.markdown:
            _write_markdown(args.markdown, facts, sections)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def environment_benchmark(work: Path, count: int = 200) -> tuple[str, Table, list[str]]:
    """``requirements:`` once the environment is built (benchmarks/environments.py, in its own process)."""
    folder = work / "environments"
    folder.mkdir()
    done = subprocess.run([sys.executable, str(HERE / "environments.py"), str(folder), str(count)],
                          capture_output=True, text=True, env={**os.environ, "CC_ENV_INSTALLER": "pip"})
    if done.returncode != 0:
        raise CommandFailed(f"benchmarks/environments.py failed: {done.stderr[-1000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    table = Table(["measure", "value"])
    table.add(["build (venv + pip, one wheel), once", f"{r['build_s']:.2f} s"])
    table.add(["cached check, first job of a run (file lookup)", f"{r['first_check_ms']:.3f} ms median, "
               f"{r['first_check_p95_ms']:.3f} ms p95"])
    table.add(["cached check, other jobs of the run", f"{r['known_check_ms']:.3f} ms median"])
    table.add([f"run of {r['jobs']} trivial jobs, -j 2: without / with requirements:",
               f"{r['run_plain_s']:.2f} s / {r['run_with_env_s']:.2f} s ({r['per_job_ms']:+.2f} ms per job)"])
    note = f"cached environment check per job < 5 ms locally: {_yes(r['first_check_p95_ms'] < 5)}"
    return "Environments (requirements:) on this machine, once built", table, [note]


def local_notes(local: dict[str, Any]) -> list[str]:
    notes = []
    if "W2" in local:
        inner = local["W2"]["inner"]
        lat = inner["latency_running_median"]
        notes.append(f"W2 chain edge latency (store timestamps, parent done -> child running): median "
                     f"{lat * 1000:.2f} ms, p95 {inner['latency_running_p95'] * 1000:.2f} ms (target < 1 ms: "
                     f"{_yes(lat < 0.001)}); parent done -> child queued: median "
                     f"{inner['latency_queued_median'] * 1000:.2f} ms")
    for key, r in local.items():
        inner = r["inner"]
        notes.append(f"{key} in process: import {inner['import']:.3f} s, load {inner['load']:.3f} s, prepare "
                     f"{inner['prepare']:.3f} s, execute {inner['execute']:.3f} s (runs: "
                     + ", ".join(f"{x:.3f}" for x in inner["executes"]) + ")")
    return notes


def _print_section(title: str, table: Table, notes: list[str]) -> None:
    print(f"\n{title}\n" + table.text())
    for note in notes:
        print(f"  {note}")
    sys.stdout.flush()


def _write_markdown(path: Path, facts: dict[str, str], sections: list[tuple[str, Table, list[str]]]) -> None:
    lines = ["| machine | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in facts.items()]
    for title, table, notes in sections:
        lines += ["", f"**{title}**", "", table.markdown()]
        lines += [f"- {n}" for n in notes]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
