"""The supervisor of a run's local jobs, spoken to directly: a run folder whose path is too long for a Unix socket,
a bad request, and its end once nobody needs it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from cc_core.testing.polling import wait_for
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
                               "pid_file": str(work / f"{key}.pid"), "exit_file": str(work / f"{key}.exit"),
                               "command": command})

    script = 'echo "$GREETING from $(pwd)"; ps -o sid= -p $$; exit 3'
    started = spawn("a", ["/bin/sh", "-c", script])
    missing = spawn("b", ["no-such-program-anywhere", "x"], command="no-such-program-anywhere x")
    assert started["ok"] and missing["ok"]
    wait_for(lambda: len(events) == 2, timeout=15, what="both jobs to end")
    codes = {e["key"]: e["code"] for e in events}
    assert codes == {"a": 3, "b": 127}
    assert (work / "a.pid").read_text().strip() == str(started["pid"])
    assert (work / "a.exit").read_text().strip() == "3" and (work / "b.exit").read_text().strip() == "127"
    greeting, session = (work / "a.log").read_text().split("\n")[:2]
    assert greeting == f"hi from {work}"
    assert int(session) == started["pid"]  # the leader of a session of its own
    assert "not found" in (work / "b.log").read_text()
    gone = client.request({"op": "spawn", "key": "d", "attempt": 1, "argv": ["true"], "cwd": str(tmp_path / "nope"),
                           "env": {}, "log": str(work / "d.log"), "pid_file": "", "exit_file": str(work / "d.exit")})
    assert gone["ok"] is False and gone["what"] == "working directory" and gone["missing"] == str(tmp_path / "nope")
    client.close()
