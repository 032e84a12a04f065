"""The workflow and job models: what a user writes, validated at the edge with pydantic."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from cc_core.workflow.names import name_problem

JOB_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")   # the characters; names.name_problem says the rest
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
LOCAL_HOSTS = frozenset({"localhost", "local", "127.0.0.1", ""})


def parse_duration(value: Any) -> Optional[float]:
    """Seconds from ``90``, ``"90s"``, ``"10m"``, ``"2h"`` or ``"1:30:00"``; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '90s', '10m', '2h', '1:30:00'")
    if isinstance(value, (int, float)):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError(f"'{value}' is not a duration: give a finite number of seconds")
    else:
        text = str(value).strip()
        if ":" in text:
            parts = text.split(":")
            if not 2 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
                raise ValueError(f"'{value}' is not a duration like '1:30:00'")
            seconds = 0.0
            for part in parts:
                seconds = seconds * 60 + int(part)
        else:
            match = _DURATION.match(text)
            if not match:
                raise ValueError(f"'{value}' is not a duration: use seconds or '90s', '10m', '2h', '1:30:00'")
            seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def check_cache_setting(value: Any) -> Any:
    """``cache:`` is true/false or a key string (part of every cache key: change it to start afresh)."""
    if value is None or isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return value
    raise ValueError("cache is true, false or a key string")


class JobSpec(BaseModel):
    """One job of a workflow.

    Exactly one of ``script`` (a ``.sh``/``.py``/other executable file, found relative to the workflow file),
    ``notebook`` (a ``.ipynb`` file), ``command`` (a shell command line) or ``function`` (a Python function,
    ``module:name``, called with ``args`` and ``kwargs``; see :mod:`cc_core.functions`) says what the job runs.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    name: str
    kind: str = "local"
    host: str = "localhost"
    user: Optional[str] = None
    script: Optional[str] = None
    notebook: Optional[str] = None
    command: Optional[str] = None
    function: Optional[str] = None
    call_file: Optional[str] = None   # a function call prepared in Python (pickled function, args, kwargs)
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    workdir: Optional[str] = None
    depends: list[str] = Field(default_factory=list)
    retries: int = Field(default=0, ge=0, le=1000)
    retry_delay: float = 0.0
    timeout: Optional[float] = None
    keep_orphans: bool = False       # processes the job leaves behind when its main process ends go on running
    python: Optional[str] = None
    """An interpreter (path or name) for ``.py`` scripts; with ``requirements:``, a minor version such as ``"3.11"``
    (or the interpreter the environment is built from)."""
    venv: Optional[str] = None
    requirements: Optional[Union[str, list[str]]] = None
    """A requirements file (next to the workflow file) or a list of requirement lines: the job runs in an
    environment with exactly these, built once on its host (docs/environments.md)."""
    conda: Optional[str] = None
    """An existing conda environment (a name or a folder) or an ``environment.yml`` to build on the host."""
    inputs: list[str] = Field(default_factory=list)
    outputs: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    label: Optional[str] = None
    cache: Optional[Union[bool, str]] = None   # up-to-date check: true, or a key string (None: the workflow's)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = name_problem(value, "job")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("cache", mode="before")
    @classmethod
    def _cache(cls, value: Any) -> Any:
        return check_cache_setting(value)

    @field_validator("timeout", "retry_delay", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    @field_validator("args", mode="before")
    @classmethod
    def _args(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("function"):
            return list(value) if isinstance(value, tuple) else value  # a function's arguments keep their types
        if isinstance(value, str):
            import shlex

            return shlex.split(value)
        if isinstance(value, (list, tuple)):
            value = [str(v) if isinstance(v, (int, float)) else v for v in value]
            if not all(isinstance(v, str) for v in value):
                raise ValueError("the arguments of a script are strings or numbers")
        return value

    @field_validator("python", mode="before")
    @classmethod
    def _python(cls, value: Any) -> Any:
        if isinstance(value, float):  # YAML reads python: 3.11 as a number (and 3.10 as 3.1)
            text = f"{value:g}"
            return "3.10" if text == "3.1" else text
        return value

    @field_validator("requirements", mode="before")
    @classmethod
    def _requirements(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) for v in value]
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = {str(k): ("" if v is None else str(v)) for k, v in value.items()}
            for key, text in value.items():
                if not key or "=" in key or "\0" in key:
                    raise ValueError(f"{key!r} is not an environment variable name (it may not be empty or hold "
                                     "'=')")
                if "\0" in text:
                    raise ValueError(f"the value of {key} holds a NUL character")
        return value

    @model_validator(mode="after")
    def _one_payload(self) -> "JobSpec":
        given = [f for f in ("script", "notebook", "command", "function") if getattr(self, f)]
        if len(given) > 1:
            raise ValueError(f"give only one of script, notebook, command, function (got {', '.join(given)})")
        if not given:
            raise ValueError("say what the job runs: give one of script, notebook, command or function")
        if self.kwargs and not self.function:
            raise ValueError("kwargs are the keyword arguments of a function: give function too")
        if self.function and not self.call_file:
            if ":" not in self.function:
                raise ValueError(f"function '{self.function}' is not 'module:name' (e.g. analytics.models:train)")
            for value in (*self.args, *self.kwargs.values()):   # {result_of: prep} makes prep a parent
                if isinstance(value, dict) and set(value) == {"result_of"} and value["result_of"] not in self.depends:
                    self.depends.append(str(value["result_of"]))
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError("timeout must be more than 0 seconds")
        self._environment_fields()
        return self

    def _environment_fields(self) -> None:
        from cc_core.environments.spec import is_python_version

        if self.requirements is not None and self.conda:
            raise ValueError("give either requirements: (a virtual environment) or conda:, not both")
        if (self.requirements is not None or self.conda) and self.venv:
            raise ValueError("venv: names an environment of its own; leave it out when giving requirements: "
                             "or conda:")
        if self.conda and self.python:
            raise ValueError("a conda environment brings its own Python; leave python: out")
        if is_python_version(self.python) and self.requirements is None:
            raise ValueError(f"python: '{self.python}' asks for a Python version, which cc can only provide in an "
                             "environment it builds: give requirements: too (a list may be empty), or give "
                             "python: an interpreter path")
        if self.notebook and (self.requirements is not None or self.conda):
            raise ValueError("a notebook runs in its kernel: requirements: and conda: apply to scripts and "
                             "commands")

    @property
    def payload(self) -> str:
        """What runs: the script, notebook or command text."""
        return self.script or self.notebook or self.command or self.function or ""

    @property
    def is_local_host(self) -> bool:
        return self.host in LOCAL_HOSTS


StrictPositive = Annotated[int, Field(strict=True, ge=1)]   # a limit of 0 would wait for ever


class Limits(BaseModel):
    """How many jobs may run at once: overall, per host and per job kind."""

    model_config = ConfigDict(extra="forbid")

    max_parallel: Optional[StrictPositive] = None
    hosts: dict[str, StrictPositive] = Field(default_factory=dict)
    kinds: dict[str, StrictPositive] = Field(default_factory=dict)


class WorkflowSpec(BaseModel):
    """A workflow: named jobs and the dependencies between them."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    jobs: dict[str, JobSpec] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    colors: dict[str, str] = Field(default_factory=dict)
    cache: Optional[Union[bool, str]] = None   # for every job that does not say otherwise
    workflow_dir: Optional[str] = Field(default=None, exclude=True)
    source: Optional[str] = Field(default=None, exclude=True)
    _locations: Any = PrivateAttr(default=None)
    _directory: Any = PrivateAttr(default=None)   # (workflow_dir, cwd if relative, resolved)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = name_problem(value, "workflow")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("cache", mode="before")
    @classmethod
    def _cache(cls, value: Any) -> Any:
        return check_cache_setting(value)

    def cache_of(self, job: JobSpec) -> Union[bool, str]:
        """The job's cache setting: its own, else the workflow's; ``False`` when neither says."""
        setting = job.cache if job.cache is not None else self.cache
        return False if setting is None else setting

    @property
    def directory(self) -> Path:
        """The folder the workflow's relative paths start from, resolved (and remembered: the engine asks for it
        for every job it starts)."""
        raw = self.workflow_dir or "."
        cwd = None if os.path.isabs(raw) else os.getcwd()
        cached = self._directory
        if cached is not None and cached[0] == raw and cached[1] == cwd:
            return cached[2]
        resolved = Path(raw).resolve()
        self._directory = (raw, cwd, resolved)
        return resolved

    def edges(self) -> list[tuple[str, str]]:
        return [(parent, job.name) for job in self.jobs.values() for parent in job.depends]

    def to_data(self) -> dict[str, Any]:
        """A plain-data form (what YAML save writes): defaults left out, dependencies kept per job."""
        jobs: dict[str, Any] = {}
        for name, job in self.jobs.items():
            data = job.model_dump(exclude_defaults=True, exclude={"name"})
            data.setdefault("kind", job.kind)
            jobs[name] = data
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        limits = self.limits.model_dump(exclude_defaults=True)
        if limits:
            out["limits"] = limits
        if self.colors:
            out["colors"] = dict(self.colors)
        if self.cache is not None:
            out["cache"] = self.cache
        out["jobs"] = jobs
        return out
