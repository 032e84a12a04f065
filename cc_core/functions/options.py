"""Where a call runs and with what: the job fields a function's calls get, from the settings file
(``functions: {defaults: {...}}``), the decorator, and ``.options(...)`` per call, later ones winning.
"""

from __future__ import annotations

from typing import Any, Optional

from cc_core.errors import CCError

FIELDS = ("kind", "host", "user", "options", "venv", "python", "requirements", "timeout", "retries", "retry_delay",
          "env", "inputs", "outputs", "workdir", "label", "cache", "force")


def check_fields(fields: dict[str, Any], where: str) -> dict[str, Any]:
    """``fields`` as given, or a :class:`CCError` naming an unknown field."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise CCError(f"{where}: unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                      hint=f"a call takes the job fields {', '.join(FIELDS)}")
    return dict(fields)


def merged(*layers: Optional[dict[str, Any]]) -> dict[str, Any]:
    """Later layers win; ``options`` and ``env`` are merged key by key."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if key in ("options", "env") and isinstance(value, dict):
                out[key] = {**out.get(key, {}), **value}
            else:
                out[key] = value
    return out


def job_fields(fields: dict[str, Any], where: str) -> dict[str, Any]:
    """The fields checked against each other and against what this installation of cc can do."""
    from cc_core.workflow.model import JobSpec

    fields = {k: v for k, v in fields.items() if v is not None}
    if fields.get("venv") and fields.get("requirements"):
        raise CCError(f"{where}: give venv or requirements, not both",
                      hint="venv names an existing environment; requirements asks cc to build one")
    if "requirements" in fields and "requirements" not in JobSpec.model_fields:
        raise CCError(f"{where}: requirements are not available in this installation of cc (it builds no "
                      "environments)", hint="name an existing environment with venv: or python:")
    return fields


def settings_defaults() -> dict[str, Any]:
    """``functions: {defaults: {...}}`` of the settings file."""
    from cc_core.settings import load_settings

    section = load_settings().get("functions")
    if isinstance(section, dict):
        defaults = section.get("defaults") or {}
        if not isinstance(defaults, dict):
            raise CCError("settings: 'functions: defaults:' maps job fields to values, e.g. {kind: slurm}")
        return check_fields(defaults, "settings 'functions: defaults'")
    return {}


def settings_max_parallel() -> Optional[int]:
    from cc_core.settings import load_settings

    section = load_settings().get("functions")
    if isinstance(section, dict) and section.get("max_parallel") is not None:
        return int(section["max_parallel"])
    return None
