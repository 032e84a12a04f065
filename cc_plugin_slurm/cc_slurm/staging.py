"""A remote slurm job's files: its script and ``inputs:`` copied to the login host before ``sbatch``, its
``outputs:`` copied back into the job's local folder once it ended (the same rules as the ssh job type).

An input is a file or folder on this machine, relative to the workflow file (a glob like ``data/*.csv`` works); it
keeps its relative path in the remote job folder (an absolute one lands under its own name). An output is a path on
the cluster, relative to the job's working folder; its last part may be a glob. It lands in the job's local folder
under the same relative path. When cc runs on the login node itself, nothing is copied: the cluster sees the files.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path, PurePosixPath

from cc_core.model import JobSpec

GLOB_CHARS = "*?["


def has_glob(text: str) -> bool:
    return any(char in text for char in GLOB_CHARS)


def _local(item: str, workflow_dir: Path) -> Path:
    path = Path(os.path.expanduser(item))
    return path if path.is_absolute() else workflow_dir / path


def _name_there(item: str, local: Path, workflow_dir: Path) -> str:
    if not Path(os.path.expanduser(item)).is_absolute() and ".." not in Path(item).parts:
        try:
            return local.relative_to(workflow_dir).as_posix()
        except ValueError:
            pass
    return local.name


def input_files(job: JobSpec, workflow_dir: Path) -> list[tuple[Path, str]]:
    """``(local path, path in the remote job folder)`` for every input, globs expanded."""
    found: list[tuple[Path, str]] = []
    for item in job.inputs:
        local = _local(item, workflow_dir)
        paths = [Path(p) for p in sorted(glob.glob(str(local)))] if has_glob(item) else [local]
        found += [(path, _name_there(item, path, workflow_dir)) for path in paths]
    return found


def missing_inputs(job: JobSpec, workflow_dir: Path) -> list[str]:
    problems = []
    for item in job.inputs:
        local = _local(item, workflow_dir)
        if has_glob(item) and not glob.glob(str(local)):
            problems.append(f"input '{item}' matches no file (looked for {local})")
        elif not has_glob(item) and not local.exists():
            problems.append(f"input '{item}' does not exist (looked for {local})")
    return problems


def subfolders(names: list[str]) -> list[str]:
    """The folders inside the job folder that must exist before ``names`` are copied into it."""
    needed: set[str] = set()
    for name in names:
        parent = PurePosixPath(name).parent
        while str(parent) not in (".", "/", ""):
            needed.add(str(parent))
            parent = parent.parent
    return sorted(needed, key=lambda p: (p.count("/"), p))


def output_place(item: str) -> str:
    """Where an output lands in the job's local folder."""
    if item.startswith(("/", "~")) or ".." in item.split("/"):
        return PurePosixPath(item.rstrip("/")).name
    return item


def workdir_there(job: JobSpec, folder: str) -> str:
    """The job's working folder on the login host (``workdir:`` is relative to the job folder there)."""
    if not job.workdir:
        return folder
    if job.workdir.startswith(("/", "~")):
        return job.workdir
    return f"{folder}/{job.workdir}"
