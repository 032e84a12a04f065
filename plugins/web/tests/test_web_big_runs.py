"""The GUI at the size of real workflows, in Chromium against a real server: a run of 10,000 jobs seeded straight
into the store (rendering is what is tested, not running 10,000 processes). Timings are measured in
``make bench`` (benchmarks/web_gui.py); here the behaviour: bounded page elements, search, one layout and one draw
per load, logs and kill from a node, the new states shown."""

from __future__ import annotations

import random
import time
from typing import Any

from cc_core.states import JobState, RunState
from cc_core.store.base import JobRecord, RunRecord, StatusStore, Transition

LAYERS, WIDTH = 100, 100


def seed_big_run(store: StatusStore, layers: int = LAYERS, width: int = WIDTH) -> tuple[RunRecord, list[JobRecord]]:
    """A running run of layers x width jobs, each depending on two of the layer before (as a process driving it
    would record it), with the first layers done and some jobs running with a message."""
    rng = random.Random(7)
    names = [[f"L{layer:03d}-j{i:03d}" for i in range(width)] for layer in range(layers)]
    jobs: dict[str, Any] = {}
    for layer, row in enumerate(names):
        for name in row:
            parents = sorted({names[layer - 1][rng.randrange(width)] for _ in range(2)}) if layer else []
            jobs[name] = {"command": "true", "kind": "local", **({"depends": parents} if parents else {})}
    now = time.time()
    run = RunRecord(id=0, workflow="huge", state=RunState.RUNNING, scheduler="parallel",
                    definition={"name": "huge", "jobs": jobs}, workflow_dir="/tmp", run_dir="/tmp/none",
                    created=now, started=now)
    records = [JobRecord(run_id=0, name=n, kind="local", host="localhost", order=i)
               for i, n in enumerate(n for row in names for n in row)]
    run = store.create_run(run, records)
    changed = []
    for job in records[: 3 * width]:
        job.state, job.attempt, job.started, job.ended, job.exit_code, job.progress = (
            JobState.DONE, 1, now, now + 1, 0, 100.0)
        changed.append(job)
    for job in records[3 * width: 3 * width + 8]:
        job.state, job.attempt, job.started, job.progress, job.message = (
            JobState.RUNNING, 1, now, 40.0, "epoch 4 of 10")
        changed.append(job)
    store.write(None, changed, [Transition(run.id, j.name, 1, j.state, now) for j in changed])
    return run, records


def test_ten_thousand_jobs_table_and_graph_stay_small_and_findable(page: Any, server: Any,
                                                                   store: StatusStore) -> None:
    from playwright.sync_api import expect

    run, records = seed_big_run(store)
    try:
        see_ten_thousand_jobs(page, server, run)
    finally:   # nobody drives the seeded run: end it here rather than have the teardown kill 10,000 jobs
        run.state, run.ended = RunState.KILLED, time.time()
        store.write(run, [], [])


def see_ten_thousand_jobs(page: Any, server: Any, run: RunRecord) -> None:  # noqa: PLR0915
    from playwright.sync_api import expect

    layouts: list[str] = []
    page.on("request", lambda request: layouts.append(request.url) if request.url.endswith("/layout") else None)
    page.goto(f"{server.url}/#/runs/{run.id}")
    expect(page.locator("#table-shown")).to_have_text("10000 jobs", timeout=15_000)
    rows = page.locator("#jobs-table tbody tr[data-job]")
    assert 0 < rows.count() <= 200
    expect(rows.first).to_have_class("state-running")                 # what is going comes first
    expect(rows.first.locator(".msg")).to_have_text("epoch 4 of 10")   # its message beside its bar
    page.select_option("#table-sort", "order")
    page.locator("#table-scroll").evaluate("el => el.scrollTop = el.scrollHeight")
    expect(page.locator('#jobs-table tr[data-job="L099-j099"]')).to_have_count(1)
    assert rows.count() <= 200
    page.fill("#job-filter", "L042-j01")
    expect(page.locator("#table-shown")).to_have_text("10 of 10000 jobs")
    expect(rows).to_have_count(10)
    page.fill("#job-filter", "")
    page.select_option("#state-filter", "running")
    expect(rows).to_have_count(8)
    header = page.locator("#run-counts")
    assert header.is_visible() and page.locator("#kill-run").is_visible()

    page.goto(f"{server.url}/#/runs/{run.id}/graph")                  # a direct load of the graph
    page.reload()
    expect(page.locator("#graph")).to_have_attribute("data-jobs", "10000", timeout=20_000)
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.locator("#graph").get_attribute("data-draws") == "1"
    assert len(layouts) <= 2, layouts                                  # once per page load (two loads here)
    assert page.locator("#graph .node").count() == 0                  # 10,000 jobs fitted: too small to name
    page.fill("#graph-search", "L050-j050")
    page.press("#graph-search", "Enter")
    node = page.locator('#graph .node[data-job="L050-j050"]')
    expect(node).to_have_class("node state-ready")
    assert page.locator("#graph .node").count() <= 400
    expect(page.locator("#log-title")).to_have_text("log of L050-j050")
    expect(page.locator("#log-kill")).to_be_visible()                 # a job not yet ended can be killed
    heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0")
    assert heap < 200 * 2**20, f"the page holds {heap / 2**20:.0f} MB of JavaScript heap"


def test_states_new_and_unknown_have_labels_and_colours(page: Any, server: Any) -> None:
    page.goto(server.url)
    labels = page.evaluate("""async () => {
        const f = await import('/static/format.js');
        return [
          f.stateLabel({state: 'done', origin: {how: 'carried', run: 3, job: 'a', attempt: 1}}),
          f.stateLabel({state: 'done', origin: {how: 'cached', run: 2, job: 'a', attempt: 1}}),
          f.stateLabel({state: 'done', origin: null}), f.stateLabel({state: 'preparing'}),
          f.stateLabel({state: 'frozen'}), f.stateClass('preparing'), f.stateClass('frozen'),
          f.stateClass('<x>'), f.stateColours('preparing')[0] !== f.stateColours('frozen')[0],
          f.counts([{state: 'frozen'}, {state: 'preparing'}, {state: 'done'}]),
        ];
    }""")
    assert labels == ["done (carried)", "done (cached)", "done", "preparing", "frozen", "state-preparing",
                      "state-frozen", "state-other", True, "1 preparing · 1 done · 1 frozen"]
    colour = page.evaluate("""() => {
        const b = document.createElement('span'); b.className = 'badge state-preparing'; document.body.append(b);
        return getComputedStyle(b).backgroundColor;
    }""")
    assert colour == "rgb(217, 163, 91)"


def test_the_log_panel_of_an_ended_job_has_no_kill_and_says_when_empty(page: Any, server: Any,
                                                                        store: StatusStore) -> None:
    from playwright.sync_api import expect

    from cc_web.client import Client

    with Client(server.url) as cc:
        cc.store_workflow("name: quiet\njobs:\n  silent: {command: 'true'}\n  talks: {command: 'echo hello'}\n")
        run_id = cc.start("quiet")["id"]
        cc.wait(run_id, timeout=15)
    page.goto(f"{server.url}/#/runs/{run_id}")
    page.locator('#jobs-table tr[data-job="silent"] a[data-action=log]').click()
    expect(page.locator("#log-empty")).to_have_text("the log is empty: the job wrote nothing")
    expect(page.locator("#log-state")).to_have_text("done")
    expect(page.locator("#log-kill")).to_be_hidden()
    assert page.locator("#log-panel").is_visible()
    page.locator('#jobs-table tr[data-job="talks"] a[data-action=log]').click()
    expect(page.locator("#log-text")).to_have_text("hello\n")
    expect(page.locator("#log-empty")).to_be_hidden()
