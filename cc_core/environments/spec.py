"""What environment a job asks for, and the hash that names it.

A job asks for one with ``requirements:`` (a requirements file next to the workflow, or a list of requirement
lines), optionally ``python: "3.11"`` (a minor version) or ``python: /path/to/python`` (the interpreter to build
it from), or with ``conda:`` (the name or folder of an existing conda environment, or an ``environment.yml`` file to
build). The spec's hash covers the requirements (the file's content, not its name), the Python asked for and the
kind; the folder on the host adds the Python version and platform found there (see :mod:`.driver`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from cc_core.errors import JobTypeError

if TYPE_CHECKING:
    from cc_core.workflow.model import JobSpec

PYTHON_VERSION = re.compile(r"^\d+\.\d+$")
CONDA_FILE_SUFFIXES = (".yml", ".yaml")
SHORT = 12   # hex digits of the hash shown to users (messages, ``ccw envs``)


def is_python_version(value: Optional[str]) -> bool:
    """``"3.11"`` asks for a minor version; anything else given as ``python:`` is an interpreter."""
    return bool(value) and bool(PYTHON_VERSION.match(str(value)))


def needs_environment(job: "JobSpec") -> bool:
    return job.requirements is not None or bool(job.conda)


@dataclass(frozen=True)
class EnvironmentSpec:
    """One environment as cc builds or finds it on a host.

    ``kind`` is ``pip`` (a virtual environment with ``requirements``), ``conda-file`` (built from an
    ``environment.yml`` whose text is ``requirements``) or ``conda`` (an existing conda environment, ``conda`` names
    it; nothing is built)."""

    kind: str
    requirements: str = ""
    python: Optional[str] = None
    conda: Optional[str] = None

    @property
    def hash(self) -> str:
        data = {"kind": self.kind, "requirements": self.requirements, "python": self.python or "",
                "conda": self.conda or ""}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @property
    def short(self) -> str:
        """How messages name it: ``conda NAME`` for an existing conda environment, else the hash's first digits."""
        return f"conda {self.conda}" if self.kind == "conda" else self.hash[:SHORT]

    @classmethod
    def of(cls, job: "JobSpec", workflow_dir: Path) -> "EnvironmentSpec":
        """The environment ``job`` needs. Raises :class:`JobTypeError` when its requirements file cannot be read."""
        python = str(job.python) if job.python else None
        if job.conda:
            conda = str(job.conda)
            if conda.endswith(CONDA_FILE_SUFFIXES):
                return cls("conda-file", _read(conda, workflow_dir, job.name, "conda"), None, None)
            return cls("conda", "", None, conda)
        requirements = job.requirements
        if isinstance(requirements, str):
            text = _read(requirements, workflow_dir, job.name, "requirements")
        else:
            text = "\n".join(str(line) for line in requirements or [])
        return cls("pip", canonical_requirements(text), python)


def canonical_requirements(text: str) -> str:
    """Requirement lines without comments, blank lines and surrounding spaces, in their order (pip options such as
    ``--find-links`` depend on it)."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line:
            lines.append(line)
    return "\n".join(lines) + ("\n" if lines else "")


def _read(name: str, workflow_dir: Path, job: str, field: str) -> str:
    path = Path(os.path.expanduser(name))
    path = path if path.is_absolute() else workflow_dir / path
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobTypeError(f"{field} file '{name}' cannot be read ({exc.strerror or exc}; looked for {path})", job=job,
                      hint=f"put the file next to the workflow file, or give '{field}:' as a list") from None


def environment_hash(job: "JobSpec", workflow_dir: Path) -> Optional[str]:
    """The hash of the environment ``job`` needs (``None`` when it needs none): part of what makes a job's result
    the same as an earlier one's."""
    if not needs_environment(job):
        return None
    return EnvironmentSpec.of(job, workflow_dir).hash
