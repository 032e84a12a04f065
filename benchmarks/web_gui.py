"""The GUI in Chromium at the size of real workflows.

* A 1,000-job run (50 chains of 20 ``sleep`` jobs) going at ``--max-parallel 8`` in a ``ccw run`` of its own, followed
  by ``ccw serve`` and one page: how busy the renderer is (main-thread task time per second of wall time), the gap
  between two animation frames (p95), and how long a click on a job's log or on its kill takes to be answered, in
  the table view and in the graph view.
* A run of 10,000 jobs (100 layers of 100, each job depending on two of the layer before) seeded into the store:
  first render of the table and of the graph (page load to drawn), frame gaps while scrolling the table and while
  panning and zooming the graph, and the page's JavaScript heap.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Optional

from report import Table

CHROMIUM = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
CHAINS, LENGTH = 50, 20
MAX_PARALLEL = 8
WATCH = 6.0            # seconds each view is watched during the run
BIG_LAYERS, BIG_WIDTH = 100, 100

# Frames and clicks, recorded in the page from its start.
PROBE = """
window.__frames = [];
(function loop(t) { window.__frames.push(t); requestAnimationFrame(loop); })(performance.now());
window.__clicks = []; window.__answers = [];
document.addEventListener('pointerdown', (e) => {
  window.__clicks.push(performance.now());
  const job = e.target.closest && e.target.closest('[data-job]');
  window.__want = job ? job.dataset.job : null;
  window.__shown = null;
}, true);
const realFetch = window.fetch;
window.fetch = async (...args) => {
  const answer = await realFetch(...args);
  if (String(args[0]).endsWith('/kill')) window.__answers.push(performance.now());
  return answer;
};
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _chains(path: Path) -> Path:
    lines = ["name: bench-gui", "jobs:"]
    for chain in range(CHAINS):
        for step in range(LENGTH):
            lines += [f"  c{chain:02d}-s{step:02d}:", "    command: \"echo '# cc progress=50 msg=\\\"half way\\\"'; "
                      "sleep 0.3\""]
            if step:
                lines.append(f"    depends: [c{chain:02d}-s{step - 1:02d}]")
    path.write_text("\n".join(lines) + "\n")
    return path


def seed_big_run(home: Path) -> int:
    """Record a running run of BIG_LAYERS x BIG_WIDTH jobs straight into the store of ``home``."""
    os.environ["CC_HOME"] = str(home)
    from cc_core.home import open_store
    from cc_core.states import RunState
    from cc_core.store.base import JobRecord, RunRecord

    rng = random.Random(7)
    names = [[f"L{layer:03d}-j{i:03d}" for i in range(BIG_WIDTH)] for layer in range(BIG_LAYERS)]
    jobs: dict[str, Any] = {}
    for layer, row in enumerate(names):
        for name in row:
            parents = sorted({names[layer - 1][rng.randrange(BIG_WIDTH)] for _ in range(2)}) if layer else []
            jobs[name] = {"command": "true", "kind": "local", **({"depends": parents} if parents else {})}
    now = time.time()
    store = open_store()
    run = store.create_run(RunRecord(id=0, workflow="huge", state=RunState.RUNNING, scheduler="parallel",
                                     definition={"name": "huge", "jobs": jobs}, workflow_dir=str(home),
                                     run_dir=str(home / "none"), created=now, started=now),
                           [JobRecord(run_id=0, name=n, kind="local", host="localhost", order=i)
                            for i, n in enumerate(n for row in names for n in row)])
    store.close()
    return run.id


class Serve:
    def __init__(self, bin_dir: Path, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.log = open(log, "wb")
        self.process = subprocess.Popen([str(bin_dir / "ccw"), "serve", "--port", str(self.port)], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        import http.client

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/plugins")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("ccw serve did not answer within 60 s")

    def runs(self) -> list[dict[str, Any]]:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/api/runs")
        return json.loads(conn.getresponse().read())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()


class Page:
    """A Chromium page with the probe, and the renderer's task time from the DevTools protocol."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.add_init_script(PROBE)
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")

    def task_time(self) -> float:
        metrics = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        return float(metrics.get("TaskDuration", 0.0))

    def now(self) -> float:
        return float(self.page.evaluate("performance.now()"))

    def gaps(self, since: float) -> list[float]:
        frames = self.page.evaluate(f"window.__frames.filter(t => t >= {since})")
        return [b - a for a, b in zip(frames, frames[1:])]

    def watch(self, seconds: float, act: Optional[Callable[[], None]] = None) -> tuple[float, float]:
        """Renderer busy share and frame gap p95 (ms) over ``seconds`` (doing ``act`` meanwhile, if given)."""
        start, busy0, wall0 = self.now(), self.task_time(), time.monotonic()
        deadline = wall0 + seconds
        while time.monotonic() < deadline:
            if act is not None:
                act()
            else:
                self.page.wait_for_timeout(100)
        busy = (self.task_time() - busy0) / (time.monotonic() - wall0)
        return busy, _percentile(self.gaps(start), 0.95)

    def click_answer(self, selector: str, answered: str) -> float:
        """ms from pressing on ``selector`` until the page script ``answered`` (a time or null) has a time."""
        clicks = self.page.evaluate("window.__clicks.length")
        self.page.click(selector)
        handle = self.page.wait_for_function(answered, timeout=10_000)
        at = float(handle.json_value())
        return at - float(self.page.evaluate(f"window.__clicks[{clicks}]"))

    def close(self) -> None:
        self.context.close()


LOG_SHOWN = """() => {
  const t = document.querySelector('#log-title');
  return t && !document.querySelector('#log-panel').hidden && t.textContent === 'log of ' + window.__want
    ? (window.__shown || (window.__shown = performance.now())) : null;
}"""


def _log_click(page: Page, selector: str) -> float:
    return page.click_answer(selector, LOG_SHOWN)


KILLING = """() => {
  const b = [...document.querySelectorAll('button')].find(b => b.textContent === 'Killing…');
  return b ? (window.__killing || (window.__killing = performance.now())) : null;
}"""


def _kill_click(page: Page, selector: str) -> tuple[float, float]:
    """ms from the click until the page shows it is killing, and until the service confirmed the kill (after
    the run's driver, another process here, has acted on it)."""
    count = page.page.evaluate("window.__answers.length; window.__killing = null; window.__answers.length")
    clicks = page.page.evaluate("window.__clicks.length")
    shown = page.click_answer(selector, KILLING)
    answered = page.page.wait_for_function(f"() => window.__answers[{count}] || null", timeout=10_000).json_value()
    return shown, float(answered) - float(page.page.evaluate(f"window.__clicks[{clicks}]"))


def during_a_run(browser: Any, bin_dir: Path, env: dict[str, str], work: Path, table: Table) -> None:
    serve = Serve(bin_dir, env, work / "serve-gui.log")
    run = None
    try:
        flow = _chains(work / "gui.yaml")
        run = subprocess.Popen([str(bin_dir / "ccw"), "run", str(flow), "-q", "--max-parallel", str(MAX_PARALLEL)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        run_id = None
        while run_id is None and time.monotonic() < deadline:
            run_id = next((r["id"] for r in serve.runs() if r["state"] == "running"), None)
        if run_id is None:
            raise RuntimeError("the 1,000-job run was not recorded within 60 s")
        page = Page(browser)
        page.page.goto(f"http://127.0.0.1:{serve.port}/#/runs/{run_id}")
        page.page.wait_for_selector("#table-shown:has-text('1000 jobs')", timeout=30_000)
        busy_t, gap_t = page.watch(WATCH)
        log_t = _log_click(page, "#jobs-table tbody tr.state-running a[data-action=log]")
        page.page.mouse.move(5, 5)          # the rows take their order again once the pointer has left them
        kill_t = _kill_click(page, "#jobs-table tbody tr.state-running button[data-action=kill] >> visible=true")
        page.page.click("#tab-graph")
        page.page.wait_for_selector('#graph[data-jobs="1000"]', timeout=30_000)
        busy_g, gap_g = page.watch(WATCH)
        page.page.fill("#graph-search", "c25-s19")
        page.page.press("#graph-search", "Enter")
        page.page.wait_for_selector('#graph .node[data-job="c25-s19"]')
        page.page.click("#log-close")
        log_g = _log_click(page, '#graph .node[data-job="c25-s19"]')
        state = page.page.text_content("#log-state")
        kill_g = _kill_click(page, "#log-kill") if state not in ("done", "failed", "killed", "skipped") else None
        page.close()
    finally:
        if run is not None and run.poll() is None:
            subprocess.run([str(bin_dir / "ccw"), "kill", "bench-gui"], env=env, capture_output=True, timeout=60)
            run.wait(timeout=60)
        serve.stop()
    title = f"1,000-job run at max_parallel {MAX_PARALLEL}"
    table.add([f"{title}, table view: renderer busy / frame gap p95", f"{busy_t:.0%} / {gap_t:.0f} ms",
               "< 25 % / < 50 ms", _yes(busy_t < 0.25 and gap_t < 50)])
    table.add([f"{title}, graph view: renderer busy / frame gap p95", f"{busy_g:.0%} / {gap_g:.0f} ms",
               "< 25 % / < 50 ms", _yes(busy_g < 0.25 and gap_g < 50)])
    kills = [kill_t] + ([kill_g] if kill_g is not None else [])
    clicks = [log_t, log_g] + [shown for shown, _ in kills]
    table.add([f"{title}: click answered on the page (table log / graph node log / table kill"
               + (" / log panel kill)" if kill_g is not None else ")"),
               " / ".join(f"{c:.0f}" for c in clicks) + " ms", "< 200 ms", _yes(max(clicks) < 200)])
    table.add([f"{title}: kill confirmed by the service (its driver is another process)",
               " / ".join(f"{confirmed:.0f}" for _, confirmed in kills) + " ms", "", ""])


def ten_thousand(browser: Any, bin_dir: Path, env: dict[str, str], work: Path, table: Table) -> None:
    home = Path(env["CC_HOME"])
    run_id = seed_big_run(home)
    serve = Serve(bin_dir, env, work / "serve-big.log")
    url = f"http://127.0.0.1:{serve.port}/#/runs/{run_id}"
    try:
        warm = Page(browser)     # the server lays the graph out once per definition; the first page pays it
        started = time.monotonic()
        warm.page.goto(url + "/graph")
        warm.page.wait_for_selector(f'#graph[data-jobs="{BIG_LAYERS * BIG_WIDTH}"]', timeout=120_000)
        cold = time.monotonic() - started
        warm.close()
        page = Page(browser)
        started = time.monotonic()
        page.page.goto(url)
        page.page.wait_for_selector(f"#table-shown:has-text('{BIG_LAYERS * BIG_WIDTH} jobs')", timeout=60_000)
        page.page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        table_s = time.monotonic() - started
        rows = page.page.locator("#jobs-table tbody tr[data-job]").count()
        scroller = page.page.locator("#table-scroll")

        def scroll() -> None:
            scroller.evaluate("el => el.scrollTop = (el.scrollTop + 900) % el.scrollHeight")
            page.page.wait_for_timeout(16)
        _, gap_scroll = page.watch(3.0, scroll)
        page.close()

        page = Page(browser)
        started = time.monotonic()
        page.page.goto(url + "/graph")
        page.page.wait_for_selector(f'#graph[data-jobs="{BIG_LAYERS * BIG_WIDTH}"]', timeout=60_000)
        page.page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        graph_s = time.monotonic() - started
        box = page.page.locator("#graph").bounding_box() or {"x": 0, "y": 0, "width": 800, "height": 600}
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        step = {"n": 0}

        def pan_and_zoom() -> None:
            step["n"] += 1
            mouse = page.page.mouse
            if step["n"] % 2:
                mouse.move(cx, cy)
                mouse.down()
                mouse.move(cx + 120, cy + 60, steps=6)
                mouse.up()
            else:
                mouse.move(cx, cy)
                mouse.wheel(0, -240 if step["n"] % 4 else 240)
                page.page.wait_for_timeout(16)
        _, gap_graph = page.watch(3.0, pan_and_zoom)
        heap = page.page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0") / 2**20
        page.close()
    finally:
        serve.stop()
    jobs = f"{BIG_LAYERS * BIG_WIDTH:,}"
    table.add([f"{jobs} jobs: graph view first render (page load to drawn; layout already on the server)",
               f"{graph_s:.2f} s", "< 3 s", _yes(graph_s < 3)])
    table.add([f"{jobs} jobs: graph view, the very first load (the server lays the graph out)", f"{cold:.2f} s",
               "", ""])
    table.add([f"{jobs} jobs: table view first render (page load to rows drawn; {rows} row elements)",
               f"{table_s:.2f} s", "< 1 s", _yes(table_s < 1)])
    table.add([f"{jobs} jobs: frame gap p95 while scrolling the table / panning and zooming the graph",
               f"{gap_scroll:.0f} / {gap_graph:.0f} ms", "< 50 ms", _yes(max(gap_scroll, gap_graph) < 50)])
    table.add([f"{jobs} jobs: page JavaScript heap (graph view)", f"{heap:.0f} MB", "< 200 MB", _yes(heap < 200)])


def measure_gui(title: str, work: Path, bin_dir: Path, env_for: Callable[..., dict[str, str]]) -> tuple[str, Table,
                                                                                                        list[str]]:
    table = Table(["measure", "value", "target", "met"])
    chromium = next((p for p in CHROMIUM if os.access(p, os.X_OK)), None)
    if chromium is None:
        table.add(["GUI in Chromium", "not available: Chromium is not installed", "", ""])
        return title, table, []
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--disable-dev-shm-usage", "--enable-precise-memory-info"])
        try:
            during_a_run(browser, bin_dir, env_for(work / "home-gui"), work, table)
            ten_thousand(browser, bin_dir, env_for(work / "home-big"), work, table)
        finally:
            browser.close()
    notes = [f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    return title, table, notes


if __name__ == "__main__":
    import sys
    import tempfile

    from remote import cc_env

    folder = Path(tempfile.mkdtemp(prefix="cc-gui-"))
    bin_dir = Path(sys.executable).parent
    name, result, extra = measure_gui("GUI in Chromium", folder, bin_dir, cc_env)
    print(name)
    print(result.text())
    print("\n".join(extra))
