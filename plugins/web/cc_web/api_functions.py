"""``/api/functions`` and ``/api/calls``: analytics functions as a REST service.

Only the functions of the service's catalogue (the settings file's ``functions:`` and the plugins'
``cc_register_functions``) can be called; a request names one, never an import path. A call is a run of its own
(one function job), so it also shows in ``/api/runs``, ``ccw status`` and the GUI.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError

from cc_web.error_responses import ERROR_RESPONSES

router = APIRouter(tags=["functions"], responses=ERROR_RESPONSES)

_catalogue: Optional[dict[str, Any]] = None
_catalogue_lock = threading.Lock()


class FunctionOut(BaseModel):
    name: str
    function: str = Field(description="module:name of the function")
    description: str
    kind: str = Field(description="the job type its calls run on")
    parameters: dict[str, Any] = Field(description="JSON schema of the call's body")


class CallAccepted(BaseModel):
    id: str = Field(description="the call id, RUN.JOB: GET /api/calls/{id}")
    run: int
    job: str
    state: str


class CallOut(BaseModel):
    id: str
    run: int
    job: str
    function: str
    state: str
    progress: Optional[float] = None
    message: Optional[str] = None
    reason: Optional[str] = None
    result: Any = Field(default=None, description="the return value, when it is JSON")
    result_download: Optional[str] = Field(default=None, description="where to download a return value that is "
                                           "not JSON (a pickle)")
    result_type: Optional[str] = None
    error: Optional[dict[str, Any]] = Field(default=None, description="type, message and traceback of a failure")


def catalogue(request: Request) -> dict[str, Any]:
    """The offered functions, read once per service (the settings and plugins are read at start)."""
    global _catalogue
    cached = getattr(request.app.state, "functions", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from cc_core.functions.catalog import offered_functions

    with _catalogue_lock:
        found = offered_functions()
        request.app.state.functions = found
        return found


def _offered(request: Request, name: str) -> Any:
    offered = catalogue(request).get(name)
    if offered is None:
        from cc_core.errors import JobNotFoundError

        raise JobNotFoundError(f"no function '{name}' is offered here",
                               hint="GET /api/functions lists them; the settings file's 'functions:' adds some")
    return offered


@router.get("/api/functions", response_model=list[FunctionOut], summary="The functions this service offers")
def list_functions(request: Request) -> list[dict[str, Any]]:
    return [offered.describe() for offered in catalogue(request).values()]


@router.post("/api/functions/{name}/calls", status_code=202, response_model=CallAccepted,
             summary="Call a function: it runs as a job of its configured kind; follow it with GET /api/calls/{id}")
def call_function(name: str, request: Request,
                  arguments: dict[str, Any] = Body(default_factory=dict)) -> CallAccepted:
    from cc_core.functions.service import call_id, start_call

    offered = _offered(request, name)
    control = request.app.state.control
    try:
        run, job = start_call(offered, arguments, lambda spec: control.start(spec, "parallel", None))
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    return CallAccepted(id=call_id(run, job), run=run, job=job, state="queued")


@router.get("/api/calls/{call}", response_model=CallOut, summary="A call's state, progress and result or error")
def call_state(call: str, request: Request) -> dict[str, Any]:
    from cc_core.functions.service import call_status

    return call_status(request.app.state.store, call)


@router.get("/api/calls/{call}/result", summary="A call's return value as a pickle (for values that are not JSON)",
            response_class=StreamingResponse)
def call_result(call: str, request: Request) -> StreamingResponse:
    from cc_core.functions.service import result_file

    path = result_file(request.app.state.store, call)

    def chunks() -> Any:
        with open(path, "rb") as handle:
            handle.readline()            # the JSON line cc reads; the pickle follows
            while True:
                data = handle.read(1 << 20)
                if not data:
                    return
                yield data
    return StreamingResponse(chunks(), media_type="application/octet-stream",
                             headers={"content-disposition": f'attachment; filename="{call}.pkl"'})




@router.get("/functions", include_in_schema=False, response_class=HTMLResponse)
def functions_page() -> HTMLResponse:
    """The GUI's page of functions: a form per function, built from its schema."""
    from cc_web.function_page import PAGE

    return HTMLResponse(PAGE)
