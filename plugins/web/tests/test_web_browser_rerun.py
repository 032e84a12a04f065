"""The GUI's Rerun button in real Chromium: shown for a failed run, it starts the new run and opens it; carried
jobs read ``done (carried)``."""

from __future__ import annotations

from typing import Any

from cc_web.client import Client

BROKEN = "name: gui-rerun\njobs:\n  first: {command: 'echo one'}\n  second: {command: 'exit 5', depends: [first]}\n"


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
