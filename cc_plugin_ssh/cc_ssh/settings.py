"""The ssh job type's options: from a job's ``options:``, the job type's options, the environment, defaults.

A job's own ``options:`` win over the job type's options (``JobTypeContext.options``), which win over the
environment (``CC_SSH_CONFIG``, ``CC_SSH_ACCEPT_NEW_HOST_KEYS``). Accepting new host keys is on when any of them
turns it on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cc_core.workflow.model import parse_duration
from cc_core.workflow.resources import resource_problems, without_resources

CONFIG_VARIABLE = "CC_SSH_CONFIG"
ACCEPT_NEW_VARIABLE = "CC_SSH_ACCEPT_NEW_HOST_KEYS"
DEFAULT_REMOTE_ROOT = "~/.cc/runs"
_TRUE = ("1", "true", "yes", "on")


class SSHSettings(BaseModel):
    """Options of the ``ssh`` job type (``options:`` of a job, or of the job type)."""

    model_config = ConfigDict(extra="forbid")

    ssh_config: Optional[str] = None
    """The ssh config file (default ``~/.ssh/config``); ``CC_SSH_CONFIG`` sets it too."""
    accept_new_host_keys: bool = False
    """Record the key of a host not yet in known_hosts instead of refusing to connect."""
    remote_root: str = DEFAULT_REMOTE_ROOT
    """Where job folders are made on the remote host: ``<remote_root>/<run id>/<job>/<attempt>``."""
    connect_timeout: float = Field(default=10.0, gt=0)
    command_timeout: float = Field(default=60.0, gt=0)
    kill_grace: float = Field(default=3.0, ge=0)
    """Seconds between SIGTERM and SIGKILL when a job is cancelled."""
    reconnect_backoff_max: float = Field(default=30.0, gt=0)
    """The longest wait between two attempts to reconnect to a host that dropped."""
    reconnect_window: float = Field(default=60.0, ge=0)
    """How long a job's submission is tried again while its host cannot be reached (0: not at all)."""
    environments: Optional[str] = None
    """The environment cache folder on the host (default ``~/.cc/envs``; docs/environments.md)."""
    conda_root: Optional[Union[str, list[str]]] = None
    """Where conda installations are looked for first on the host (``conda: NAME``)."""
    agent: bool = True
    """Start jobs and hear of their ends and log lines through a small agent on the host (needs the host's
    python3; without it, or with ``agent: false``, plain commands poll every second)."""

    @field_validator("connect_timeout", "command_timeout", "kill_grace", "reconnect_backoff_max", "reconnect_window",
                     mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    @field_validator("accept_new_host_keys", "agent", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower() in _TRUE
        return value

    @property
    def config_path(self) -> Optional[str]:
        """The ssh config file as an absolute path, or ``None`` for the default (``~/.ssh/config``)."""
        if not self.ssh_config:
            return None
        return str(Path(os.path.expanduser(self.ssh_config)).absolute())


KNOWN_OPTIONS = tuple(SSHSettings.model_fields)


def settings_for(*layers: Optional[Mapping[str, Any]]) -> SSHSettings:
    """Merge option layers (later ones win) over the environment. Raises ``ValueError`` naming the bad option."""
    merged: dict[str, Any] = {}
    env_config = os.environ.get(CONFIG_VARIABLE)
    if env_config:
        merged["ssh_config"] = env_config
    accept = os.environ.get(ACCEPT_NEW_VARIABLE, "").strip().lower() in _TRUE
    problems: list[str] = []
    for layer in layers:
        if layer:
            # cpus and tasks are every job type's (cc passes them on in the job's environment).
            problems += resource_problems(layer)
            merged.update({key: value for key, value in without_resources(layer).items() if value is not None})
    if problems:
        raise ValueError("; ".join(problems))
    try:
        settings = SSHSettings(**merged)
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None
    if accept and not settings.accept_new_host_keys:
        settings = settings.model_copy(update={"accept_new_host_keys": True})
    return settings


def describe_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "options"
        if error.get("type") == "extra_forbidden":
            parts.append(f"unknown ssh option '{where}' (known: {', '.join(KNOWN_OPTIONS)})")
        else:
            parts.append(f"ssh option '{where}': {error.get('msg')}")
    return "; ".join(parts)
