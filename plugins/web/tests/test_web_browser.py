"""The GUI in Debian's Chromium driven by Playwright, against a real uvicorn server and real local jobs.

Screenshots of both views go to docs/img/ when CC_UPDATE_SCREENSHOTS=1 (otherwise to the test's temporary
folder, so a test run leaves the repository as it was).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from cc_core.states import JobState, RunState
from cc_core.store.base import JobRecord, RunRecord, StatusStore, Transition

ENDED_UNFINISHED = re.compile(r"^(killed|failed)$")   # how the engine names a run a kill cut short
DOCS_IMG = Path(__file__).resolve().parents[3] / "docs" / "img"

PIPELINE = """\
name: pipeline
description: a small analysis, one step after the other
jobs:
  fetch:
    command: "echo fetching; sleep 0.3"
  clean:
    command: "echo '# cc progress=50'; sleep 1.2; echo cleaned"
    depends: [fetch]
  report:
    command: "echo report"
    depends: [clean]
"""

SHOWCASE = """\
name: analysis
description: fetch, clean, train and report
jobs:
  fetch-data:
    command: "echo downloading; sleep 0.2"
  clean-a:
    command: "echo cleaning a"
    depends: [fetch-data]
  clean-b:
    command: "echo cleaning b"
    depends: [fetch-data]
  clean-c:
    command: "echo cleaning c; sleep 0.2"
    depends: [fetch-data]
  lint-inputs:
    command: "echo 'column 7 is empty' >&2; exit 3"
    depends: [fetch-data]
  train:
    command: "for p in 10 20 30 40 50 60; do echo \\"# cc progress=$p msg=epoch-$p\\"; sleep 0.1; done; sleep 60"
    depends: [clean-a, clean-b]
  evaluate:
    command: "for p in 15 30 45; do echo \\"# cc progress=$p\\"; sleep 0.1; done; sleep 60"
    depends: [clean-c]
  plots:
    command: "echo plots"
    depends: [train, evaluate]
  summary-table:
    command: "echo table"
    depends: [evaluate]
  report:
    command: "echo report"
    depends: [plots, summary-table]
"""


def _shots(tmp_path: Path) -> Path:
    if os.environ.get("CC_UPDATE_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        return DOCS_IMG
    return tmp_path


def _upload_from_page(page: Any, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    page.set_input_files("#upload-file", str(path))
    page.click("#upload-button")
    page.wait_for_selector(f'#workflow-list li[data-workflow="{name}"]')


def _row(page: Any, job: str) -> Any:
    return page.locator(f'#jobs-table tr[data-job="{job}"]')


def test_upload_start_and_watch_table_and_graph_live_to_done(page: Any, server: Any, store: StatusStore,
                                                             tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    _upload_from_page(page, tmp_path, "pipeline", PIPELINE)
    expect(page.locator("#upload-message")).to_contain_text("stored 'pipeline' (3 jobs)")
    page.click('#workflow-list button[data-start="pipeline"]')
    page.wait_for_url("**/#/runs/*")
    run_id = int(page.url.rsplit("/", 1)[1])

    expect(_row(page, "clean")).to_have_class("state-running", timeout=10_000)      # seen while it runs ...
    expect(_row(page, "clean").locator(".pct")).to_have_text("50%")
    page.click("#tab-graph")                                                        # ... and in the graph
    expect(page.locator('#graph .node[data-job="clean"]')).to_have_class("node state-running")
    expect(page.locator('#graph .node[data-job="fetch"]')).to_have_class("node state-done")
    expect(page.locator('#graph .node[data-job="report"]')).to_have_class("node state-done", timeout=10_000)
    seen = time.time()
    report = next(j for j in store.get_jobs(run_id) if j.name == "report")
    assert report.ended is not None and seen - report.ended < 1.0, "the graph showed 'done' more than 1 s late"
    expect(page.locator("#graph .node.state-done")).to_have_count(3)
    expect(page.locator("#run-state")).to_have_text("done")

    page.click("#tab-table")
    for job in ("fetch", "clean", "report"):
        expect(_row(page, job)).to_have_class("state-done")
        expect(_row(page, job).locator(".col-exit")).to_have_text("0")
    expect(_row(page, "clean").locator(".pct")).to_have_text("100%")
    expect(page.locator("#run-counts")).to_have_text("3 done")

    _row(page, "clean").locator("a[data-action=log]").click()                       # the log, read live
    expect(page.locator("#log-text")).to_have_text("# cc progress=50\ncleaned\n")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded


def test_kill_a_running_job_from_the_page(page: Any, server: Any, store: StatusStore, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    text = "name: long\njobs:\n  sleeper:\n    command: 'echo line1; sleep 0.5; echo line2; sleep 60'\n" \
           "  after:\n    command: 'true'\n    depends: [sleeper]\n"
    page.goto(server.url)
    _upload_from_page(page, tmp_path, "long", text)
    page.click('#workflow-list button[data-start="long"]')
    page.wait_for_url("**/#/runs/*")
    run_id = int(page.url.rsplit("/", 1)[1])
    expect(_row(page, "sleeper")).to_have_class("state-running", timeout=10_000)
    _row(page, "sleeper").locator("a[data-action=log]").click()          # the log of a running job, live
    expect(page.locator("#log-text")).to_contain_text("line1")
    expect(page.locator("#log-text")).to_have_text("line1\nline2\n", timeout=10_000)
    expect(page.locator("#log-state")).to_have_text("running")
    _row(page, "sleeper").locator("button[data-action=kill]").click()
    expect(_row(page, "sleeper")).to_have_class("state-killed", timeout=10_000)
    expect(_row(page, "after")).to_have_class("state-skipped")
    expect(page.locator("#log-state")).to_have_text("killed")
    expect(page.locator("#run-state")).to_have_text(ENDED_UNFINISHED)
    states = {j.name: j.state for j in store.get_jobs(run_id)}
    assert states == {"sleeper": JobState.KILLED, "after": JobState.SKIPPED}
    handle = next(j for j in store.get_jobs(run_id) if j.name == "sleeper").handle or {}
    pid = handle.get("pid")
    if pid:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_an_invalid_upload_shows_job_field_and_line(page: Any, server: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\njobs:\n  a:\n    command: 'true'\n    retries: lots\n")
    page.set_input_files("#upload-file", str(path))
    page.click("#upload-button")
    expect(page.locator("#upload-message")).to_contain_text("line 5, job 'a', field 'retries'")


def test_screenshots_of_both_views(page: Any, server: Any, store: StatusStore, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.goto(server.url)
    _upload_from_page(page, tmp_path, "analysis", SHOWCASE)
    page.fill("#max-parallel", "4")
    page.click('#workflow-list button[data-start="analysis"]')
    page.wait_for_url("**/#/runs/*")
    expect(_row(page, "train").locator(".pct")).to_have_text("60%", timeout=15_000)
    expect(_row(page, "evaluate").locator(".pct")).to_have_text("45%", timeout=15_000)
    expect(_row(page, "lint-inputs")).to_have_class("state-failed")
    rows = page.locator("#jobs-table tbody tr[data-job]")                 # failed first, then what runs
    expect(rows.nth(0)).to_have_attribute("data-job", "lint-inputs")
    expect(rows.nth(1)).to_have_class("state-running")
    expect(rows.nth(0).locator(".msg")).to_have_text("exit code 3")
    folder = _shots(tmp_path)
    page.screenshot(path=str(folder / "table-view.png"))
    page.click("#tab-graph")
    expect(page.locator('#graph .node[data-job="train"]')).to_have_class("node state-running")
    page.screenshot(path=str(folder / "graph-view.png"))
    assert (folder / "table-view.png").stat().st_size > 10_000
    assert (folder / "graph-view.png").stat().st_size > 10_000
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#kill-run")
    expect(page.locator("#run-state")).to_have_text(ENDED_UNFINISHED, timeout=10_000)
    expect(page.locator('#graph .node[data-job="train"]')).to_have_class("node state-killed")


def _synthetic_run(store: StatusStore, layers: int, width: int) -> tuple[RunRecord, list[JobRecord]]:
    """A recorded run of layers x width jobs, each layer depending on the whole previous one, as a process
    driving it would write it."""
    names = [[f"L{layer:02d}-j{i:03d}" for i in range(width)] for layer in range(layers)]
    jobs: dict[str, Any] = {}
    for layer, row in enumerate(names):
        for name in row:
            jobs[name] = {"command": "true", "kind": "local", **({"depends": names[layer - 1]} if layer else {})}
    run = RunRecord(id=0, workflow="big", state=RunState.RUNNING, scheduler="parallel",
                    definition={"name": "big", "jobs": jobs}, workflow_dir="/tmp", run_dir="/tmp/none",
                    created=time.time(), started=time.time())
    records = [JobRecord(run_id=0, name=n, kind="local", host="localhost", order=i)
               for i, n in enumerate(n for row in names for n in row)]
    run = store.create_run(run, records)
    return run, records


def test_a_thousand_jobs_render_and_follow_without_freezing(page: Any, server: Any, store: StatusStore,
                                                           wait: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    run, records = _synthetic_run(store, layers=20, width=50)
    page.goto(f"{server.url}/#/runs/{run.id}")
    expect(page.locator("#table-shown")).to_have_text("1000 jobs", timeout=10_000)
    assert page.locator("#jobs-table tbody tr[data-job]").count() <= 60     # only the rows in view exist
    page.click("#tab-graph")              # how fast: make bench (benchmarks/web_gui.py, web_load.py)
    expect(page.locator("#graph")).to_have_attribute("data-jobs", "1000", timeout=30_000)
    page.evaluate("new Promise(requestAnimationFrame)")

    now = time.time()
    for start in range(0, 1000, 100):       # the driver writes in batches, as the engine does
        batch = records[start:start + 100]
        for job in batch:
            job.state, job.attempt, job.started, job.ended, job.exit_code, job.progress = (
                JobState.DONE, 1, now, now + 1, 0, 100.0)
        store.write(None, batch, [Transition(run.id, j.name, 1, JobState.DONE, now) for j in batch])
        took = time.monotonic()
        page.evaluate("1")                  # the page still answers while updates pour in
        assert time.monotonic() - took < 1.0, "the page froze while following 1000 jobs"
    run.state, run.ended = RunState.DONE, now + 2
    store.write(run, [], [])
    expect(page.locator("#run-counts")).to_have_text("1000 done", timeout=10_000)
    expect(page.locator("#run-state")).to_have_text("done")
    page.fill("#graph-search", "L07-j042")                                  # find one job among a thousand
    page.press("#graph-search", "Enter")
    expect(page.locator('#graph .node[data-job="L07-j042"]')).to_have_class("node state-done")
    expect(page.locator("#log-title")).to_have_text("log of L07-j042")
    assert page.locator("#graph").get_attribute("data-draws") == "1"
    page.click("#tab-table")
    rows = page.locator("#jobs-table tbody tr[data-job]")
    expect(rows.first).to_have_class("state-done")
    assert rows.count() <= 60 and page.locator("#jobs-table tbody tr.state-done").count() == rows.count()


def test_the_gui_works_behind_a_token(page: Any, serve: Callable[..., Any], two_jobs: str) -> None:
    from playwright.sync_api import expect

    from cc_web.client import Client

    server = serve(token="tok")
    with Client(server.url, token="tok") as cc:
        cc.store_workflow(two_jobs)
        run_id = cc.start("pair")["id"]
        cc.wait(run_id, timeout=15)
    denied = page.goto(f"{server.url}/")
    assert denied is not None and denied.status == 401
    page.fill("#token", "tok")                                      # the page asks for the token ...
    page.click("#token-form button[type=submit]")
    expect(page.locator("#workflow-list li[data-workflow=pair]")).to_have_count(1)   # ... and the GUI opens
    assert "token" not in page.url
    page.goto(f"{server.url}/?token=tok#/runs/{run_id}")
    expect(_row(page, "second")).to_have_class("state-done")       # API calls and the stream carry the cookie
    expect(page.locator("#workflow-list li[data-workflow=pair]")).to_have_count(1)
    assert "token" not in page.url                                  # kept out of the address bar
