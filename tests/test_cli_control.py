"""Changing and interrupting a run from the command line, as a user at a terminal would."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

from cc_core.testing.polling import ccw_command, wait_for
from cc_core.running.control import run_status
from cc_core.errors import RunNotFoundError
from cc_core.testing.contract import count_local_processes


def state_of(run: str, job: str) -> str | None:
    try:
        return {j["name"]: j["state"] for j in run_status(run)["jobs"]}.get(job)
    except RunNotFoundError:
        return None




def test_add_job_and_dependency_to_a_running_run(cc_home: Path, tmp_path: Path,
                                                 write_workflow: Callable[..., Path]) -> None:
    gate = tmp_path / "gate"
    path = write_workflow(f"""
        name: grow
        jobs:
          wait: {{command: "while [ ! -e {gate} ]; do sleep 0.05; done"}}
          later: {{command: "echo later", depends: [wait]}}
    """)
    env = {**os.environ, "CC_HOME": str(cc_home)}
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env)
    try:
        wait_for(lambda: state_of("grow", "wait") == "running", what="first job running")
        added = subprocess.run(ccw_command("add-job", "grow", "extra", "--command", "echo extra > extra.txt",
                                           "--depends", "wait"), env=env, capture_output=True, text=True)
        assert added.returncode == 0, added.stderr
        cycle = subprocess.run(ccw_command("add-dependency", "grow", "later", "wait"), env=env,
                               capture_output=True, text=True)
        assert cycle.returncode == 2 and "dependency cycle" in cycle.stderr
        ok = subprocess.run(ccw_command("add-dependency", "grow", "later", "extra"), env=env, capture_output=True,
                            text=True)
        assert ok.returncode == 0, ok.stderr
        refused = subprocess.run(ccw_command("remove-job", "grow", "wait"), env=env, capture_output=True, text=True)
        assert refused.returncode == 2 and "refused the change (remove job)" in refused.stderr
        # a second dependency, added and removed again: 'extra' must not wait for 'wait2' in the end
        subprocess.run(ccw_command("add-job", "grow", "wait2", "--command", "sleep 600"), env=env, check=True,
                       capture_output=True)
        subprocess.run(ccw_command("add-dependency", "grow", "wait2", "extra"), env=env, check=True,
                       capture_output=True)
        subprocess.run(ccw_command("remove-dependency", "grow", "wait2", "extra"), env=env, check=True,
                       capture_output=True)
        from cc_core.home import open_store

        def dependency_applied() -> bool:
            jobs = open_store().find_run("grow").definition["jobs"]
            return jobs.get("extra", {}).get("depends", []) == ["wait", "later"]
        wait_for(dependency_applied, what="job and dependency added")
        subprocess.run(ccw_command("kill", "grow", "wait2"), env=env, check=True, capture_output=True)
        gate.touch()
        assert runner.wait(30) == 3  # wait2 was killed: the run ends killed, everything else done
    finally:
        if runner.poll() is None:
            runner.kill()
    status = run_status("grow")
    assert {j["name"]: j["state"] for j in status["jobs"]} == {"wait": "done", "later": "done", "extra": "done",
                                                               "wait2": "killed"}
    assert (Path(status["run_dir"]) / "extra" / "extra.txt").read_text().strip() == "extra"
    history = [h["job"] for h in json.loads(subprocess.run(
        ccw_command("status", "grow", "--history", "--json"), env=env, capture_output=True, text=True
    ).stdout)["history"] if h["state"] == "running"]
    assert history.index("later") < history.index("extra")


def test_ctrl_c_at_a_terminal_asks_and_detach_leaves_jobs_running(cc_home: Path, tmp_path: Path,
                                                                  write_workflow: Callable[..., Path]) -> None:
    marker = f"cc-detach-{uuid.uuid4().hex[:8]}"
    gate = tmp_path / "gate"
    path = write_workflow(f"""
        name: detachable
        jobs:
          long: {{command: "bash -c 'exec -a {marker} sleep 600' & while [ ! -e {gate} ]; do sleep 0.05; done; kill $!"}}
          after: {{command: "echo after", depends: [long]}}
    """)
    env = {**os.environ, "CC_HOME": str(cc_home), "COLUMNS": "100", "TERM": "xterm"}
    master, slave = pty.openpty()
    runner = subprocess.Popen(ccw_command("run", str(path)), env=env, stdin=slave, stdout=slave, stderr=slave,
                              close_fds=True)
    os.close(slave)
    output = b""

    def read_until(needle: bytes, timeout: float = 20) -> None:
        nonlocal output
        deadline = time.monotonic() + timeout
        while needle not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        assert needle in output, output[-2000:]

    try:
        wait_for(lambda: count_local_processes(marker) == 1, what="job running")
        runner.send_signal(signal.SIGINT)
        read_until(b"[k/d]")
        os.write(master, b"d\n")
        code = runner.wait(30)
        read_until(b"ccw run --resume")
    finally:
        if runner.poll() is None:
            runner.kill()
        os.close(master)
    assert code == 4
    assert count_local_processes(marker) == 1  # the job goes on
    assert run_status("detachable")["state"] == "detached"
    gate.touch()
    resumed = subprocess.run(ccw_command("run", "--resume", "detachable", "--json"), env=env, capture_output=True,
                             text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert {j["name"]: j["state"] for j in json.loads(resumed.stdout)["jobs"]} == {"long": "done", "after": "done"}
    wait_for(lambda: count_local_processes(marker) == 0, timeout=10, what="job's child gone")


def test_ctrl_c_question_takes_one_key_without_enter_while_the_table_goes_on(
        cc_home: Path, tmp_path: Path, write_workflow: Callable[..., Path]) -> None:
    gate = tmp_path / "gate"
    path = write_workflow(f"""
        name: onekey
        jobs:
          long: {{command: "while [ ! -e {gate} ]; do sleep 0.05; done"}}
          quick: {{command: "while [ ! -e {gate}.quick ]; do sleep 0.05; done"}}
    """)
    env = {**os.environ, "CC_HOME": str(cc_home), "COLUMNS": "140", "TERM": "xterm"}
    master, slave = pty.openpty()
    runner = subprocess.Popen(ccw_command("run", str(path)), env=env, stdin=slave, stdout=slave, stderr=slave,
                              close_fds=True)
    os.close(slave)
    output = b""

    def read_until(needle: bytes, timeout: float = 20) -> None:
        nonlocal output
        deadline = time.monotonic() + timeout
        while needle not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        assert needle in output, output[-2000:]

    try:
        read_until(b"running 2")
        runner.send_signal(signal.SIGINT)
        read_until(b"press k to kill")
        Path(f"{gate}.quick").touch()      # the table goes on while the question is shown
        read_until(b"done 1")
        os.write(master, b"k")             # one key, no Enter
        code = runner.wait(30)
    finally:
        if runner.poll() is None:
            runner.kill()
        os.close(master)
        gate.touch()
    assert code == 3
    assert {j["name"]: j["state"] for j in run_status("onekey")["jobs"]} == {"long": "killed", "quick": "done"}
