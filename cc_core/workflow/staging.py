"""Where a job's ``inputs:`` and ``outputs:`` go when its job type copies them to and from another machine.

An input is a file or folder on this machine, relative to the workflow file (a glob like ``data/*.csv`` works); it
keeps its relative path in the remote job folder (an absolute one lands under its own name). An output is a path on
the other machine, relative to the job's working folder; its last part may be a glob. It lands in the job's local
folder under the same relative path (an absolute one, or one with ``..``, under its own name). The job types that
copy (ssh, slurm through a login host) share these rules; how they copy is theirs.

An input may name a file an earlier job of the run made through cc's variables: ``$CC_RUN_DIR/prepare/data.npz``
(or ``${CC_RUN_DIR}``) is the file ``data.npz`` in job ``prepare``'s folder of this run. Such inputs are expanded
when the job starts (:func:`with_run_paths`) and checked then, not before the run.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from cc_core.workflow.model import JobSpec

GLOB_CHARS = "*?["
_CC_VARIABLE = re.compile(r"\$(?:\{(CC_[A-Z_]+)\}|(CC_[A-Z_]+))")


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


def with_run_paths(job: JobSpec, env: Mapping[str, str]) -> JobSpec:
    """The job with cc's variables (``$CC_RUN_DIR``, ``${CC_JOB_DIR}``, ...) in its inputs replaced by their values
    in ``env``; the job itself when no input names one."""
    if not any("$" in item for item in job.inputs):
        return job

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    return job.model_copy(update={"inputs": [_CC_VARIABLE.sub(value, item) for item in job.inputs]})


def missing_inputs(job: JobSpec, workflow_dir: Path) -> list[str]:
    """A sentence for each input that does not exist (or whose glob matches nothing). Inputs that name cc's
    variables are left out: they are only known when the job starts."""
    problems = []
    for item in job.inputs:
        if _CC_VARIABLE.search(item):
            continue
        local = _local(item, workflow_dir)
        if has_glob(item) and not glob.glob(str(local)):
            problems.append(f"input '{item}' matches no file (looked for {local})")
        elif not has_glob(item) and not local.exists():
            problems.append(f"input '{item}' does not exist (looked for {local})")
    return problems


def subfolders(names: Iterable[str]) -> list[str]:
    """The folders inside the job folder that must exist before ``names`` are copied into it, parents first."""
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
