"""``POST /api/runs/{run}/rerun``: continue a run that ended failed or killed as a new run (docs/states.md,
"Rerun"). The new run goes on in the service's process like any run started here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cc_web.error_responses import ERROR_RESPONSES

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=ERROR_RESPONSES)


class RerunRequest(BaseModel):
    """``stored``: run the definition as it was run, not the workflow as it is now; ``jobs``: run these and
    everything below them again, even if they were done."""

    model_config = ConfigDict(extra="forbid")

    stored: bool = False
    # bounded so that no valid body is larger than the service accepts
    jobs: list[Annotated[str, StringConstraints(max_length=200)]] = Field(default_factory=list, max_length=500)


class RerunStarted(BaseModel):
    run: int = Field(description="the id of the new run")
    rerun_of: int


@router.post("/{run}/rerun", status_code=202, response_model=RerunStarted,
             summary="Rerun a run that ended: a new run, its done jobs carried over",
             description="The workflow is read again (its file, or the stored workflow of that name) unless "
                         "``stored``; failed, killed and skipped jobs, new jobs and ``jobs`` with everything below "
                         "them run again. 400 (with a hint) for a run that has not ended.")
def rerun_run(run: str, request: Request, body: RerunRequest | None = None) -> RerunStarted:
    body = body or RerunRequest()
    store = request.app.state.store
    record = store.find_run(run)
    new_id = request.app.state.control.rerun(record.id, stored=body.stored, jobs=body.jobs)
    return RerunStarted(run=new_id, rerun_of=record.id)
