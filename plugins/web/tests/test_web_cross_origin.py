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


class Recorder:
    """ASGI middleware noting each request's method, path, Origin header and answer status."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        origin = dict(scope["headers"]).get(b"origin", b"none").decode()

        async def noting(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.seen.append((scope["method"], scope["path"], origin, message["status"]))
            await send(message)
        await self.app(scope, receive, noting)


def test_a_page_on_another_origin_cannot_change_anything(page: Any, serve_asgi: Callable[..., Any],
                                                         store: StatusStore, wait: Callable[..., Any]) -> None:
    import json

    import httpx
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from cc_web.app import create_app

    recorder = Recorder(create_app(store=store))
    server = serve_asgi(recorder)
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
    recorder.seen.clear()
    try:
        assert other.url.rsplit(":", 1)[1] != server.url.rsplit(":", 1)[1]     # another origin: another port
        page.goto(other.url)
        page.wait_for_function("window.attacked === true && window.framed === true", timeout=15_000)
        wait("every attempt to be answered", lambda: sum(1 for m, *_ in recorder.seen if m == "POST") >= 15)
        attempts = list(recorder.seen)
    finally:
        with httpx.Client(base_url=server.url) as client:
            state = client.get(f"/api/runs/{running}").json()
            client.post(f"/api/runs/{running}/kill")

    changing = [seen for seen in attempts if seen[0] not in ("GET", "HEAD", "OPTIONS")]
    assert len(changing) == 15, changing                      # 7 fetches from each page, and the form post
    assert all(status == 403 for *_, status in changing), changing
    assert {origin for _, _, origin, _ in changing} == {other.url, "null"}   # the sandboxed frame: Origin null
    assert ("OPTIONS", "/api/workflows/victim") in {(m, p) for m, p, *_ in attempts}   # DELETE's preflight
    assert not any(method == "DELETE" for method, *_ in attempts)  # never sent: its preflight got no CORS yes
    assert {w.name: w.text for w in store.list_workflows()} == before
    assert len(store.list_runs()) == runs_before
    assert state["state"] == "running" and state["jobs"][0]["state"] == "running"
    assert store.get_run(ended).state.value == "done"
