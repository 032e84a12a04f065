"""``/api/workflows``: stored workflows, their jobs and dependencies, and their YAML, SVG and layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from cc_core.errors import Problem, WorkflowError
from cc_core.workflow.model import JobSpec
from cc_core.store.base import StatusStore
from cc_web import graph, stored_workflows
from cc_web.error_responses import ERROR_RESPONSES
from cc_web.models import (
    JobBody,
    NAME_PATTERN,
    Dependency,
    GraphLayoutOut,
    WorkflowDetail,
    WorkflowSummary,
    WorkflowUpload,
)

router = APIRouter(prefix="/api/workflows", tags=["workflows"], responses=ERROR_RESPONSES)


def store_of(request: Request) -> StatusStore:
    return request.app.state.store  # type: ignore[no-any-return]


def _detail(store: StatusStore, name: str) -> WorkflowDetail:
    stored = store.get_workflow(name)
    return WorkflowDetail.build(stored, stored_workflows.load_stored(stored))


@router.get("", response_model=list[WorkflowSummary], summary="List stored workflows")
def list_workflows(request: Request) -> list[WorkflowSummary]:
    out = []
    for stored in store_of(request).list_workflows():
        description, jobs = stored_workflows.summary_of(stored)
        out.append(WorkflowSummary.of(stored, description, jobs))
    return out


@router.post("", status_code=201, response_model=WorkflowDetail, summary="Store a workflow given as YAML text",
             description="Validates the YAML (422 names every problem's job, field and line) and stores it under "
                         "its name, replacing a stored workflow of the same name.")
def upload_workflow(body: WorkflowUpload, request: Request) -> WorkflowDetail:
    store = store_of(request)
    stored = stored_workflows.save_upload(store, body.yaml, body.name, {})
    return _detail(store, stored.name)


UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "the workflow's YAML (UTF-8)"},
            "name": {"type": "string", "maxLength": 200, "pattern": NAME_PATTERN},
            "scripts": {"type": "array", "items": {"type": "string", "format": "binary"},
                        "description": "files its jobs run, each under its own file name; a part without a "
                                       "file name, or two with one name, is refused"},
        }}}}},
}


@router.post("/upload", status_code=201, response_model=WorkflowDetail, openapi_extra=UPLOAD_SCHEMA,
             summary="Store a workflow uploaded as a file (multipart), with its scripts",
             description="``file`` is the workflow's YAML; ``scripts`` are files its jobs run, kept next to it on "
                         "the server. ``name`` defaults to the YAML's ``name:``, then to the file's name.")
async def upload_workflow_file(request: Request) -> WorkflowDetail:
    import asyncio

    form = await request.form(max_files=1000, max_fields=1000)
    parts = form.getlist("file")
    if len(parts) != 1:
        raise WorkflowError([Problem("send exactly one 'file' part: the workflow's YAML", field="file")])
    part = parts[0]
    data = await part.read() if isinstance(part, UploadFile) else part.encode()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkflowError([Problem("the workflow file is not UTF-8 text", field="file")]) from None
    names = form.getlist("name")
    name = names[0] if names and isinstance(names[0], str) and names[0] else None
    scripts: list[tuple[str, bytes]] = []
    for script in form.getlist("scripts"):
        if not isinstance(script, UploadFile) or not script.filename:
            raise WorkflowError([Problem("every 'scripts' part needs a file name (it is stored under it)",
                                         field="scripts")])
        scripts.append((script.filename, await script.read()))
    stem = Path(part.filename or "").stem if isinstance(part, UploadFile) else ""
    default = stem if stem and stored_workflows.FILE_NAME.match(stem) else None

    def save() -> WorkflowDetail:
        store = store_of(request)
        files = stored_workflows.script_files(scripts)
        stored = stored_workflows.save_upload(store, text, name, files, default_name=default)
        return _detail(store, stored.name)
    return await asyncio.to_thread(save)


@router.get("/{name}", response_model=WorkflowDetail, summary="A stored workflow with its jobs and dependencies")
def get_workflow(name: str, request: Request) -> WorkflowDetail:
    return _detail(store_of(request), name)


@router.delete("/{name}", status_code=204, response_class=Response, summary="Forget a stored workflow",
               description="Its runs stay.")
def delete_workflow(name: str, request: Request) -> Response:
    store = store_of(request)
    store.get_workflow(name)
    store.delete_workflow(name)
    return Response(status_code=204)


@router.get("/{name}/yaml", response_class=Response, summary="Export the workflow as YAML",
            responses={200: {"content": {"application/yaml": {}}}})
def export_yaml(name: str, request: Request) -> Response:
    stored = store_of(request).get_workflow(name)
    return Response(stored.text, media_type="application/yaml",
                    headers={"content-disposition": f'attachment; filename="{stored.name}.yaml"'})


@router.get("/{name}/svg", response_class=Response, summary="Export the workflow's graph as SVG",
            responses={200: {"content": {"image/svg+xml": {}}}})
def export_svg(name: str, request: Request) -> Response:
    stored = store_of(request).get_workflow(name)
    return Response(graph.workflow_svg(stored_workflows.load_stored(stored)), media_type="image/svg+xml")


@router.get("/{name}/layout", response_model=GraphLayoutOut, summary="Positions for drawing the workflow's graph")
def workflow_layout(name: str, request: Request) -> Any:
    spec = stored_workflows.load_stored(store_of(request).get_workflow(name))
    return Response(graph.layout_json(list(spec.jobs), spec.edges()), media_type="application/json")


@router.post("/{name}/jobs", status_code=201, response_model=JobSpec, summary="Add a job to a stored workflow")
def add_job(name: str, job: JobBody, request: Request) -> JobSpec:
    stored_workflows.edit(store_of(request), name, lambda spec: stored_workflows.add_job(spec, job))
    return job


@router.get("/{name}/jobs/{job}", response_model=JobSpec, summary="A job of a stored workflow")
def get_job(name: str, job: str, request: Request) -> JobSpec:
    spec = stored_workflows.load_stored(store_of(request).get_workflow(name))
    return stored_workflows.get_job(spec, job)


@router.delete("/{name}/jobs/{job}", status_code=204, response_class=Response,
               summary="Remove a job (and every dependency on it) from a stored workflow")
def remove_job(name: str, job: str, request: Request) -> Response:
    stored_workflows.edit(store_of(request), name, lambda spec: stored_workflows.remove_job(spec, job))
    return Response(status_code=204)


@router.post("/{name}/dependencies", status_code=201, response_model=Dependency,
             summary="Make a job of a stored workflow wait for another",
             description="422 when either job is missing or the dependency would close a cycle.")
def add_dependency(name: str, dependency: Dependency, request: Request) -> Dependency:
    stored_workflows.edit(store_of(request), name,
                          lambda spec: stored_workflows.add_dependency(spec, dependency.parent, dependency.child))
    return dependency


@router.delete("/{name}/dependencies/{parent}/{child}", status_code=204, response_class=Response,
               summary="Remove a dependency from a stored workflow")
def remove_dependency(name: str, parent: str, child: str, request: Request) -> Response:
    stored_workflows.edit(store_of(request), name,
                          lambda spec: stored_workflows.remove_dependency(spec, parent, child))
    return Response(status_code=204)

