"""The local job type's supervisor: a kill ends a job's whole tree, also processes that ignore SIGTERM after the
runner has exited, processes that left the job's session, and what a job leaves behind when it ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Callable

from cc_core.running.control import run_status
from cc_core.testing.contract import count_local_processes
from cc_core.testing.polling import ccw_command, wait_for

# A process that ignores SIGTERM (ignored signals stay ignored across exec), named so it can be counted.
STUBBORN = "bash -c 'trap \"\" TERM; exec -a {name} sleep 600'"
# A process that leaves the job's session and is re-parented (double fork + setsid).
ESCAPED = "(setsid bash -c 'exec -a {name} sleep 600' &)"


def env_with(home: Path) -> dict[str, str]:
    return {**os.environ, "CC_HOME": str(home)}


def short_grace(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text("job_types:\n  local:\n    kill_grace: 1\n")


def pids_named(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0", 1)[0]:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def end_all(marker: str) -> None:
    for pid in pids_named(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_sigkill_after_the_grace_period_comes_when_the_runner_has_exited(
        cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    marker = f"cc-stubborn-{uuid.uuid4().hex[:8]}"
    short_grace(cc_home)
    path = write_workflow(f"""
        name: stubborn
        jobs:
          ignores-term:
            command: |
              {STUBBORN.format(name=marker + '-killed')} &
              wait
          times-out:
            timeout: 2
            command: |
              {STUBBORN.format(name=marker + '-timeout')} &
              wait
    """)
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env_with(cc_home))
    try:
        wait_for(lambda: count_local_processes(marker) == 2, what="the jobs' processes")
        result = subprocess.run(ccw_command("kill", "stubborn", "ignores-term"), env=env_with(cc_home),
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert runner.wait(60) == 1  # one job killed, one timed out: the run failed
        # the runner is gone; the processes that ignored SIGTERM are ended all the same
        wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="no process left")
    finally:
        if runner.poll() is None:
            runner.kill()
        end_all(marker)
    jobs = {j["name"]: j for j in run_status("stubborn")["jobs"]}
    assert jobs["ignores-term"]["state"] == "killed"
    assert jobs["times-out"]["state"] == "failed" and jobs["times-out"]["reason"] == "timeout after 2 s"


def test_kill_reaches_processes_that_left_the_session(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    marker = f"cc-escaped-{uuid.uuid4().hex[:8]}"
    short_grace(cc_home)
    path = write_workflow(f"""
        name: escapes
        jobs:
          escapes:
            command: |
              {ESCAPED.format(name=marker + '-setsid')}
              bash -c 'exec -a {marker}-main sleep 600'
    """)
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env_with(cc_home))
    try:
        wait_for(lambda: count_local_processes(marker) == 2, what="the job's processes")
        escaped = pids_named(marker + "-setsid")[0]
        assert os.getsid(escaped) != os.getsid(pids_named(marker + "-main")[0])  # really left the session
        result = subprocess.run(ccw_command("kill", "escapes", "escapes"), env=env_with(cc_home),
                                capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert runner.wait(30) == 3
        wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="no process left")
    finally:
        if runner.poll() is None:
            runner.kill()
        end_all(marker)
    assert {j["name"]: j["state"] for j in run_status("escapes")["jobs"]} == {"escapes": "killed"}


def test_processes_a_job_leaves_behind_end_with_it_unless_it_keeps_them(
        cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    marker = f"cc-left-{uuid.uuid4().hex[:8]}"
    short_grace(cc_home)
    path = write_workflow(f"""
        name: leftovers
        jobs:
          leaves:
            command: |
              {ESCAPED.format(name=marker + '-ended')}
              {STUBBORN.format(name=marker + '-stubborn')} &
              echo started
          keeps:
            keep_orphans: true
            command: |
              {ESCAPED.format(name=marker + '-kept')}
              echo started
    """)
    try:
        result = subprocess.run(ccw_command("run", str(path), "--quiet"), env=env_with(cc_home),
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        wait_for(lambda: count_local_processes(marker + "-ended") == 0
                 and count_local_processes(marker + "-stubborn") == 0, timeout=15, what="left-behind processes ended")
        wait_for(lambda: count_local_processes(marker + "-kept") == 1, what="what 'keeps' left behind, still there")
    finally:
        end_all(marker)
    assert {j["name"]: j["state"] for j in run_status("leftovers")["jobs"]} == {"leaves": "done", "keeps": "done"}


def test_the_supervisor_says_how_it_tracks_and_ends_by_itself(cc_home: Path, write_workflow: Callable[..., Path]
                                                              ) -> None:
    path = write_workflow("""
        name: tracked
        jobs:
          one: {command: "echo one"}
    """)
    env = env_with(cc_home)
    assert subprocess.run(ccw_command("run", str(path), "--quiet"), env=env, timeout=60).returncode == 0
    info = json.loads((Path(run_status("tracked")["run_dir"]) / ".cc-supervisor" / "supervisor.json").read_text())
    assert info["tracking"] == "child subreaper" or info["tracking"].startswith("cgroup v2 per job under ")
    plugins = json.loads(subprocess.run(ccw_command("plugins", "--json"), env=env, capture_output=True, text=True,
                                        timeout=60).stdout)
    details = [row["details"]["local"] for row in plugins if "local" in row.get("details", {})]
    assert details and details[0]["process tracking"] == info["tracking"]
    wait_for(lambda: not supervisor_runs(info["pid"]), timeout=15,
             what="the supervisor to end once nothing is left to watch")


def supervisor_runs(pid: int) -> bool:
    try:
        return b"cc_local.supervisor" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
