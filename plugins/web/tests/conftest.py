"""Fixtures of the web plugin's tests: a fresh CC_HOME, the app, a real uvicorn server on a free port."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore:.*httpx2.*")

from cc_core.store.base import StatusStore  # noqa: E402
from cc_core.testing import polling  # noqa: E402

TWO_JOBS = """\
name: pair
description: two jobs, one after the other
jobs:
  first:
    command: "echo first; echo '# cc progress=50 msg=\\"half way\\"'"
  second:
    command: "echo second"
    depends: [first]
"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = 15.0, every: float = 0.02) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    return polling.wait_for(check, timeout=timeout, what=what, interval=every)


@pytest.fixture
def cc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CC_HOME", str(home))
    monkeypatch.delenv("CC_STORE", raising=False)
    monkeypatch.delenv("CC_TOKEN", raising=False)
    return home


@pytest.fixture
def store(cc_home: Path) -> Iterator[StatusStore]:
    from cc_core.home import open_store

    opened = open_store()
    yield opened
    finish_runs(opened)
    opened.close()


@pytest.fixture
def app(store: StatusStore) -> Any:
    from cc_web.app import create_app

    return create_app(store=store)


@pytest.fixture
def api(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


class LiveServer:
    """uvicorn serving an app on a free loopback port in a thread of the test process."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        wait_for("uvicorn to start", lambda: self.server.started, timeout=10)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def serve(store: StatusStore) -> Iterator[Callable[..., LiveServer]]:
    """``serve(token=None)`` starts a real server for a new app on the test's store."""
    from cc_web.app import create_app

    servers: list[LiveServer] = []

    def start(**options: Any) -> LiveServer:
        server = LiveServer(create_app(store=store, **options)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(serve: Callable[..., LiveServer]) -> LiveServer:
    return serve()


def finish_runs(store: StatusStore) -> None:
    """Kill every run still going (a test that failed half-way must not leave processes behind)."""
    from cc_core.running.control import kill

    for run in store.list_runs():
        if not run.state.is_final:
            try:
                kill(run.id, store=store, wait=5)
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass


@pytest.fixture
def wait() -> Callable[..., Any]:
    """``wait(what, check, timeout=15)``: poll until ``check()`` is true."""
    return wait_for


@pytest.fixture
def two_jobs() -> str:
    return TWO_JOBS


CHROMIUM = "/usr/bin/chromium"


def missing(what: str) -> None:
    """Skip a test whose component is missing; under CI=true fail instead."""
    import os

    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI=true: the browser tests must run)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for every browser test of the session (each test gets a context of its own)."""
    import os

    if not os.path.exists(CHROMIUM):
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--disable-dev-shm-usage", "--enable-precise-memory-info"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context; the test fails if the page raised a JavaScript error."""
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    seen = list(errors)   # taken before the close: a fetch the close itself aborts is not the page's error
    context.close()
    assert not seen, f"JavaScript errors on the page: {seen}"


@pytest.fixture
def serve_asgi() -> Iterator[Callable[[Any], LiveServer]]:
    """``serve_asgi(app)`` serves any ASGI app (e.g. a page of another origin) on a free loopback port."""
    servers: list[LiveServer] = []

    def start(app: Any) -> LiveServer:
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
