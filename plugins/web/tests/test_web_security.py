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
        assert ref.startswith(("/static/", "/docs", "/redoc", "/functions", "#")), ref   # all served here
        if not ref.startswith("#"):
            assert api.get(ref).status_code == 200, ref


def test_origin_null_and_foreign_origins_are_refused_judged_by_the_host(api: Any, two_jobs: str) -> None:
    body = {"yaml": two_jobs}
    for origin in ("null", "http://evil.example", "http://127.0.0.1:9999", "file://"):
        refused = api.post("/api/workflows", json=body, headers={"origin": origin})
        assert refused.status_code == 403 and refused.json()["error"] == "CrossOriginRefused", origin
    no_origin = api.post("/api/workflows", json=body, headers={"sec-fetch-site": "cross-site"})
    assert no_origin.status_code == 403                       # a browser that left the Origin out
    tunnel = {"host": "localhost:9000", "origin": "http://localhost:9000"}  # ssh -L 9000:localhost:8765
    assert api.post("/api/workflows", json=body, headers=tunnel).status_code == 201
    assert api.post("/api/workflows", json=body, headers={"origin": "http://127.0.0.1"}).status_code == 201
    assert api.post("/api/workflows", json=body).status_code == 201   # curl, scripts: no Origin at all
    assert api.get("/api/workflows", headers={"origin": "null"}).status_code == 200   # reading changes nothing


def test_blank_tokens_are_refused(store: StatusStore, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from cc_web.app import create_app
    from cc_web.security import BlankTokenError
    from cc_web.serve import SERVE

    for blank in ("", "   ", "\t"):
        with pytest.raises(BlankTokenError):
            create_app(token=blank, store=store)
    parser = argparse.ArgumentParser()
    SERVE.configure(parser)
    assert SERVE.run(parser.parse_args(["--host", "0.0.0.0", "--port", "1", "--token", "   "])) == 2
    assert "only blanks" in capsys.readouterr().err
    monkeypatch.setenv("CC_TOKEN", "  ")
    assert SERVE.run(parser.parse_args(["--port", "1"])) == 2


def test_a_browser_without_the_token_gets_a_page_to_enter_it(guarded: Any) -> None:
    page = guarded.get("/", headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert 'name="token"' in page.text and "needs its token" in page.text
    wrong = guarded.get("/", params={"token": "nope"}, headers={"accept": "text/html"})
    assert "not the right one" in wrong.text
    api = guarded.get("/api/workflows", headers={"accept": "text/html"})   # the API still answers JSON
    assert api.status_code == 401 and api.json()["error"] == "Unauthorized"


def test_uploads_never_follow_symlinks_nor_write_outside_the_workflow_folder(api: Any, cc_home: Any,
                                                                             tmp_path: Any) -> None:
    outside = tmp_path / "outside.sh"
    outside.write_text("original\n")
    text = "name: linked\njobs:\n  a: {script: run.sh}\n"
    folder = cc_home / "workflows" / "linked"
    folder.mkdir(parents=True)
    (folder / "run.sh").symlink_to(outside)
    stored = api.post("/api/workflows/upload", files=[("file", ("linked.yaml", text.encode())),
                                                      ("scripts", ("run.sh", b"echo uploaded\n"))])
    assert stored.status_code == 201, stored.text
    assert outside.read_text() == "original\n"                       # the link was replaced, not written through
    assert not (folder / "run.sh").is_symlink() and (folder / "run.sh").read_text() == "echo uploaded\n"
    assert sorted(p.name for p in folder.iterdir()) == ["run.sh"]    # no temporary file left behind

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (cc_home / "workflows" / "sneaky").symlink_to(elsewhere, target_is_directory=True)
    refused = api.post("/api/workflows/upload", files=[("file", ("sneaky.yaml", b"name: sneaky\njobs:\n  a: "
                                                                b"{script: x.sh}\n")), ("scripts", ("x.sh", b"x"))])
    assert refused.status_code == 422 and "symbolic link" in refused.text
    assert list(elsewhere.iterdir()) == []


def test_two_uploaded_scripts_with_one_name_are_refused(api: Any, store: StatusStore) -> None:
    text = b"name: twice\njobs:\n  a: {script: run.sh}\n"
    answer = api.post("/api/workflows/upload", files=[("file", ("twice.yaml", text)), ("scripts", ("run.sh", b"1")),
                                                      ("scripts", ("sub/run.sh", b"2"))])
    assert answer.status_code == 422
    assert "two uploaded scripts are named 'run.sh'" in answer.json()["problems"][0]["message"]
    assert store.list_workflows() == []


def test_a_workflow_part_without_a_file_name_is_taken_as_the_yaml(api: Any) -> None:
    answer = api.post("/api/workflows/upload", data={"file": "name: plain\njobs:\n  a: {command: 'true'}\n"})
    assert answer.status_code == 201 and answer.json()["name"] == "plain"
    nameless = api.post("/api/workflows/upload", files=[("file", ("w.yaml", b"name: w\njobs:\n  a: {command: x}\n"))],
                        data={"scripts": "echo no name"})
    assert nameless.status_code == 422 and "file name" in nameless.text


def test_head_and_options_follow_http(api: Any, two_jobs: str) -> None:
    api.post("/api/workflows", json={"yaml": two_jobs})
    for path in ("/api/workflows", "/api/workflows/pair", "/", "/static/app.js", "/openapi.json", "/docs"):
        got, head = api.get(path), api.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
    assert api.head("/api/workflows/nope").status_code == 404
    allow = {"/api/workflows": "GET, HEAD, OPTIONS, POST", "/api/workflows/pair": "DELETE, GET, HEAD, OPTIONS",
             "/api/workflows/upload": "OPTIONS, POST", "/api/runs/1/kill": "OPTIONS, POST",
             "/api/runs/1/jobs": "GET, HEAD, OPTIONS, POST"}
    for path, methods in allow.items():
        options = api.options(path)
        assert options.status_code == 204 and options.headers["allow"] == methods, path
    wrong = api.put("/api/workflows/pair")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"


def test_head_of_an_event_stream_answers_at_once(server: Any, store: StatusStore, two_jobs: str) -> None:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        client.post("/api/workflows", json={"yaml": "name: s\njobs:\n  a: {command: 'sleep 30'}\n"})
        run_id = client.post("/api/runs", json={"workflow": "s"}).json()["id"]
        head = client.head(f"/api/runs/{run_id}/events")
        assert head.status_code == 200 and head.headers["content-type"].startswith("text/event-stream")
        client.post(f"/api/runs/{run_id}/kill")


def test_the_openapi_document_is_as_strict_as_validation(api: Any) -> None:
    schema = api.get("/openapi.json").json()
    parts = schema["components"]["schemas"]
    assert parts["WorkflowUpload"]["properties"]["yaml"]["minLength"] == 1
    assert parts["JobBody"]["properties"]["name"]["minLength"] == 1
    assert parts["JobBody"]["properties"]["name"]["pattern"].startswith("^[A-Za-z0-9_]")
    assert "pattern" in parts["RunStart"]["properties"]["scheduler"]
    upload = schema["paths"]["/api/workflows/upload"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["required"] == ["file"]
    assert api.post("/api/workflows", json={"yaml": ""}).status_code == 422
    assert api.post("/api/runs", json={"workflow": "x", "scheduler": "par\x01allel"}).status_code == 422


def test_large_answers_are_compressed_and_events_never_held_back(server: Any, store: StatusStore) -> None:
    import time as clock

    text = "name: wide\njobs:\n" + "".join(f"  job-{i:03d}: {{command: 'true'}}\n" for i in range(300))
    with httpx.Client(base_url=server.url, timeout=10, headers={"accept-encoding": "gzip"}) as client:
        client.post("/api/workflows", json={"yaml": text})
        detail = client.get("/api/workflows/wide")
        assert detail.headers["content-encoding"] == "gzip" and len(detail.json()["job_specs"]) == 300
        assert int(detail.headers["content-length"]) < len(detail.content) / 3
        small = client.get("/api/schedulers")
        assert "content-encoding" not in small.headers

        client.post("/api/workflows", json={"yaml": "name: ticks\njobs:\n  a: {command: 'sleep 0.3; echo one; "
                                                    "sleep 30'}\n"})
        run_id = client.post("/api/runs", json={"workflow": "ticks"}).json()["id"]
        with client.stream("GET", f"/api/runs/{run_id}/events") as stream:
            assert "content-encoding" not in stream.headers
            started = clock.monotonic()
            seen = ""
            for chunk in stream.iter_text():
                seen += chunk
                if '"state":"running"' in seen:
                    break
            assert clock.monotonic() - started < 5    # each event arrives as it happens, not when a buffer fills
        client.post(f"/api/runs/{run_id}/kill")


def test_docs_and_redoc_load_every_asset_from_the_package(api: Any) -> None:
    import re

    for path in ("/docs", "/redoc"):
        page = api.get(path)
        assert page.status_code == 200
        refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert refs and all(ref.startswith("/") for ref in refs), refs
        assert "https://" not in page.text and "fonts.googleapis" not in page.text
        for ref in refs:
            assert api.get(ref).status_code == 200, ref
