"""The REST/GUI benchmark: ``ccw serve`` and a 1,000-job ``ccw run`` in another process on one store, while 20
clients ask for the run's status, one client follows its event stream, and Chromium draws its graph."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from report import Table

CLIENTS = 20
LAYERS, WIDTH = 20, 50
JOB_COMMAND = "sleep 0.01"
CHROMIUM = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str, timeout: float = 10.0) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else None
    finally:
        conn.close()


def _wait(what: str, check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.02)
    raise TimeoutError(f"{what} within {timeout} s")


def _workflow(path: Path) -> Path:
    names = [[f"L{layer:02d}-j{i:03d}" for i in range(WIDTH)] for layer in range(LAYERS)]
    lines = ["name: bench-web", "jobs:"]
    for layer, row in enumerate(names):
        for name in row:
            lines += [f"  {name}:", f"    command: {json.dumps(JOB_COMMAND)}"]
            if layer:
                lines.append(f"    depends: [{', '.join(names[layer - 1])}]")
    path.write_text("\n".join(lines) + "\n")
    return path


class StatusClients:
    """20 threads asking ``GET /api/runs/{run}`` back to back over keep-alive connections until told to stop."""

    def __init__(self, port: int, run_id: int) -> None:
        self.port, self.run_id = port, run_id
        self.latencies: list[float] = []
        self.errors = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _client(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        mine: list[float] = []
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                conn.request("GET", f"/api/runs/{self.run_id}")
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with self._lock:
                    self.errors += 1
        conn.close()
        with self._lock:
            self.latencies.extend(mine)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


class EventFollower:
    """Follows the run's event stream; for each job in a ``jobs`` event, how long after the job's recorded state
    change (its ``submitted``, ``started`` or ``ended`` time) the event arrived."""

    def __init__(self, port: int, run_id: int) -> None:
        self.port, self.run_id = port, run_id
        self.delays: list[float] = []
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _follow(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", f"/api/runs/{self.run_id}/events")
            response = conn.getresponse()
            event = None
            while True:
                line = response.readline()
                if not line:
                    return
                text = line.decode().rstrip("\n")
                if text.startswith("event:"):
                    event = text[6:].strip()
                elif text.startswith("data:") and event == "jobs":
                    arrived = time.time()
                    for job in json.loads(text[5:]).get("jobs", []):
                        changed = {"queued": job.get("submitted"), "running": job.get("started")}.get(
                            job["state"], job.get("ended"))
                        if changed:
                            self.delays.append(arrived - changed)
                elif text.startswith("data:") and event == "end":
                    return
        except (OSError, http.client.HTTPException, ValueError):
            return
        finally:
            self.ended.set()
            conn.close()


def _graph_render(url: str) -> tuple[Optional[float], Optional[float], str]:
    """Open the run in Chromium: seconds until the table shows its 1,000 jobs, and from clicking the graph tab
    until the 1,000 jobs are drawn; or why that could not be measured."""
    chromium = next((p for p in CHROMIUM if os.access(p, os.X_OK)), None)
    if chromium is None:
        return None, None, "Chromium is not installed (apt-get install chromium)"
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        return None, None, "playwright is not installed (pip install playwright)"
    count = LAYERS * WIDTH
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            started = time.monotonic()
            page.goto(url)
            expect(page.locator("#table-shown")).to_have_text(f"{count} jobs", timeout=30_000)
            table = time.monotonic() - started
            started = time.monotonic()
            page.click("#tab-graph")
            expect(page.locator("#graph")).to_have_attribute("data-jobs", str(count), timeout=30_000)
            page.evaluate("new Promise(requestAnimationFrame)")
            graph = time.monotonic() - started
        finally:
            browser.close()
    return table, graph, ""


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _one_run(port: int, flow: Path, bin_dir: Path, env: dict[str, str], with_clients: bool,
             known: set[int]) -> tuple[int, list[float], int, list[float]]:
    """One 1,000-job ``ccw run`` in another process, followed by an event-stream subscriber and (if asked) the
    status clients. Returns the run id, status latencies, status errors and event delays."""
    run = subprocess.Popen([str(bin_dir / "ccw"), "run", str(flow), "-q", "--max-parallel", "2"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    clients: Optional[StatusClients] = None
    try:
        run_id = _wait("the run to be recorded", lambda: next(
            (r["id"] for r in _get(port, "/api/runs?workflow=bench-web")[1] or []
             if r["state"] == "running" and r["id"] not in known), None), 60)
        follower = EventFollower(port, run_id)
        follower.start()
        if with_clients:
            clients = StatusClients(port, run_id)
            clients.start()
        _, error = run.communicate(timeout=600)
        if clients is not None:
            clients.finish()
        follower.ended.wait(30)
        if run.returncode != 0:
            raise RuntimeError(f"the 1,000-job run failed ({run.returncode}): {error.decode()[-500:]}")
    finally:
        if clients is not None:
            clients.finish()
        if run.poll() is None:
            run.kill()
            run.wait()
    return run_id, clients.latencies if clients else [], clients.errors if clients else 0, follower.delays


def measure_web(title: str, work: Path, bin_dir: Path, env_for: Callable[..., dict[str, str]]) -> tuple[str, Table,
                                                                                                        list[str]]:
    port = _free_port()
    home = work / "home-web"
    log = open(work / "serve.log", "wb")
    server = subprocess.Popen([str(bin_dir / "ccw"), "serve", "--port", str(port)], env=env_for(home),
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait("ccw serve to answer", lambda: _get(port, "/api/plugins")[0] == 200, 60)
        flow = _workflow(work / "web.yaml")
        quiet_id, _, _, quiet_delays = _one_run(port, flow, bin_dir, env_for(home), False, set())
        run_id, lat, errors, busy_delays = _one_run(port, flow, bin_dir, env_for(home), True, {quiet_id})
        table_s, graph_s, why = _graph_render(f"http://127.0.0.1:{port}/#/runs/{run_id}")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    p95 = _percentile(lat, 0.95) if lat else float("nan")
    table = Table(["measure", "value", "target", "met"])
    table.add([f"run status, {CLIENTS} clients back to back: p95 ({len(lat)} requests, {errors} errors)",
               f"{p95 * 1000:.0f} ms", "< 50 ms", f"{_yes(p95 < 0.05)}"])
    table.add(["run status: median", f"{statistics.median(lat) * 1000:.0f} ms" if lat else "-", "", ""])
    for label, delays in (("", quiet_delays), (f", with the {CLIENTS} status clients", busy_delays)):
        p95d = _percentile(delays, 0.95) if delays else float("nan")
        table.add([f"state change -> event-stream subscriber{label}: median / p95 / max ({len(delays)} changes)",
                   f"{statistics.median(delays) * 1000:.0f} / {p95d * 1000:.0f} / {max(delays) * 1000:.0f} ms"
                   if delays else "-", "p95 < 100 ms" if not label else "", _yes(p95d < 0.1) if not label else ""])
    if graph_s is None:
        table.add(["graph view of 1,000 jobs in Chromium", f"not available: {why}", "< 2 s", ""])
    else:
        table.add(["GUI table of 1,000 jobs in Chromium (page load to rows drawn)", f"{table_s:.2f} s", "", ""])
        table.add(["graph view of 1,000 jobs in Chromium (tab click to drawn)", f"{graph_s:.2f} s",
                   "< 2 s", _yes(graph_s < 2.0)])
    return title, table, []


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"
