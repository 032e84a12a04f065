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
