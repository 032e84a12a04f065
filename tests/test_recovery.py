"""Control and recovery against real processes, with faults injected on purpose: kill, timeouts, retries,
SIGKILL of the runner and resume, concurrent readers, locks, a full disk."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

from cc_core.testing.polling import ccw_command, wait_for
from cc_core.api import Workflow
from cc_core.running.control import run_status
from cc_core.home import open_store
from cc_core.states import JobState, RunState
from cc_core.testing.contract import count_local_processes

RANK = {"ready": 0, "queued": 1, "running": 2, "retrying": 3, "done": 4, "failed": 4, "killed": 4, "skipped": 4}



def env_with(home: Path) -> dict[str, str]:
    return {**os.environ, "CC_HOME": str(home)}



def job_states(run: str | int) -> dict[str, str]:
    return {j["name"]: j["state"] for j in run_status(run)["jobs"]}


def test_kill_a_job_ends_its_whole_tree(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    marker = f"cc-kill-{uuid.uuid4().hex[:8]}"
    path = write_workflow(f"""
        name: killable
        jobs:
          forks:
            command: |
              bash -c 'exec -a {marker}-child sleep 600' &
              bash -c 'bash -c "exec -a {marker}-grandchild sleep 600"; true' &
              echo started; wait
          after: {{command: "true", depends: [forks]}}
          other: {{command: "sleep 0.5"}}
    """)
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env_with(cc_home))
    try:
        wait_for(lambda: count_local_processes(marker) == 2, what="the job's processes")
        result = subprocess.run(ccw_command("kill", "killable", "forks"), env=env_with(cc_home),
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        wait_for(lambda: count_local_processes(marker) == 0, timeout=10, what="no process left")
        assert runner.wait(30) == 3  # the run ends killed
    finally:
        if runner.poll() is None:
            runner.kill()
    states = job_states("killable")
    assert states == {"forks": "killed", "after": "skipped", "other": "done"}
    assert run_status("killable")["state"] == "killed"


def test_kill_whole_run_from_api(cc_home: Path) -> None:
    marker = f"cc-killrun-{uuid.uuid4().hex[:8]}"
    wf = Workflow("kill-api")
    wf.add_job("a", command=f"bash -c 'exec -a {marker} sleep 600'")
    wf.add_job("b", command=f"bash -c 'exec -a {marker} sleep 600'")
    wf.add_job("c", command="true", depends=["a"])
    controller = wf.start(max_parallel=2)
    wait_for(lambda: count_local_processes(marker) == 2, what="two jobs running")
    wf.kill()
    assert controller.wait(30) is RunState.KILLED
    assert job_states(controller.run_id) == {"a": "killed", "b": "killed", "c": "killed"}
    wait_for(lambda: count_local_processes(marker) == 0, timeout=10, what="no process left")


def test_timeout_fails_the_job_with_reason(cc_home: Path) -> None:
    marker = f"cc-timeout-{uuid.uuid4().hex[:8]}"
    wf = Workflow("timeouts")
    wf.add_job("slow", command=f"bash -c 'exec -a {marker} sleep 600'", timeout=1)
    wf.add_job("next", command="true", depends=["slow"])
    started = time.monotonic()
    assert wf.run(timeout=60) is RunState.FAILED
    assert time.monotonic() - started < 30
    jobs = {j["name"]: j for j in run_status(wf.run_id)["jobs"]}
    assert jobs["slow"]["state"] == "failed" and jobs["slow"]["reason"] == "timeout after 1 s"
    assert jobs["next"]["state"] == "skipped"
    wait_for(lambda: count_local_processes(marker) == 0, timeout=10, what="no process left")


def test_retries_until_the_third_attempt_succeeds(cc_home: Path) -> None:
    wf = Workflow("flaky")
    wf.add_job("flaky", retries=3, retry_delay="100ms", command=(
        'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "attempt $n"; [ "$n" -ge 3 ]'))
    assert wf.run(timeout=60) is RunState.DONE
    (job,) = run_status(wf.run_id)["jobs"]
    assert job["state"] == "done" and job["attempt"] == 3 and job["exit_code"] == 0
    history = [(t.attempt, t.state.value, t.exit_code) for t in open_store().get_transitions(wf.run_id)]
    assert history == [(1, "queued", None), (1, "running", None), (1, "retrying", 1),
                       (2, "queued", None), (2, "running", None), (2, "retrying", 1),
                       (3, "queued", None), (3, "running", None), (3, "done", 0)]
    run_dir = Path(run_status(wf.run_id)["run_dir"])
    assert "attempt 2" in (run_dir / "flaky" / "flaky.attempt2.log").read_text()


def test_retries_run_out(cc_home: Path) -> None:
    wf = Workflow("hopeless")
    wf.add_job("never", retries=1, command="exit 2")
    assert wf.run(timeout=60) is RunState.FAILED
    (job,) = run_status(wf.run_id)["jobs"]
    assert job["state"] == "failed" and job["attempt"] == 2 and job["exit_code"] == 2


def test_ten_thousand_progress_lines_do_not_bloat_the_store(cc_home: Path) -> None:
    wf = Workflow("chatty")
    wf.add_job("talk", command='i=0; while [ $i -lt 10000 ]; do echo "# cc status=running progress=$((i / 100))"; '
                               'i=$((i+1)); done; echo "# cc status=running progress=99.5 msg=last"')
    assert wf.run(timeout=120) is RunState.DONE
    (job,) = run_status(wf.run_id)["jobs"]
    assert job["state"] == "done" and job["message"] == "last"
    transitions = open_store().get_transitions(wf.run_id)
    assert [t.state for t in transitions] == [JobState.QUEUED, JobState.RUNNING, JobState.DONE]
    conn = sqlite3.connect(cc_home / "cc.db")
    pages = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    assert pages < 512 * 1024


def _ledger_workflow(write_workflow: Callable[..., Path], ledger: Path, gate: Path) -> Path:
    lines = ["name: ledger", "jobs:"]
    for layer in range(6):
        for i in range(5):
            name = f"l{layer}-j{i}"
            parents = [f"l{layer - 1}-j{k}" for k in range(5)] if layer else []
            command = f'echo $CC_JOB >> {ledger}; sleep 0.15'
            if name == "l1-j0":  # the job that ends while the runner is down
                command = f'while [ ! -e {gate} ]; do sleep 0.05; done; echo $CC_JOB >> {ledger}'
            lines.append(f"  {name}:")
            lines.append(f"    command: '{command}'")
            if parents:
                lines.append(f"    depends: [{', '.join(parents)}]")
    return write_workflow("\n".join(lines) + "\n")


def test_sigkill_of_the_runner_then_resume_runs_every_job_once(cc_home: Path, tmp_path: Path,
                                                               write_workflow: Callable[..., Path]) -> None:
    ledger = tmp_path / "ledger.txt"
    gate = tmp_path / "gate"
    path = _ledger_workflow(write_workflow, ledger, gate)
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet", "-j", "3"), env=env_with(cc_home))
    try:
        # wait until the gated job runs, with others of its layer, then kill the runner without warning
        wait_for(lambda: ledger.exists() and len(ledger.read_text().split()) >= 6, what="some jobs done")
        wait_for(lambda: job_states("ledger").get("l1-j0") == "running", what="gated job running")
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
    finally:
        if runner.poll() is None:
            runner.kill()
    status = run_status("ledger")
    assert status["state"] == "interrupted"
    # the gated job finishes while nobody watches
    gate.touch()
    wait_for(lambda: "l1-j0" in ledger.read_text().split(), what="gated job's ledger line")
    time.sleep(0.3)
    result = subprocess.run(ccw_command("run", "--resume", str(status["id"]), "--json"), env=env_with(cc_home),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    final = json.loads(result.stdout)
    assert final["state"] == "done"
    assert all(j["state"] == "done" and j["exit_code"] == 0 for j in final["jobs"]), final["jobs"]
    entries = ledger.read_text().split()
    assert sorted(entries) == sorted(f"l{layer}-j{i}" for layer in range(6) for i in range(5))


def test_second_runner_is_refused(cc_home: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    wf = Workflow("locked")
    wf.add_job("wait", command=f"while [ ! -e {gate} ]; do sleep 0.05; done")
    controller = wf.start()
    wait_for(lambda: job_states(controller.run_id)["wait"] == "running", what="job running")
    result = subprocess.run(ccw_command("run", "--resume", str(controller.run_id)), env=env_with(cc_home),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"run {controller.run_id} is already being driven by process {os.getpid()}" in result.stderr
    gate.touch()
    assert controller.wait(30) is RunState.DONE


def test_interrupt_kills_running_jobs_when_not_interactive(cc_home: Path, write_workflow: Callable[..., Path]
                                                           ) -> None:
    marker = f"cc-sigint-{uuid.uuid4().hex[:8]}"
    path = write_workflow(f"""
        name: interrupted
        jobs:
          long: {{command: "bash -c 'exec -a {marker} sleep 600'"}}
    """)
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env_with(cc_home),
                              stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: count_local_processes(marker) == 1, what="job running")
        runner.send_signal(signal.SIGINT)
        assert runner.wait(30) == 3
    finally:
        if runner.poll() is None:
            runner.kill()
    assert job_states("interrupted") == {"long": "killed"}
    wait_for(lambda: count_local_processes(marker) == 0, timeout=10, what="no process left")


def test_readers_polling_during_a_200_job_run_see_only_forward_moves(cc_home: Path, tmp_path: Path) -> None:
    lines = ["name: big", "jobs:"]
    for i in range(200):
        lines.append(f"  j{i:03d}: {{command: 'sleep 0.02', depends: [{f'j{i - 50:03d}' if i >= 50 else ''}]}}"
                     .replace("depends: []", "depends: []"))
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet", "-j", "4"), env=env_with(cc_home))
    reads: list[dict[str, tuple[int, int]]] = []
    try:
        while runner.poll() is None or not reads:
            result = subprocess.run(ccw_command("status", "big", "--json"), env=env_with(cc_home),
                                    capture_output=True, text=True, timeout=30)
            if result.returncode != 0:
                assert "no run with id or workflow name 'big'" in result.stderr
                continue
            data = json.loads(result.stdout)  # every read parses
            reads.append({j["name"]: (j["attempt"], RANK[j["state"]]) for j in data["jobs"]})
        assert runner.wait(60) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
    assert len(reads) >= 2
    for before, after in zip(reads, reads[1:]):
        for name, position in before.items():
            assert after[name] >= position, f"{name} moved back from {position} to {after[name]}"
    assert set(job_states("big").values()) == {"done"}


def test_store_write_failure_stops_the_run_cleanly(cc_home: Path, write_workflow: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    """The disk fills up (a file-size limit on the runner): the run stops with a clear error, and what the store
    holds stays valid and readable."""
    lines = ["name: full", "jobs:"]
    for i in range(400):
        lines.append(f"  job-with-a-long-name-to-fill-pages-{i:04d}: {{command: 'true'}}")
    path = tmp_path / "full.yaml"
    path.write_text("\n".join(lines) + "\n")
    # Make the store exist first, then let the runner write at most a little more than that.
    subprocess.run(ccw_command("list"), env=env_with(cc_home), check=True, capture_output=True)
    db = cc_home / "cc.db"
    limit = db.stat().st_size + 256 * 1024

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(ccw_command("run", str(path), "--quiet", "-j", "2"), env=env_with(cc_home),
                            capture_output=True, text=True, timeout=120, preexec_fn=limit_files)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "could not be written" in result.stderr and "what it had recorded before is unchanged" in result.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    status = run_status("full")  # readable, consistent: every job has one state
    assert len(status["jobs"]) == 400
    assert status["state"] == "interrupted"
