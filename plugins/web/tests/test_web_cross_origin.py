"""A web page on another origin, in Chromium, tries every state-changing request against the service: fetches
(multipart uploads and text bodies, which need no CORS preflight), a form post, a DELETE, and all of them again
from a sandboxed iframe (whose requests say ``Origin: null``). Every one is refused, and the store shows that
nothing changed."""

from __future__ import annotations

from typing import Any, Callable

from cc_core.store.base import StatusStore

VICTIM = "name: victim\njobs:\n  a: {command: 'echo safe'}\n"
LONG = "name: long\njobs:\n  sleeper: {command: 'sleep 30'}\n"

ATTACK = """
const B = "SERVICE";
const evil = "name: victim\\njobs:\\n  a: {command: 'echo pwned'}\\n";
async function attempt(path, init) {
  try { await fetch(B + path, {mode: "no-cors", credentials: "include", ...init}); } catch (e) {}
}
async function attack() {
  const form = new FormData();
  form.append("file", new Blob([evil], {type: "application/yaml"}), "victim.yaml");
  await attempt("/api/workflows/upload", {method: "POST", body: form});
  await attempt("/api/workflows", {method: "POST", headers: {"content-type": "text/plain"},
                                   body: JSON.stringify({yaml: evil})});
  await attempt("/api/runs", {method: "POST", headers: {"content-type": "text/plain"},
                              body: JSON.stringify({workflow: "victim"})});
  await attempt("/api/runs/RUN/kill", {method: "POST"});
  await attempt("/api/runs/RUN/jobs/sleeper/kill", {method: "POST"});
  await attempt("/api/runs/ENDED/resume", {method: "POST"});
  await attempt("/api/workflows/victim/jobs", {method: "POST", headers: {"content-type": "text/plain"},
                                               body: JSON.stringify({name: "b", command: "echo pwned"})});
  try { await fetch(B + "/api/workflows/victim", {method: "DELETE", credentials: "include"}); } catch (e) {}
}
"""

PAGE = """<!doctype html><html><body>
<form id="f" method="post" action="SERVICE/api/runs/RUN/kill" target="sink"></form>
<iframe name="sink"></iframe>
<script>ATTACK
attack().then(() => {
  document.getElementById("f").submit();
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts allow-forms");
  frame.srcdoc = "<script>" + ATTACK_TEXT + "attack().then(() => parent.postMessage('framed', '*'));<\\/script>";
  window.addEventListener("message", (e) => { if (e.data === "framed") window.framed = true; });
  document.body.append(frame);
  window.attacked = true;
});
</script></body></html>"""


def test_a_page_on_another_origin_cannot_change_anything(page: Any, server: Any, serve_asgi: Callable[..., Any],
                                                         store: StatusStore, wait: Callable[..., Any]) -> None:
    import json

    import httpx
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    with httpx.Client(base_url=server.url) as client:
        client.post("/api/workflows", json={"yaml": VICTIM})
        ended = client.post("/api/runs", json={"workflow": "victim"}).json()["id"]
        wait("the first run to end", lambda: client.get(f"/api/runs/{ended}").json()["state"] == "done")
        client.post("/api/workflows", json={"yaml": LONG})
        running = client.post("/api/runs", json={"workflow": "long"}).json()["id"]
        wait("the sleeper to run", lambda: client.get(f"/api/runs/{running}").json()["jobs"][0]["state"] == "running")
    before = {w.name: w.text for w in store.list_workflows()}
    runs_before = len(store.list_runs())

    attack = ATTACK.replace("SERVICE", server.url).replace("ENDED", str(ended)).replace("RUN", str(running))
    html = PAGE.replace("SERVICE", server.url).replace("RUN", str(running)).replace("ATTACK_TEXT", json.dumps(attack))
    html = html.replace("ATTACK", attack)
    other = serve_asgi(Starlette(routes=[Route("/", lambda request: HTMLResponse(html))]))
    answers: list[tuple[str, str, int]] = []

    def seen(response: Any) -> None:
        if response.url.startswith(server.url):
            answers.append((response.request.method, response.url[len(server.url):], response.status))
    page.on("response", seen)
    try:
        assert other.url.rsplit(":", 1)[1] != server.url.rsplit(":", 1)[1]     # another origin: another port
        page.goto(other.url)
        page.wait_for_function("window.attacked === true && window.framed === true", timeout=15_000)
        # page.evaluate lets Playwright deliver the response events gathered meanwhile
        wait("every attempt to be answered",
             lambda: page.evaluate("1") and sum(1 for m, _, _ in answers if m == "POST") >= 14)
    finally:
        with httpx.Client(base_url=server.url) as client:
            state = client.get(f"/api/runs/{running}").json()
            client.post(f"/api/runs/{running}/kill")

    changing = [a for a in answers if a[0] not in ("GET", "HEAD", "OPTIONS")]
    assert len(changing) >= 14, answers                      # 7 fetches from each page, and the form post
    assert all(status == 403 for _, _, status in changing), changing
    assert not any(method == "DELETE" for method, _, _ in answers)    # never sent: its preflight got no CORS yes
    assert {w.name: w.text for w in store.list_workflows()} == before
    assert len(store.list_runs()) == runs_before
    assert state["state"] == "running" and state["jobs"][0]["state"] == "running"
    assert store.get_run(ended).state.value == "done"
