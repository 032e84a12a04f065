"""cc's errors as HTTP responses: a missing run is 404, a workflow that is not valid is 422 naming job, field and
line, and every other error a user can meet is a 4xx with its message and hint."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cc_core.errors import (
    CCError,
    JobNotFoundError,
    JobTypeError,
    PluginError,
    RunLockedError,
    RunNotEndedError,
    RunNotFoundError,
    StoreError,
    UnknownNameError,
    WorkflowError,
)
from cc_web.logs import LogOutsideHomeError
from cc_web.models import ErrorBody, ProblemOut
from cc_web.run_control import RunEndedError

STATUS: list[tuple[type[CCError], int]] = [
    (LogOutsideHomeError, 403),
    (RunNotFoundError, 404),
    (JobNotFoundError, 404),
    (WorkflowError, 422),
    (UnknownNameError, 422),
    (RunLockedError, 409),
    (RunEndedError, 409),
    (RunNotEndedError, 409),
    (StoreError, 409),
    (PluginError, 409),
    (JobTypeError, 409),
]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "the request body could not be read"},
    401: {"model": ErrorBody, "description": "the service has a token and the request did not carry it"},
    403: {"model": ErrorBody, "description": "a request from a page of another site, or a file outside CC_HOME"},
    404: {"model": ErrorBody, "description": "no such workflow, run or job"},
    409: {"model": ErrorBody, "description": "the run's state does not allow it (ended, driven elsewhere)"},
    413: {"model": ErrorBody, "description": "the request body is larger than the limit (1 MiB by default)"},
    421: {"model": ErrorBody, "description": "the request names a host this service does not answer for"},
    422: {"model": ErrorBody, "description": "the request or the workflow is not valid"},
}


def status_of(exc: CCError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_body(exc: CCError) -> ErrorBody:
    problems = [ProblemOut.of(p) for p in exc.problems] if isinstance(exc, WorkflowError) else []
    return ErrorBody(error=type(exc).__name__, message=exc.message, hint=exc.hint, problems=problems)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into :class:`ErrorBody` responses."""

    @app.exception_handler(CCError)
    async def cc_error(request: Request, exc: CCError) -> JSONResponse:
        return JSONResponse(error_body(exc).model_dump(), status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            path = _field_path(tuple(err.get("loc", ())))
            message = str(err.get("msg", "not valid")).removeprefix("Value error, ")
            problems.append(ProblemOut(message=f"{path}: {message}" if path else message, field=path or None))
        body = ErrorBody(error="ValidationError", message="the request is not valid: "
                         + "; ".join(p.message for p in problems[:5]), problems=problems)
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = ErrorBody(error="HTTPError", message=str(exc.detail))
        return JSONResponse(body.model_dump(), status_code=exc.status_code, headers=getattr(exc, "headers", None))
