"""Job labels with placeholders (cloudmesh-cc's label templates) are filled in the GUI's graph and by
``GET /api/runs/{run}/labels``, not shown raw."""

from __future__ import annotations

from typing import Any

from cc_web.client import Client

LABELLED = """\
name: labelled
jobs:
  fetch: {command: "echo '# cc progress=30'", label: '{name} on {host}\\nprogress={progress}'}
  plain: {command: 'true', depends: [fetch]}
"""


def test_labels_are_filled_in_the_graph(page: Any, server: Any) -> None:
    from playwright.sync_api import expect

    with Client(server.url) as client:
        client.store_workflow(LABELLED)
        run_id = client.start("labelled")["id"]
        assert client.wait(run_id, timeout=20)["state"] == "done"
        labels = client._call("GET", f"/api/runs/{run_id}/labels")
    assert labels == {"fetch": "fetch on localhost · progress=100"}
    page.goto(f"{server.url}/#/runs/{run_id}/graph")
    page.fill("#graph-search", "fetch")
    page.press("#graph-search", "Enter")
    node = page.locator('#graph .node[data-job="fetch"] .name')
    expect(node).to_have_text("fetch on localhost · progress=100", timeout=15_000)
    page.fill("#graph-search", "plain")
    page.press("#graph-search", "Enter")
    expect(page.locator('#graph .node[data-job="plain"] .name')).to_have_text("plain", timeout=15_000)
