"""Rerun against real processes: a failed run, fixed and continued as a new run; the same after the runner was
SIGKILLed (resumed first); --jobs, --stored, the API. A ledger file written by every job proves what ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from cc_core.home import open_store
from cc_core.running.control import run_status
from cc_core.states import RunState
from cc_core.testing.polling import ccw_command, wait_for

Ccw = Callable[..., subprocess.CompletedProcess[str]]
BROKEN = 'echo "$CC_JOB" >> "$LEDGER"; exit 3\n'
FIXED = 'echo "$CC_JOB" >> "$LEDGER"\n'
AGAIN = {"l1-j2", "l2-j2", "l3-j2", "l3-j0"}   # the failing job and everything below it


def twenty_jobs(write_workflow: Callable[..., Path], ledger: Path, gate: Path | None = None) -> Path:
    """4 layers of 5 jobs, each on the job above it; l3-j0 also waits for l2-j2. l1-j2 runs step.sh, which fails
    until it is fixed. With ``gate``, l2-j0 waits for that file (it runs while the runner is killed)."""
    lines = ["name: twenty", "jobs:"]
    for layer in range(4):
        for i in range(5):
            name = f"l{layer}-j{i}"
            lines.append(f"  {name}:")
            if name == "l1-j2":
                lines.append("    script: step.sh")
            elif name == "l2-j0" and gate is not None:
                lines.append(f"    command: 'while [ ! -e {gate} ]; do sleep 0.05; done; echo $CC_JOB >> {ledger}'")
            else:
                lines.append(f"    command: 'echo $CC_JOB >> {ledger}; echo made-by-$CC_JOB > out.txt'")
            lines.append(f"    env: {{LEDGER: '{ledger}'}}")
            parents = [f"l{layer - 1}-j{i}"] if layer else []
            if name == "l3-j0":
                parents.append("l2-j2")
            if parents:
                lines.append(f"    depends: [{', '.join(parents)}]")
    return write_workflow("\n".join(lines) + "\n", **{"step.sh": BROKEN})


def entries(ledger: Path) -> list[str]:
    return ledger.read_text().split() if ledger.exists() else []


def history(run_id: int, job: str) -> list[tuple[int, str]]:
    return [(t.attempt, t.state.value) for t in open_store().get_transitions(run_id, job)]


def check_continued(first: dict, second: dict, cc_home: Path) -> None:
    """``second`` continues ``first``: done jobs carried, the failing job and its descendants ran, once each."""
    jobs = {j["name"]: j for j in second["jobs"]}
    assert second["state"] == "done" and second["rerun_of"] == first["id"]
    assert all(j["state"] == "done" for j in jobs.values())
    for name, job in jobs.items():
        if name in AGAIN:
            assert job["origin"] is None and job["attempt"] == 1, job
            assert history(second["id"], name) == [(1, "queued"), (1, "running"), (1, "done")]
        else:
            assert job["origin"]["how"] == "carried" and job["origin"]["job"] == name, job
            assert job["attempt"] == 0 and history(second["id"], name) == [(0, "done")]
            # the carried job's folder is reachable from the new run, where jobs look for each other's files
            if name not in ("l1-j2", "l2-j0"):   # the two jobs that write no out.txt
                assert (Path(second["run_dir"]) / name / "out.txt").read_text() == f"made-by-{name}\n"
    # the earlier run stays as it ended
    earlier = run_status(first["id"])
    assert earlier["state"] == first["state"]
    assert {j["name"]: j["state"] for j in earlier["jobs"]}["l1-j2"] == "failed"


def test_a_failed_run_fixed_and_rerun_runs_only_the_failed_job_and_below(
        ccw: Ccw, cc_home: Path, tmp_path: Path, write_workflow: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    ledger = tmp_path / "ledger"
    path = twenty_jobs(write_workflow, ledger)
    result = ccw("run", str(path), "--json", "-j", "4")
    assert result.returncode == 1, result.stderr
    first = json.loads(result.stdout)
    states = {j["name"]: j["state"] for j in first["jobs"]}
    assert states["l1-j2"] == "failed" and states["l2-j2"] == states["l3-j2"] == states["l3-j0"] == "skipped"
    before = entries(ledger)
    assert sorted(before) == sorted({f"l{a}-j{b}" for a in range(4) for b in range(5)} - (AGAIN - {"l1-j2"}))

    refused = ccw("run", "--resume", str(first["id"]))        # --resume is for runs whose runner died
    assert refused.returncode == 2 and f"ccw rerun {first['id']}" in refused.stderr
    (path.parent / "step.sh").write_text(FIXED)   # fix the script, rerun
    result = ccw("rerun", "twenty", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    second = json.loads(result.stdout)
    assert sorted(entries(ledger)[len(before):]) == sorted(AGAIN)
    check_continued(first, second, cc_home)
    ccw("logs", str(second["id"]), "l0-j0", check=True)   # a carried job's log is found from the new run
    shown = ccw("status", str(second["id"]), check=True).stdout
    assert "done (carried)" in shown and f"rerun of run {first['id']}" in shown


def test_rerun_after_the_runner_was_sigkilled_and_resumed(cc_home: Path, ccw: Ccw, tmp_path: Path,
                                                          write_workflow: Callable[..., Path]) -> None:
    ledger, gate = tmp_path / "ledger", tmp_path / "gate"
    path = twenty_jobs(write_workflow, ledger, gate)
    env = {**os.environ, "CC_HOME": str(cc_home)}
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet", "-j", "3"), env=env)
    try:
        def jobs() -> dict[str, str]:
            try:
                return {j["name"]: j["state"] for j in run_status("twenty")["jobs"]}
            except Exception:  # noqa: BLE001 - the run is not recorded yet
                return {}
        wait_for(lambda: jobs().get("l1-j2") == "failed" and jobs().get("l2-j0") == "running",
                 what="the failed job and the gated one running")
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
    finally:
        if runner.poll() is None:
            runner.kill()
    first_id = run_status("twenty")["id"]
    assert run_status(first_id)["state"] == "interrupted"
    refused = ccw("rerun", str(first_id))
    assert refused.returncode == 2 and f"ccw run --resume {first_id}" in refused.stderr
    gate.touch()
    resumed = ccw("run", "--resume", str(first_id), "--json", timeout=120)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr   # the run ends failed: l1-j2 failed
    first = json.loads(resumed.stdout)
    assert first["state"] == "failed"
    (path.parent / "step.sh").write_text(FIXED)
    result = ccw("rerun", str(first_id), "--json", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    check_continued(first, json.loads(result.stdout), cc_home)
    # every job ran exactly once, the fixed one twice (failed, then done)
    ran = entries(ledger)
    assert sorted(ran) == sorted([f"l{a}-j{b}" for a in range(4) for b in range(5)] + ["l1-j2"])


def test_rerun_jobs_and_stored(ccw: Ccw, cc_home: Path, tmp_path: Path,
                               write_workflow: Callable[..., Path]) -> None:
    ledger = tmp_path / "ledger"
    text = f"""
        name: small
        jobs:
          a: {{command: 'echo a >> {ledger}'}}
          b: {{command: 'echo b >> {ledger}', depends: [a]}}
          c: {{command: 'echo c >> {ledger}', depends: [b]}}
          d: {{command: 'echo d >> {ledger}'}}
    """
    path = write_workflow(text)
    assert ccw("run", str(path), "--quiet").returncode == 0
    path.write_text(text.replace("jobs:", "jobs:\n  e: {command: 'echo e >> %s'}" % ledger).replace("\n        ",
                                                                                                    "\n"))
    result = ccw("rerun", "small", "--jobs", "b", "--stored", "--json")
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout)
    assert entries(ledger)[4:] == ["b", "c"]                      # the file's new job e is not in the stored one
    assert {j["name"] for j in second["jobs"]} == {"a", "b", "c", "d"}
    result = ccw("rerun", "small", "--json")                       # the file read again: only e is new
    assert result.returncode == 0, result.stderr
    third = json.loads(result.stdout)
    assert entries(ledger)[6:] == ["e"]
    origins = {j["name"]: j["origin"] for j in third["jobs"]}
    assert origins["a"]["run"] == 1 and origins["b"]["run"] == second["id"] and origins["e"] is None
    unknown = ccw("rerun", "small", "--jobs", "nope")
    assert unknown.returncode == 2 and "nope" in unknown.stderr


def test_rerun_from_python(cc_home: Path, tmp_path: Path) -> None:
    import cc_core
    from cc_core import Workflow

    flag = tmp_path / "fixed"
    wf = Workflow("py-rerun", directory=tmp_path)
    wf.add_job("first", command="echo one > one.txt")
    wf.add_job("second", command=f"test -e {flag}", depends=["first"])
    assert wf.run(timeout=60) is RunState.FAILED
    failed_id = wf.run_id
    flag.touch()
    controller = cc_core.rerun(failed_id)
    assert controller.wait(60) is RunState.DONE
    jobs = {j.name: j for j in controller.jobs()}
    assert jobs["first"].origin == {"how": "carried", "run": failed_id, "job": "first", "attempt": 1}
    assert jobs["second"].attempt == 1 and jobs["second"].origin is None
    assert open_store().get_run(controller.run_id).rerun_of == failed_id
    # Workflow.rerun runs the workflow as it is now: a changed job and what is below it run again
    wf.remove_job("second")
    wf.add_job("second", command="echo changed", depends=["first"])
    assert wf.rerun().wait(60) is RunState.DONE
    assert {j["name"]: j["origin"] is None for j in wf.status()["jobs"]} == {"first": False, "second": True}


def test_a_carried_job_keeps_the_log_of_the_attempt_that_ran(ccw: Ccw, cc_home: Path, tmp_path: Path,
                                                              write_workflow: Callable[..., Path]) -> None:
    flag = tmp_path / "fixed"
    path = write_workflow(f"""
        name: logs
        jobs:
          flaky:
            retries: 1
            command: >-
              n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "attempt $n"; [ $n -ge 2 ]
          broken: {{command: 'test -e {flag}'}}
    """)
    assert ccw("run", str(path), "--quiet").returncode == 1
    flag.touch()
    result = ccw("rerun", "logs", "--json")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    flaky = {j["name"]: j for j in run["jobs"]}["flaky"]
    assert flaky["origin"] == {"how": "carried", "run": 1, "job": "flaky", "attempt": 2}
    assert ccw("logs", str(run["id"]), "flaky", check=True).stdout == "attempt 2\n"
    assert ccw("logs", str(run["id"]), "flaky", "--attempt", "1", check=True).stdout == "attempt 1\n"


def test_a_killed_run_is_rerun(cc_home: Path, ccw: Ccw, tmp_path: Path) -> None:
    from cc_core import Workflow

    gate = tmp_path / "gate"
    wf = Workflow("killed-then-rerun", directory=tmp_path)
    wf.add_job("a", command="echo a")
    wf.add_job("b", command=f"while [ ! -e {gate} ]; do sleep 0.05; done", depends=["a"])
    wf.add_job("c", command="echo c", depends=["b"])
    controller = wf.start()
    wait_for(lambda: {j.name: j.state.value for j in controller.jobs()}.get("b") == "running", what="b running")
    assert ccw("kill", str(controller.run_id), "b").returncode == 0
    assert controller.wait(30) is RunState.KILLED
    gate.touch()
    result = ccw("rerun", str(controller.run_id), "--json")
    assert result.returncode == 0, result.stderr
    jobs = {j["name"]: j for j in json.loads(result.stdout)["jobs"]}
    assert (jobs["a"]["origin"] or {}).get("how") == "carried"
    assert [jobs[n]["origin"] for n in ("b", "c")] == [None, None]
    assert [history(json.loads(result.stdout)["id"], n) for n in ("b", "c")] == \
        [[(1, "queued"), (1, "running"), (1, "done")]] * 2
