"""The supervisor of a run's local jobs, spoken to directly: a run folder whose path is too long for a Unix socket,
a bad request, and its end once nobody needs it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from cc_core.testing.polling import wait_for
from cc_local.exit_file import read_exit_file, read_pid_line
from cc_local.supervisor_client import SupervisorClient
from cc_local.supervisor_socket import socket_address, supervisor_folder


def runs(pid: int) -> bool:
    try:
        return b"cc_local.supervisor" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def test_a_long_run_folder_a_bad_request_and_the_end(tmp_path: Path) -> None:
    run_folder = tmp_path / ("a-long-folder-name-" * 6) / "runs" / "1"
    run_folder.mkdir(parents=True)
    assert len(str(supervisor_folder(run_folder) / "socket")) > 108  # too long for AF_UNIX as it is
    events: list[dict] = []
    client = SupervisorClient(run_folder, events.append)
    assert client.connect()
    hello = client.request({"op": "hello"})
    assert hello["ok"]
    assert hello["tracking"] == "child subreaper" or hello["tracking"].startswith("cgroup v2 per job under ")
    assert client.request({"op": "no-such-op"}) == {"ok": False, "error": "unknown op 'no-such-op'", "id": 2}

    raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address, fd = socket_address(supervisor_folder(run_folder))
    raw.connect(address)
    if fd is not None:
        os.close(fd)
    raw.sendall(b"this is not json\n")
    assert b'"ok": false' in raw.recv(4096)  # answered; the supervisor goes on
    raw.close()
    assert client.request({"op": "jobs"}) == {"ok": True, "jobs": [], "id": 3}

    client.close()
    wait_for(lambda: not runs(int(hello["pid"])), timeout=15, what="the supervisor to end when nobody needs it")


def test_jobs_started_by_the_supervisor_leave_their_pid_and_exit_code(tmp_path: Path) -> None:
    """The supervisor starts a job as itself (no shell around it), in its own session and folder, and writes its pid
    and exit code; a command executed directly whose program is missing fails as under a shell (127)."""
    run_folder = tmp_path / "runs" / "1"
    work = run_folder / "job"
    work.mkdir(parents=True)
    events: list[dict] = []
    client = SupervisorClient(run_folder, events.append)
    assert client.connect()

    def spawn(key: str, argv: list[str], command: str | None = None) -> dict:
        return client.request({"op": "spawn", "key": key, "attempt": 1, "argv": argv, "cwd": str(work),
                               "env": {"PATH": os.environ["PATH"], "GREETING": "hi"}, "log": str(work / f"{key}.log"),
                               "exit_file": str(work / f"{key}.exit"),
                               "command": command})

    script = 'echo "$GREETING from $(pwd)"; ps -o sid= -p $$; exit 3'
    started = spawn("a", ["/bin/sh", "-c", script])
    missing = spawn("b", ["no-such-program-anywhere", "x"], command="no-such-program-anywhere x")
    assert started["ok"] and missing["ok"]
    wait_for(lambda: len(events) == 2, timeout=15, what="both jobs to end")
    codes = {e["key"]: e["code"] for e in events}
    assert codes == {"a": 3, "b": 127}
    assert read_pid_line(work / "a.exit") == started["pid"] and not (work / "a.pid").exists()
    assert read_exit_file(work / "a.exit") == 3 and read_exit_file(work / "b.exit") == 127
    greeting, session = (work / "a.log").read_text().split("\n")[:2]
    assert greeting == f"hi from {work}"
    assert int(session) == started["pid"]  # the leader of a session of its own
    assert "not found" in (work / "b.log").read_text()
    gone = client.request({"op": "spawn", "key": "d", "attempt": 1, "argv": ["true"], "cwd": str(tmp_path / "nope"),
                           "env": {}, "log": str(work / "d.log"), "exit_file": str(work / "d.exit")})
    assert gone["ok"] is False and gone["what"] == "working directory" and gone["missing"] == str(tmp_path / "nope")
    client.close()


def test_an_attempt_whose_runner_and_supervisor_died_is_found_from_its_exit_code_file(tmp_path: Path) -> None:
    """The supervisor writes no pid file: the pid it puts into the exit-code file is what `find` reads once
    neither the runner nor the supervisor is there, so a job that runs on is followed, never started twice."""
    import json
    import signal
    import time

    from cc_core.plugins.jobtype import JobTypeContext, JobUpdate
    from cc_core.states import JobState
    from cc_core.testing.contract import ContractEnv, Harness
    from cc_local.jobtype import LocalJobType

    def make() -> LocalJobType:
        return LocalJobType(JobTypeContext(home=tmp_path / "home"))
    env = ContractEnv(job_type=make(), kind="local", host="localhost", workflow_dir=tmp_path / "wf",
                      run_dir=tmp_path / "run", new_job_type=make, timeout=20)
    env.workflow_dir.mkdir()
    harness = Harness(env)
    launch = harness.launch("long", command="sleep 30")
    active = harness.submit(launch)
    pid = int(active.handle["pid"])
    assert read_pid_line(launch.job_dir / ".attempt1.exit") == pid
    assert not (launch.job_dir / ".attempt1.pid").exists()
    info = json.loads((supervisor_folder(env.run_dir) / "supervisor.json").read_text())
    os.kill(int(info["pid"]), signal.SIGKILL)
    env.job_type.stop()

    later = make()
    pushed: list[JobUpdate] = []
    later.start(pushed.append)
    try:
        wait_for(lambda: not (supervisor_folder(env.run_dir) / "socket").exists()
                 or later._supervisor(env.run_dir, start=False) is None, timeout=10, what="the supervisor to be gone")
        found = later.find(launch)
        assert found is not None and found["pid"] == pid and found["start"] is not None
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        from cc_core.plugins.jobtype import ActiveJob

        followed = ActiveJob(launch.key, launch.attempt, found, launch.job, launch.job_dir, launch.log_path)
        ends = []
        while time.monotonic() < deadline and not ends:
            ends = [u for u in [*later.check([followed]), *pushed] if u.state.is_final]
            time.sleep(0.1)
        assert ends and ends[0].state is JobState.FAILED   # ended while no supervisor held it: no exit code
    finally:
        later.stop()


def test_a_job_gets_the_environment_of_the_moment_it_is_submitted(tmp_path: Path, monkeypatch) -> None:
    """Starts carry only what cc adds to the runner's environment; a variable the runner sets or removes after the
    supervisor was told its environment reaches the next job all the same."""
    from cc_core.plugins.jobtype import JobTypeContext
    from cc_core.testing.contract import ContractEnv, Harness
    from cc_local.jobtype import LocalJobType

    monkeypatch.setenv("CC_TEST_EARLY", "early")
    env = ContractEnv(job_type=LocalJobType(JobTypeContext(home=tmp_path / "home")), kind="local",
                      host="localhost", workflow_dir=tmp_path / "wf", run_dir=tmp_path / "run", timeout=20)
    env.workflow_dir.mkdir()
    harness = Harness(env)
    try:
        script = 'echo "early=${CC_TEST_EARLY-unset} late=${CC_TEST_LATE-unset} job=$CC_JOB"'
        first = harness.submit(harness.launch("first", command=script))
        assert harness.wait_end(first).exit_code == 0
        monkeypatch.setenv("CC_TEST_LATE", "late")
        monkeypatch.delenv("CC_TEST_EARLY")
        second = harness.submit(harness.launch("second", command=script))
        assert harness.wait_end(second).exit_code == 0
        assert harness.log(first).decode().strip() == "early=early late=unset job=first"
        assert harness.log(second).decode().strip() == "early=unset late=late job=second"
    finally:
        env.job_type.stop()
