"""A slurm job's ``options:``: the resources it asks for, and how cc submits it.

Resource options become ``#SBATCH`` lines of the batch script, in a fixed order. Names may be written with ``_``
or ``-`` (``cpus_per_task`` or ``cpus-per-task``). A job's own ``options:`` win over the job type's options.
``cpus`` and ``tasks``, which every job type understands (see :mod:`cc_core.workflow.resources`), are
``cpus_per_task`` and ``ntasks``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cc_core.workflow.model import parse_duration
from cc_core.workflow.resources import resource_problems, resources

Count = Union[int, str]

# SLURM's own time syntax: minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes,
# days-hours:minutes:seconds; or no limit at all.
_SLURM_TIME = re.compile(r"^(\d+-)?\d+(:\d+){0,2}$")
_UNLIMITED = ("unlimited", "infinite")
_CC_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$")
DEFAULT_REMOTE_ROOT = "~/.cc/runs"

# cc's own resource options (every job type's) -> the slurm option they are.
RESOURCE_NAMES = {"cpus": "cpus_per_task", "tasks": "ntasks"}

# option -> sbatch flag, in the order the directives are written.
RESOURCE_FLAGS: dict[str, str] = {
    "partition": "--partition",
    "account": "--account",
    "qos": "--qos",
    "reservation": "--reservation",
    "time": "--time",
    "nodes": "--nodes",
    "ntasks": "--ntasks",
    "ntasks_per_node": "--ntasks-per-node",
    "cpus_per_task": "--cpus-per-task",
    "mem": "--mem",
    "mem_per_cpu": "--mem-per-cpu",
    "gres": "--gres",
    "gpus": "--gpus",
    "gpus_per_node": "--gpus-per-node",
    "constraint": "--constraint",
    "nodelist": "--nodelist",
    "exclude": "--exclude",
    "array": "--array",
}


class SlurmOptions(BaseModel):
    """Options of the ``slurm`` job type. Every field is optional."""

    model_config = ConfigDict(extra="forbid")

    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    reservation: Optional[str] = None
    time: Optional[str] = None
    """SLURM's time limit in SLURM's syntax (``"30"`` = 30 minutes, ``"1:30:00"``, ``"2-00:00:00"``); a bare
    number is minutes, as for ``sbatch --time``; ``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` are understood too.
    Without it the job's ``timeout:`` becomes the time limit."""
    nodes: Optional[Count] = None
    ntasks: Optional[int] = Field(default=None, ge=1)
    ntasks_per_node: Optional[int] = Field(default=None, ge=1)
    cpus_per_task: Optional[int] = Field(default=None, ge=1)
    mem: Optional[Count] = None
    """Memory per node: ``"4G"``, ``"500M"``; a bare number is megabytes."""
    mem_per_cpu: Optional[Count] = None
    gres: Optional[str] = None
    gpus: Optional[Count] = None
    gpus_per_node: Optional[Count] = None
    constraint: Optional[str] = None
    nodelist: Optional[str] = None
    exclude: Optional[str] = None
    array: Optional[Count] = None
    exclusive: bool = False
    directives: list[str] = Field(default_factory=list)
    """Extra lines for the batch script, with or without the leading ``#SBATCH``."""
    setup: list[str] = Field(default_factory=list)
    """Shell lines run before the job on the compute node (``module load cuda/12``, ``source env.sh``)."""
    slurm_env: dict[str, str] = Field(default_factory=dict)
    """Environment of the SLURM commands cc runs (``sbatch``, ``squeue``, ``scancel``, ``sacct``), e.g.
    ``SLURM_CONF``; on a remote login host it is exported before each command."""
    ssh: dict[str, Any] = Field(default_factory=dict)
    """Options of the ssh connection to a remote login host, as the ssh job type takes them
    (``ssh_config``, ``accept_new_host_keys``, ``connect_timeout``, ...)."""
    remote_root: str = DEFAULT_REMOTE_ROOT
    """Where job folders are made on a remote login host: ``<remote_root>/<run id>/<job>/<attempt>``."""
    slurm_dependencies: bool = False
    """Let SLURM hold this job until its slurm parents are done (``--dependency=afterok:``) instead of waiting for
    cc to see them end; see docs/jobtypes/slurm.md."""
    command_timeout: float = Field(default=60.0, gt=0)
    """Seconds one SLURM command (or one command on the login host) may take."""
    reconnect_window: float = Field(default=60.0, ge=0)
    """How long a submission (and ``sbatch --test-only`` at validation) is tried again while the SLURM controller
    or the login host cannot be reached (0: not at all)."""
    environments: Optional[str] = None
    """The environment cache folder, on the login host's file system shared with the compute nodes (default
    ``~/.cc/envs`` on a remote login host, ``$CC_HOME/envs`` here; docs/environments.md)."""
    conda_root: Optional[Union[str, list[str]]] = None
    """Where conda installations are looked for first (``conda: NAME``)."""

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            raise ValueError("give a time limit like '30' (minutes), '1:30:00' or '2-00:00:00'")
        if isinstance(value, (int, float)):
            if value <= 0:
                raise ValueError("a time limit must be more than 0 minutes")
            return str(math.ceil(value))
        text = str(value).strip()
        if text.lower() in _UNLIMITED or _SLURM_TIME.match(text):
            return text
        if _CC_DURATION.match(text):
            seconds = parse_duration(text)
            assert seconds is not None
            return slurm_time(seconds)
        raise ValueError(f"'{value}' is not a SLURM time limit: use minutes ('30'), 'MM:SS', 'HH:MM:SS', "
                         "'D-HH:MM:SS', or '90s', '10m', '2h', '1d'")

    @field_validator("nodes", "mem", "mem_per_cpu", "gpus", "gpus_per_node", "array", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("give a number or a SLURM expression, not true/false")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("directives", "setup", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [line for line in value.splitlines() if line.strip()]
        return value

    @field_validator("slurm_env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @field_validator("command_timeout", "reconnect_window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    def directive_lines(self, timeout: Optional[float] = None) -> list[str]:
        """The ``#SBATCH`` lines for the resources asked for; ``timeout`` (seconds) is the time limit when
        ``time`` is not given."""
        values = self.model_dump()
        if self.time is None and timeout:
            values["time"] = slurm_time(timeout)
        lines = []
        for option, flag in RESOURCE_FLAGS.items():
            value = values.get(option)
            if value is None:
                continue
            if option in ("mem", "mem_per_cpu") and isinstance(value, int):
                value = f"{value}M"
            lines.append(f"#SBATCH {flag}={value}")
        if self.exclusive:
            lines.append("#SBATCH --exclusive")
        for line in self.directives:
            text = line.strip()
            if not text:
                continue
            lines.append(text if text.startswith("#SBATCH") else f"#SBATCH {text}")
        return lines


KNOWN_OPTIONS = tuple(sorted([*SlurmOptions.model_fields, *RESOURCE_NAMES]))


def slurm_time(seconds: float) -> str:
    """``HH:MM:SS`` (or ``D-HH:MM:SS``) for a number of seconds, rounded up; SLURM rounds it up to minutes."""
    total = max(1, math.ceil(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def parse_options(*layers: Optional[Mapping[str, Any]]) -> SlurmOptions:
    """Merge option layers (later ones win) into :class:`SlurmOptions`. Raises ``ValueError`` with a sentence
    naming each bad option (an unknown name lists the known ones)."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            merged[str(key).replace("-", "_")] = value
    _take_resources(merged)
    try:
        return SlurmOptions(**merged)
    except ValidationError as exc:
        raise ValueError(describe_errors(exc)) from None


def _take_resources(merged: dict[str, Any]) -> None:
    """``cpus`` and ``tasks``, which every job type understands, are ``cpus_per_task`` and ``ntasks`` here."""
    problems = resource_problems(merged)
    if problems:
        raise ValueError("; ".join(problems))
    for name, value in resources(merged).items():
        slurm_name = RESOURCE_NAMES[name]
        given = merged.get(slurm_name)
        if given is not None and str(given) != str(value):
            raise ValueError(f"slurm options '{name}: {value}' and '{slurm_name}: {given}' disagree; give one of them")
        merged[slurm_name] = value
    for name in RESOURCE_NAMES:
        merged.pop(name, None)


def describe_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "options"
        if error.get("type") == "extra_forbidden":
            parts.append(f"unknown slurm option '{where}' (known: {', '.join(KNOWN_OPTIONS)})")
        else:
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            parts.append(f"slurm option '{where}': {message}")
    return "; ".join(parts)
