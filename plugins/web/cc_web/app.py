"""The FastAPI app: REST API under ``/api``, OpenAPI at ``/openapi.json``, docs at ``/docs``, the GUI at ``/``."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator, Iterable, Optional

from fastapi import APIRouter, FastAPI
from starlette.middleware.gzip import GZipMiddleware

from cc_core.store.base import StatusStore
from cc_web import __version__, api_docs, error_responses, gui
from cc_web.event_stream import POLL_INTERVAL, EventHub
from cc_web.http_methods import HttpMethods
from cc_web.run_control import RunControl
from cc_web.run_status import RunStatusCache
from cc_web.security import MAX_BODY, Guard, check_token

# Answers smaller than this are sent as they are; larger ones are gzip-compressed for clients that accept it.
# The event stream (text/event-stream) is never compressed, so no event waits in a compressor's buffer.
GZIP_MINIMUM = 1024


def routers() -> list[APIRouter]:
    """The API's routers, one module each; a new group of routes is one more line here."""
    from cc_web import api_functions, api_plugins, api_rerun, api_runs, api_workflows

    return [
        api_workflows.router,
        api_runs.router,
        api_rerun.router,
        api_plugins.router,
        api_functions.router,
    ]

DESCRIPTION = """Manage workflows (DAGs of jobs) and watch their runs live.

The same store and engine as the ``ccw`` command line: a run started with ``ccw run`` shows here, and a run started
here can be followed with ``ccw status``. Errors are JSON ``{error, message, hint, problems}``; a workflow that is
not valid is answered with 422 and a problem per mistake naming its job, field and line.
"""


def create_app(token: Optional[str] = None, store: Optional[StatusStore] = None, *, max_body: int = MAX_BODY,
               allowed_hosts: Optional[Iterable[str]] = None, poll_interval: float = POLL_INTERVAL) -> FastAPI:
    """Build the service.

    :param token: when given, every request and event stream must carry it (``Authorization: Bearer``,
        ``?token=`` or the cookie the GUI gets); without it only loopback host names are answered.
    :param store: the status store; by default the one of ``CC_HOME`` (``cc_core.home.open_store``).
    :param max_body: the largest request body accepted, in bytes (larger ones get 413).
    :param allowed_hosts: host names requests may be addressed to (default: loopback names without a token,
        any with one).
    :param poll_interval: seconds between two looks at the store for a watched run.
    """
    check_token(token)
    if store is None:
        from cc_core.home import open_store

        store = open_store()
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        import asyncio

        await asyncio.to_thread(app.state.control.detach_all)

    app = FastAPI(title="cc", version=__version__, description=DESCRIPTION, lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    status = RunStatusCache(store)
    hub = EventHub(store, status, interval=poll_interval)
    app.state.store = store
    app.state.events = hub
    app.state.status = status
    app.state.control = RunControl(store, wake=hub.wake)
    app.state.token = token
    error_responses.install(app)
    for router in routers():
        app.include_router(router)
    gui.install(app)
    api_docs.install(app)
    # Added last is outermost: the guard sees every request first, then HEAD/OPTIONS/405, then compression.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM, compresslevel=5)
    app.add_middleware(HttpMethods, routes=lambda: app.routes, openapi=app.openapi)
    app.add_middleware(Guard, token=token, max_body=max_body, allowed_hosts=allowed_hosts)
    return app
