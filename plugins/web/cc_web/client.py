"""A small Python client for cc's REST service, for scientists who drive cc from their own code::

    from cc_web.client import Client

    with Client("http://127.0.0.1:8765") as cc:
        cc.upload_workflow("analysis.yaml", scripts=["clean.py"])
        run = cc.start("analysis", max_parallel=4)
        final = cc.wait(run["id"])              # follows the event stream
        print(final["state"], cc.read_log(run["id"], "clean"))

Errors come back as cc's own exceptions: :class:`cc_core.errors.WorkflowError` (with ``problems`` naming job,
field and line) for a workflow that is not valid, :class:`cc_core.errors.RunNotFoundError` for a missing run or
workflow, and :class:`APIError` (with ``status``) for anything else.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Union
from urllib.parse import quote

import httpx

from cc_core import errors
from cc_core.errors import CCError, Problem, WorkflowError

PathLike = Union[str, "os.PathLike[str]"]


class APIError(CCError):
    """The service answered with an error; ``status`` is the HTTP status, ``error`` the kind of error."""

    def __init__(self, message: str, *, status: int, error: str = "HTTPError", hint: Optional[str] = None) -> None:
        self.status = status
        self.error = error
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class ServerEvent:
    """One event of a run's stream: ``event`` is snapshot, jobs, run, definition or end."""

    event: str
    data: dict[str, Any]
    id: Optional[str] = None


_PLAIN_ERRORS = ("RunNotFoundError", "WorkflowNotFoundError", "JobNotFoundError", "RunLockedError",
                 "RunNotEndedError", "RunEndedError",
                 "UnknownNameError", "StoreError", "PluginError")


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text or response.reason_phrase}
    if not isinstance(body, dict):
        body = {"message": str(body)}
    kind = str(body.get("error") or "HTTPError")
    message = str(body.get("message") or response.reason_phrase)
    hint = body.get("hint")
    exc: CCError
    if kind == "WorkflowError":
        exc = WorkflowError([Problem(p.get("message", ""), line=p.get("line"), job=p.get("job"),
                                     field=p.get("field")) for p in body.get("problems") or []]
                            or [Problem(message)])
    elif kind in _PLAIN_ERRORS:
        exc = getattr(errors, kind)(message, hint=hint)
    else:
        exc = APIError(message, status=response.status_code, error=kind, hint=hint)
    exc.status = response.status_code  # type: ignore[attr-defined]
    raise exc


class Client:
    """Talks to ``ccw serve``. ``token`` (default ``$CC_TOKEN``) is sent as ``Authorization: Bearer``."""

    def __init__(self, base_url: str = "http://127.0.0.1:8765", token: Optional[str] = None,
                 timeout: float = 60.0, transport: Optional[httpx.BaseTransport] = None) -> None:
        token = token if token is not None else os.environ.get("CC_TOKEN") or None
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        _raise_for(response)
        if response.status_code == 204:
            return None
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    @staticmethod
    def _ref(value: Union[int, str]) -> str:
        return quote(str(value), safe="")

    # ------------------------------------------------------------------------------------------ workflows
    def workflows(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/workflows")  # type: ignore[no-any-return]

    def upload_workflow(self, path: PathLike, *, name: Optional[str] = None,
                        scripts: Iterable[PathLike] = ()) -> dict[str, Any]:
        """Store a workflow file (and the scripts its jobs run) on the server; returns the stored workflow."""
        file = Path(path)
        files: list[tuple[str, tuple[str, bytes, str]]] = [("file", (file.name, file.read_bytes(),
                                                                     "application/yaml"))]
        for script in scripts:
            script_path = Path(script)
            files.append(("scripts", (script_path.name, script_path.read_bytes(), "application/octet-stream")))
        data = {"name": name} if name else {}
        return self._call("POST", "/api/workflows/upload", files=files, data=data)  # type: ignore[no-any-return]

    def store_workflow(self, yaml_text: str, *, name: Optional[str] = None) -> dict[str, Any]:
        """Store a workflow given as YAML text."""
        body: dict[str, Any] = {"yaml": yaml_text}
        if name:
            body["name"] = name
        return self._call("POST", "/api/workflows", json=body)  # type: ignore[no-any-return]

    def workflow(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/api/workflows/{self._ref(name)}")  # type: ignore[no-any-return]

    def delete_workflow(self, name: str) -> None:
        self._call("DELETE", f"/api/workflows/{self._ref(name)}")

    def export(self, name: str, format: str = "yaml") -> str:
        """The stored workflow as ``yaml`` or ``svg`` text."""
        return self._call("GET", f"/api/workflows/{self._ref(name)}/{format}")  # type: ignore[no-any-return]

    def add_job(self, workflow: str, name: str, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/api/workflows/{self._ref(workflow)}/jobs",  # type: ignore[no-any-return]
                          json={"name": name, **fields})

    def job(self, workflow: str, name: str) -> dict[str, Any]:
        return self._call("GET", f"/api/workflows/{self._ref(workflow)}/jobs/{self._ref(name)}")  # type: ignore

    def remove_job(self, workflow: str, name: str) -> None:
        self._call("DELETE", f"/api/workflows/{self._ref(workflow)}/jobs/{self._ref(name)}")

    def add_dependency(self, workflow: str, parent: str, child: str) -> None:
        self._call("POST", f"/api/workflows/{self._ref(workflow)}/dependencies",
                   json={"parent": parent, "child": child})

    def remove_dependency(self, workflow: str, parent: str, child: str) -> None:
        self._call("DELETE", f"/api/workflows/{self._ref(workflow)}/dependencies/{self._ref(parent)}/"
                             f"{self._ref(child)}")

    # ------------------------------------------------------------------------------------------ runs
    def start(self, workflow: str, *, scheduler: str = "parallel",
              max_parallel: Optional[int] = None) -> dict[str, Any]:
        """Start a run of a stored workflow; returns the run (``["id"]`` is its id)."""
        return self._call("POST", "/api/runs", json={"workflow": workflow, "scheduler": scheduler,  # type: ignore
                                                      "max_parallel": max_parallel})

    def runs(self, workflow: Optional[str] = None, limit: int = 100) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if workflow:
            params["workflow"] = workflow
        return self._call("GET", "/api/runs", params=params)  # type: ignore[no-any-return]

    def status(self, run: Union[int, str]) -> dict[str, Any]:
        """The run with every job (state, progress, times, exit code) and ``counts`` per state."""
        return self._call("GET", f"/api/runs/{self._ref(run)}")  # type: ignore[no-any-return]

    def jobs(self, run: Union[int, str], since_seq: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", f"/api/runs/{self._ref(run)}/jobs",  # type: ignore[no-any-return]
                          params={"since_seq": since_seq})

    def run_job(self, run: Union[int, str], job: str) -> dict[str, Any]:
        return self._call("GET", f"/api/runs/{self._ref(run)}/jobs/{self._ref(job)}")  # type: ignore

    def kill(self, run: Union[int, str], job: Optional[str] = None) -> dict[str, Any]:
        """Kill a run, or one job of it."""
        path = f"/api/runs/{self._ref(run)}" + (f"/jobs/{self._ref(job)}" if job else "") + "/kill"
        return self._call("POST", path)  # type: ignore[no-any-return]

    def resume(self, run: Union[int, str]) -> dict[str, Any]:
        return self._call("POST", f"/api/runs/{self._ref(run)}/resume")  # type: ignore[no-any-return]

    def rerun(self, run: Union[int, str], *, stored: bool = False, jobs: Iterable[str] = ()) -> dict[str, Any]:
        """Continue a run that ended failed or killed as a new run (its done jobs carried over); returns
        ``{"run": new id, "rerun_of": id}``. ``jobs``: run these and everything below them again."""
        return self._call("POST", f"/api/runs/{self._ref(run)}/rerun",  # type: ignore[no-any-return]
                          json={"stored": stored, "jobs": list(jobs)})

    def add_run_job(self, run: Union[int, str], name: str, **fields: Any) -> dict[str, Any]:
        """Add a job to a run that is going."""
        return self._call("POST", f"/api/runs/{self._ref(run)}/jobs",  # type: ignore[no-any-return]
                          json={"name": name, **fields})

    def log(self, run: Union[int, str], job: str, offset: int = 0, length: int = 65536) -> dict[str, Any]:
        """One piece of a job's log: ``text``, ``next_offset``, ``size`` and ``final``."""
        return self._call("GET", f"/api/runs/{self._ref(run)}/jobs/{self._ref(job)}/log",  # type: ignore
                          params={"offset": offset, "length": length})

    def read_log(self, run: Union[int, str], job: str) -> str:
        """The job's whole log as it is now."""
        parts: list[str] = []
        offset = 0
        while True:
            chunk = self.log(run, job, offset, 1 << 20)
            parts.append(chunk["text"])
            if chunk["next_offset"] <= offset or chunk["next_offset"] >= chunk["size"]:
                return "".join(parts)
            offset = chunk["next_offset"]

    def events(self, run: Union[int, str], read_timeout: Optional[float] = None) -> Iterator[ServerEvent]:
        """The run's live events (a ``snapshot`` first, ``end`` last), as they happen. ``read_timeout``: the
        longest wait for the next piece of the stream (the service sends a keep-alive every 15 s)."""
        timeout = httpx.Timeout(self.http.timeout.connect, read=read_timeout)
        with self.http.stream("GET", f"/api/runs/{self._ref(run)}/events", timeout=timeout) as response:
            if not response.is_success:
                response.read()
                _raise_for(response)
            event, ident = "message", None
            data: list[str] = []
            for line in response.iter_lines():
                if not line:
                    if data:
                        yield ServerEvent(event, json.loads("\n".join(data)), ident)
                    event, data, ident = "message", [], None
                elif line.startswith(":"):
                    continue
                else:
                    key, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if key == "event":
                        event = value
                    elif key == "data":
                        data.append(value)
                    elif key == "id":
                        ident = value

    def wait(self, run: Union[int, str], timeout: Optional[float] = None) -> dict[str, Any]:
        """Follow the run until it is final; returns the run. ``TimeoutError`` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last: dict[str, Any] = {}
        try:
            for event in self.events(run, read_timeout=timeout):
                if event.data.get("run"):
                    last = event.data["run"]
                if event.event == "end":
                    return last
                if deadline is not None and time.monotonic() > deadline:
                    break
        except httpx.ReadTimeout:
            pass
        raise TimeoutError(f"run {run} did not end within {timeout} s")

    # ------------------------------------------------------------------------------------------ plugins
    def plugins(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/plugins")  # type: ignore[no-any-return]

    def schedulers(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/schedulers")  # type: ignore[no-any-return]
