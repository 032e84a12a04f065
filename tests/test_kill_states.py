"""What ``ccw kill`` records and says (docs/states.md, "Kill"): killed jobs and runs, runs nobody drives, runs
driven again after a resume, jobs and runs that had already ended."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Callable

from cc_core.errors import RunNotFoundError
from cc_core.running.control import run_status
from cc_core.testing.contract import count_local_processes
from cc_core.testing.polling import ccw_command, wait_for


def env_with(home: Path) -> dict[str, str]:
    return {**os.environ, "CC_HOME": str(home)}


def jobs_of(run: str | int) -> dict[str, dict]:
    return {j["name"]: j for j in run_status(run)["jobs"]}


def ccw(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ccw_command(*args), env=env_with(home), capture_output=True, text=True, timeout=60)


def start_and_interrupt(home: Path, path: Path, running: Callable[[], object]) -> None:
    """Start ``ccw run``, wait for ``running``, SIGKILL the runner: the run is left ``interrupted``."""
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env_with(home))
    try:
        wait_for(running, what="jobs running")
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
    finally:
        if runner.poll() is None:
            runner.kill()


def test_kill_of_a_run_nobody_drives_records_killed_never_lost(cc_home: Path, write_workflow: Callable[..., Path]
                                                                ) -> None:
    marker = f"cc-orphan-kill-{uuid.uuid4().hex[:8]}"
    path = write_workflow(f"""
        name: orphaned
        jobs:
          long: {{command: "bash -c 'exec -a {marker} sleep 600'"}}
          after: {{command: "true", depends: [long]}}
          other: {{command: "bash -c 'exec -a {marker} sleep 600'"}}
          later: {{command: "true", depends: [other]}}
    """)
    start_and_interrupt(cc_home, path, lambda: count_local_processes(marker) == 2)
    assert run_status("orphaned")["state"] == "interrupted"

    result = ccw(cc_home, "kill", "orphaned", "long")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "killed 1 job of run" in result.stdout
    jobs = jobs_of("orphaned")
    assert jobs["long"]["state"] == "killed" and jobs["long"]["reason"] == "killed", jobs["long"]
    assert jobs["after"]["state"] == "skipped"
    assert jobs["other"]["state"] == "running"  # the rest of the run goes on

    result = ccw(cc_home, "kill", "orphaned")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "killed 2 jobs of run" in result.stdout
    jobs = jobs_of("orphaned")
    assert jobs["other"]["state"] == "killed" and jobs["other"]["reason"] == "killed", jobs["other"]
    assert jobs["later"]["state"] == "killed" and jobs["later"]["reason"] == "run killed before the job started"
    assert run_status("orphaned")["state"] == "killed"
    wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="no process left")


def test_kill_after_resume_records_killed_not_exit_0(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    marker = f"cc-resumed-kill-{uuid.uuid4().hex[:8]}"
    path = write_workflow(f"""
        name: resumed
        jobs:
          long: {{command: "bash -c 'exec -a {marker} sleep 600'"}}
    """)
    start_and_interrupt(cc_home, path, lambda: count_local_processes(marker) == 1)
    resumed = subprocess.Popen(ccw_command("run", "--resume", "resumed", "--quiet"), env=env_with(cc_home))
    try:
        wait_for(lambda: run_status("resumed")["state"] == "running", what="run driven again")
        result = ccw(cc_home, "kill", "resumed", "long")
        assert result.returncode == 0, result.stdout + result.stderr
        assert resumed.wait(30) == 3
    finally:
        if resumed.poll() is None:
            resumed.kill()
    job = jobs_of("resumed")["long"]
    assert job["state"] == "killed" and job["reason"] == "killed" and job["exit_code"] != 0, job
    wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="no process left")


def test_kill_of_a_whole_run_kills_jobs_not_started(cc_home: Path, tmp_path: Path,
                                                    write_workflow: Callable[..., Path]) -> None:
    marker = f"cc-run-kill-{uuid.uuid4().hex[:8]}"
    path = write_workflow(f"""
        name: whole
        jobs:
          first: {{command: "bash -c 'exec -a {marker} sleep 600'"}}
          second: {{command: "true", depends: [first]}}
          third: {{command: "true", depends: [second]}}
    """)
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env_with(cc_home))
    try:
        wait_for(lambda: count_local_processes(marker) == 1, what="first job running")
        result = ccw(cc_home, "kill", "whole")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "killed 3 jobs of run" in result.stdout, result.stdout
        assert runner.wait(30) == 3
    finally:
        if runner.poll() is None:
            runner.kill()
    jobs = jobs_of("whole")
    assert {name: job["state"] for name, job in jobs.items()} == {"first": "killed", "second": "killed",
                                                                  "third": "killed"}
    assert jobs["second"]["reason"] == jobs["third"]["reason"] == "run killed before the job started"
    wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="no process left")


def test_kill_of_what_already_ended_says_so_and_exits_1(cc_home: Path, tmp_path: Path,
                                                        write_workflow: Callable[..., Path]) -> None:
    gate = tmp_path / "gate"
    path = write_workflow(f"""
        name: ended
        jobs:
          quick: {{command: "true"}}
          gated: {{command: "while [ ! -e {gate} ]; do sleep 0.05; done"}}
    """)
    # a job that ended while nobody watched keeps its real end when a kill comes too late
    start_and_interrupt(cc_home, path, lambda: states_if_any("ended") == {"quick": "done", "gated": "running"})
    gate.touch()
    wait_for(lambda: count_gate_shells(gate) == 0, what="gated job ended")
    result = ccw(cc_home, "kill", "ended", "gated")
    assert result.returncode == 1, result.stdout + result.stderr
    run_id = run_status("ended")["id"]
    assert f"job gated of run {run_id} already ended: done" in result.stdout + result.stderr
    assert jobs_of("ended")["gated"]["state"] == "done" and jobs_of("ended")["gated"]["exit_code"] == 0

    result = ccw(cc_home, "kill", "ended", "quick")
    assert result.returncode == 1 and f"job quick of run {run_id} already ended: done" in result.stdout + result.stderr
    result = ccw(cc_home, "kill", "ended")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"run {run_id} already ended: done" in result.stdout + result.stderr
    assert run_status("ended")["state"] == "done"

    assert ccw(cc_home, "kill", "ended", "nosuchjob").returncode == 2
    assert ccw(cc_home, "kill", "no-such-run").returncode == 2


def states_if_any(run: str) -> dict[str, str]:
    try:
        return {name: job["state"] for name, job in jobs_of(run).items()}
    except RunNotFoundError:
        return {}


def count_gate_shells(gate: Path) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if str(gate).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    count += 1
            except OSError:
                pass
    return count


def test_kill_of_a_job_whose_start_was_not_recorded_yet(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    """The runner died after the job started but before its start (its handle, `running`) was written: the store
    says `queued` without a handle. A kill of that run looks the job up, and the kill reaches it (never a run
    followed forever, never a second start); a job of that kind that is still running is seen `running`."""
    import sqlite3

    marker = f"cc-unrecorded-{uuid.uuid4().hex[:8]}"
    path = write_workflow(f"""
        name: unrecorded
        jobs:
          long: {{command: "bash -c 'exec -a {marker} sleep 600'"}}
          other: {{command: "bash -c 'exec -a {marker} sleep 600'"}}
    """)
    start_and_interrupt(cc_home, path, lambda: count_local_processes(marker) == 2)
    db = sqlite3.connect(cc_home / "cc.db")
    with db:
        db.execute("UPDATE jobs SET state = 'queued', handle = NULL, started = NULL")
        db.execute("DELETE FROM transitions WHERE state = 'running'")
    db.close()

    result = ccw(cc_home, "kill", "unrecorded", "long")
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = jobs_of("unrecorded")
    assert jobs["long"]["state"] == "killed" and jobs["long"]["reason"] == "killed", jobs["long"]
    assert jobs["other"]["state"] == "running", jobs["other"]
    assert count_local_processes(marker) == 1   # only `other`, started once
    result = ccw(cc_home, "kill", "unrecorded")
    assert result.returncode == 0, result.stdout + result.stderr
    assert jobs_of("unrecorded")["other"]["state"] == "killed"
    wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="no process left")
