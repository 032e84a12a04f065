"""Security defaults: loopback names only without a token, the token on every request and stream, no
cross-site posts, request size limits, and ``ccw serve`` refusing to bind elsewhere without a token."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import httpx
import pytest

from cc_core.store.base import StatusStore


@pytest.fixture
def guarded(store: StatusStore) -> Iterator[Any]:
    from cc_web.app import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app(token="s3cret", store=store), base_url="http://cc.example:8765") as client:
        yield client


def test_without_a_token_only_loopback_names_are_answered(api: Any) -> None:
    assert api.get("/api/workflows").status_code == 200
    assert api.get("/api/workflows", headers={"host": "localhost:8765"}).status_code == 200
    rebound = api.get("/api/workflows", headers={"host": "evil.example"})
    assert rebound.status_code == 421 and rebound.json()["error"] == "HostNotAllowed"


def test_the_token_is_checked_on_every_request(guarded: Any) -> None:
    for path in ("/api/workflows", "/", "/static/app.js", "/openapi.json", "/docs", "/api/runs/1/events"):
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    assert guarded.get("/api/workflows", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/api/workflows", params={"token": "wrong"}).status_code == 401
    assert guarded.get("/api/workflows", headers={"authorization": "Bearer s3cret"}).status_code == 200
    assert guarded.get("/api/runs/1/events", params={"token": "s3cret"}).status_code == 404  # past the guard


def test_opening_the_gui_with_the_token_sets_a_strict_cookie(guarded: Any) -> None:
    page = guarded.get("/", params={"token": "s3cret"})
    assert page.status_code == 200 and "<html" in page.text
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("cc_token=s3cret") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert guarded.get("/api/workflows", headers={"cookie": "cc_token=s3cret"}).status_code == 200
    assert guarded.get("/api/workflows", headers={"cookie": "cc_token=nope"}).status_code == 401


def test_cross_site_posts_are_refused(api: Any) -> None:
    form_post = api.post("/api/runs/1/kill", headers={"origin": "http://evil.example"})
    assert form_post.status_code == 403 and form_post.json()["error"] == "CrossOriginRefused"
    assert api.post("/api/runs/1/kill", headers={"origin": "http://127.0.0.1"}).status_code == 404
    assert api.post("/api/runs/1/kill").status_code == 404


def test_request_bodies_are_limited(store: StatusStore, serve: Callable[..., Any]) -> None:
    server = serve(max_body=4096)
    big = {"yaml": "name: big\njobs:\n  a: {command: 'true'}\n#" + "x" * 5000}
    with httpx.Client(base_url=server.url) as client:
        declared = client.post("/api/workflows", json=big)
        assert declared.status_code == 413 and declared.json()["error"] == "PayloadTooLarge"

        def chunks() -> Iterator[bytes]:   # no content-length: counted while read
            yield b'{"yaml": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}'
        streamed = client.post("/api/workflows", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        upload = client.post("/api/workflows/upload", files={"file": ("big.yaml", b"#" * 8000, "application/yaml")})
        assert upload.status_code == 413
        assert client.post("/api/workflows", json={"yaml": "name: small\njobs:\n  a: {command: 'true'}\n"}
                           ).status_code == 201
    assert [w.name for w in store.list_workflows()] == ["small"]


def test_serve_refuses_a_public_address_without_a_token(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from cc_web.serve import SERVE, check_bind

    monkeypatch.delenv("CC_TOKEN", raising=False)
    parser = argparse.ArgumentParser()
    SERVE.configure(parser)
    args = parser.parse_args(["--host", "0.0.0.0", "--port", "1"])
    assert SERVE.run(args) == 2
    assert "--token" in capsys.readouterr().err
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "tok")


def test_serve_is_a_ccw_command() -> None:
    from cc_core.plugins.registry import get_registry

    command = get_registry().commands["serve"]
    assert command.name == "serve" and "REST" in command.help


def _ccw() -> str:
    import shutil
    import sys
    from pathlib import Path

    found = shutil.which("ccw") or str(Path(sys.executable).parent / "ccw")
    if not Path(found).exists():
        pytest.fail("ccw is not installed in this environment (pip install -e .)")
    return found


def test_ccw_serve_serves_api_and_gui_on_loopback(cc_home: Any, wait: Callable[..., Any]) -> None:
    import os
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([_ccw(), "serve", "--port", str(port)], env={**os.environ, "CC_HOME": str(cc_home)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/plugins", timeout=1).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else "ccw serve ended"
                return False
        wait("ccw serve to answer", answers, timeout=20)
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and 'src="/static/app.js"' in page.text
        assert "https://" not in page.text                      # every asset ships in the package
        assert httpx.get(f"http://127.0.0.1:{port}/static/app.js").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert f"http://127.0.0.1:{port}/" in (process.stdout.read() if process.stdout else "")


def test_ccw_serve_on_a_public_address_needs_a_token(cc_home: Any) -> None:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "CC_TOKEN"}
    done = subprocess.run([_ccw(), "serve", "--host", "0.0.0.0", "--port", "1"], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 without a token" in done.stderr


def test_json_bodies_must_say_they_are_json(api: Any) -> None:
    # A cross-site HTML form can post text/plain; such a body is never taken for JSON.
    sneaky = api.post("/api/runs", content='{"workflow": "x"}', headers={"content-type": "text/plain"})
    assert sneaky.status_code == 422


def test_every_gui_asset_ships_in_the_package(api: Any) -> None:
    import re
    from pathlib import Path

    import cc_web

    static = Path(cc_web.__file__).parent / "static"
    names = sorted(p.name for p in static.iterdir())
    assert {"index.html", "app.js", "app.css", "table.js", "graph.js", "log.js", "api.js"} <= set(names)
    for name in names:
        text = (static / name).read_text()
        outside = [url for url in re.findall(r"https?://[^\s\"'<>)]+", text) if not url.startswith("http://www.w3.org/")]
        assert outside == [], f"{name} loads from {outside}"
        assert api.get(f"/static/{name}").status_code == 200
    page = api.get("/").text
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert ref.startswith(("/static/", "/docs", "#")), ref
