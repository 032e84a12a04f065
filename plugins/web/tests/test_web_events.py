"""The live event stream against a real uvicorn server: runs started here and by ``ccw run`` in another
process, how fast a change reaches a subscriber, and that streams never hold up other requests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from cc_web.client import Client, ServerEvent

from cc_core.store.base import StatusStore


def _follow(client: Client, run_id: int) -> list[tuple[float, ServerEvent]]:
    return [(time.time(), event) for event in client.events(run_id, read_timeout=30)]


FOLLOWED = """\
name: pair
jobs:
  first:
    command: "sleep 0.3; echo '# cc progress=50'; sleep 0.3"
  second:
    command: "echo second"
    depends: [first]
"""


def test_stream_follows_a_run_from_snapshot_to_end(server: Any) -> None:
    with Client(server.url) as client:
        client.store_workflow(FOLLOWED)
        run_id = client.start("pair")["id"]
        events = [event for _, event in _follow(client, run_id)]
    assert events[0].event == "snapshot" and events[-1].event == "end"
    assert {j["name"] for j in events[0].data["jobs"]} == {"first", "second"}
    assert events[-1].data["run"]["state"] == "done"
    seen: dict[str, list[str]] = {}
    for event in events:
        for job in event.data.get("jobs", []):
            if not seen.get(job["name"]) or seen[job["name"]][-1] != job["state"]:
                seen.setdefault(job["name"], []).append(job["state"])
    assert seen["first"][-1] == "done" and seen["second"][-1] == "done"
    assert seen["second"][0] == "ready"                      # the snapshot, then the live changes
    progress = [j["progress"] for e in events for j in e.data.get("jobs", []) if j["name"] == "first"]
    assert 50.0 in progress                                  # the '# cc progress=50' line
    ids = [int(e.id) for e in events if e.id]
    assert ids == sorted(ids)


def test_a_state_change_reaches_a_subscriber_quickly(server: Any, store: StatusStore) -> None:
    text = "name: quick\njobs:\n" + "".join(f"  j{i}:\n    command: 'sleep 0.2'\n" + (
        f"    depends: [j{i - 1}]\n" if i else "") for i in range(4))
    with Client(server.url) as client:
        client.store_workflow(text)
        run_id = client.start("quick")["id"]
        received = _follow(client, run_id)
    delays = []
    ended = {j.name: j.ended for j in store.get_jobs(run_id)}
    for at, event in received:
        for job in event.data.get("jobs", []):
            if job["state"] == "done" and event.event == "jobs":
                delays.append(at - ended[job["name"]])
    assert len(delays) == 4
    assert max(delays) < 0.5, f"state changes reached the subscriber after {delays} s"


def test_a_run_started_by_ccw_run_in_another_process_shows_live(server: Any, store: StatusStore, cc_home: Path,
                                                               tmp_path: Path, wait: Callable[..., Any]) -> None:
    ccw = shutil.which("ccw") or str(Path(sys.executable).parent / "ccw")
    if not os.path.exists(ccw):
        pytest.fail("ccw is not installed in this environment (pip install -e .)")
    workflow = tmp_path / "outside.yaml"
    gate = tmp_path / "gate"
    # job a ends only once the test is subscribed, so its end is always seen live (never only in the snapshot)
    workflow.write_text("name: outside\njobs:\n  a:\n    command: 'while [ ! -e \"$GATE\" ]; do sleep 0.05; done; "
                        "echo a'\n    env: {GATE: '" + str(gate) + "'}\n  b:\n    command: 'echo b'\n    depends: [a]\n")
    process = subprocess.Popen([ccw, "run", str(workflow), "--quiet"], env={**os.environ, "CC_HOME": str(cc_home)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run_id = wait("ccw run to record its run", lambda: [r.id for r in store.list_runs(workflow="outside")])[0]
        with Client(server.url) as client:
            received = []
            for event in client.events(run_id, read_timeout=30):
                received.append((time.time(), event))
                if event.event == "snapshot":
                    gate.touch()
            assert client.read_log(run_id, "b") == "b\n"
        assert process.wait(timeout=15) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
    events = [event for _, event in received]
    assert events[-1].event == "end" and events[-1].data["run"]["state"] == "done"
    states = [(j["name"], j["state"]) for e in events[1:] for j in e.data.get("jobs", [])]
    assert ("a", "done") in states and ("b", "done") in states    # followed live, not only the snapshot
    ended = {j.name: j.ended for j in store.get_jobs(run_id)}
    at_done = next(at for at, e in received for j in e.data.get("jobs", []) if j["name"] == "a"
                   and j["state"] == "done")
    assert at_done - ended["a"] < 1.0


def test_streams_do_not_hold_up_other_requests(server: Any, wait: Callable[..., Any]) -> None:
    with Client(server.url) as client:
        client.store_workflow("name: long\njobs:\n  a: {command: 'sleep 30'}\n")
        run_id = client.start("long")["id"]
        wait("the job to run", lambda: client.status(run_id)["jobs"][0]["state"] == "running")
        opened: list[str] = []
        stop = threading.Event()

        def listen() -> None:
            with httpx.Client(base_url=server.url, timeout=httpx.Timeout(5, read=None)) as http:
                with http.stream("GET", f"/api/runs/{run_id}/events") as response:
                    for line in response.iter_lines():
                        if line.startswith("event: snapshot"):
                            opened.append(line)
                        if stop.is_set():
                            return
        listeners = [threading.Thread(target=listen, daemon=True) for _ in range(8)]
        for listener in listeners:
            listener.start()
        wait("8 streams to open", lambda: len(opened) == 8)
        timings = []
        for _ in range(10):
            started = time.monotonic()
            assert client.status(run_id)["state"] == "running"
            client.workflows()
            timings.append(time.monotonic() - started)
        assert max(timings) < 0.5, f"requests took {timings} s while 8 streams were open"
        stop.set()
        client.kill(run_id)
        for listener in listeners:
            listener.join(timeout=10)
        assert not any(listener.is_alive() for listener in listeners), "a stream did not end with its run"


def test_streams_need_the_token_too(serve: Callable[..., Any], two_jobs: str) -> None:
    server = serve(token="tok")
    with Client(server.url, token="tok") as client:
        client.store_workflow(two_jobs)
        run_id = client.start("pair")["id"]
        client.wait(run_id, timeout=15)
    with httpx.Client(base_url=server.url) as http:
        assert http.get(f"/api/runs/{run_id}/events").status_code == 401
        answer = http.get(f"/api/runs/{run_id}/events", params={"token": "tok"})
        assert answer.status_code == 200 and answer.text.startswith("event: snapshot")
