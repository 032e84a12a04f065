"""The GUI's Rerun button in real Chromium: shown for a failed run, it starts the new run and opens it; carried
jobs read ``done (carried)``."""

from __future__ import annotations

import os
from typing import Any, Iterator

import pytest
from cc_web.client import Client

CHROMIUM = "/usr/bin/chromium"
BROKEN = "name: gui-rerun\njobs:\n  first: {command: 'echo one'}\n  second: {command: 'exit 5', depends: [first]}\n"


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: the browser tests must run)")
    pytest.skip(what)


@pytest.fixture
def page() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        _missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--disable-dev-shm-usage"])
        opened = browser.new_context(viewport={"width": 1280, "height": 760}).new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda exc: errors.append(str(exc)))
        yield opened
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def test_the_rerun_button_continues_a_failed_run(page: Any, server: Any) -> None:
    from playwright.sync_api import expect

    with Client(server.url) as cc:
        cc.store_workflow(BROKEN)
        failed = cc.start("gui-rerun")["id"]
        assert cc.wait(failed, timeout=20)["state"] == "failed"
        cc.store_workflow(BROKEN.replace("exit 5", "echo two"))
        page.goto(f"{server.url}/#/runs/{failed}")
        expect(page.locator("#run-state")).to_have_text("failed", timeout=10_000)
        expect(page.locator("#rerun-run")).to_be_visible()
        page.click("#rerun-run")
        page.wait_for_url(f"**/#/runs/{failed + 1}")
        expect(page.locator("#run-state")).to_have_text("done", timeout=10_000)
        row = page.locator('#jobs-table tr[data-job="first"]')
        expect(row.locator(".badge")).to_have_text("done (carried)")
        expect(page.locator('#jobs-table tr[data-job="second"] .badge')).to_have_text("done")
        expect(page.locator("#rerun-run")).to_be_hidden()
        assert cc.status(failed + 1)["rerun_of"] == failed
