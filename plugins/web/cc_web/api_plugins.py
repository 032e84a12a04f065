"""``/api/plugins`` and ``/api/schedulers``: what the installed plugins provide."""

from __future__ import annotations

from fastapi import APIRouter

from cc_web.error_responses import ERROR_RESPONSES
from cc_web.models import PluginOut, SchedulerOut

router = APIRouter(prefix="/api", tags=["plugins"], responses=ERROR_RESPONSES)


@router.get("/plugins", response_model=list[PluginOut], summary="Installed plugins and what each provides")
def list_plugins() -> list[PluginOut]:
    from cc_core.plugins.registry import get_registry

    return [PluginOut.of(info) for info in get_registry().plugins]


@router.get("/schedulers", response_model=list[SchedulerOut], summary="Schedulers a run can use")
def list_schedulers() -> list[SchedulerOut]:
    from cc_core.plugins.registry import get_registry

    schedulers = get_registry().schedulers
    return [SchedulerOut(name=name, description=getattr(schedulers.get(name), "description", ""))
            for name in schedulers.names()]
