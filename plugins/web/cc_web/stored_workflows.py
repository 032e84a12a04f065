"""Stored workflows: validating an upload, keeping its scripts under ``$CC_HOME/workflows/NAME``, and editing
jobs and dependencies of a stored workflow."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Callable, Optional, Sequence

from cc_core.workflow.dag import dependency_problems
from cc_core.errors import JobNotFoundError, Problem, WorkflowError
from cc_core.home import cc_home
from cc_core.workflow.model import JOB_NAME, JobSpec, WorkflowSpec
from cc_core.store.base import StatusStore, StoredWorkflow
from cc_core.workflow.file import dump_workflow, load_workflow_text, locations_of

FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$")
_edit_lock = threading.Lock()


def workflow_dir(name: str) -> Path:
    """Where an uploaded workflow's scripts live: inside cc's state directory, never elsewhere."""
    if not JOB_NAME.match(name) or name in (".", ".."):
        raise WorkflowError([Problem(f"'{name}' is not a workflow name: use letters, digits, '_', '-' and '.'",
                                     field="name")])
    return cc_home() / "workflows" / name


def check_name(name: Optional[str]) -> None:
    if name is not None and (not JOB_NAME.match(name) or name in (".", "..")):
        raise WorkflowError([Problem(f"'{name}' is not a workflow name: use letters, digits, '_', '-' and '.'",
                                     field="name")])


def validate_text(text: str, name: Optional[str], default_name: Optional[str] = None,
                  directory: Optional[Path] = None) -> WorkflowSpec:
    """The workflow in ``text``, or :class:`WorkflowError` listing every problem (job, field, line).

    ``name`` overrides the YAML's ``name:``; ``default_name`` is used when the YAML has none."""
    check_name(name)
    spec = load_workflow_text(text, name=name or default_name, directory=directory)
    if name:
        spec.name = name
    check_name(spec.name)
    check_workflow(spec)
    return spec


def check_workflow(spec: WorkflowSpec) -> None:
    problems = dependency_problems(spec.jobs, locations_of(spec))
    problems.extend(_kind_problems(spec))
    if problems:
        raise WorkflowError(problems)


def _kind_problems(spec: WorkflowSpec) -> list[Problem]:
    from cc_core.plugins.registry import get_registry

    known = get_registry().job_types.names()
    locations = locations_of(spec)
    return [locations.problem(f"no job type named '{job.kind}' is installed (installed: {', '.join(known) or 'none'})",
                              job=job.name, field_name="kind")
            for job in spec.jobs.values() if job.kind not in known]


_summaries: dict[str, tuple[float, str, int]] = {}


def summary_of(stored: StoredWorkflow) -> tuple[str, int]:
    """The description and the number of jobs of a stored workflow (remembered until it changes)."""
    known = _summaries.get(stored.name)
    if known is not None and known[0] == stored.updated:
        return known[1], known[2]
    try:
        spec = load_stored(stored)
        description, count = spec.description, len(spec.jobs)
    except WorkflowError:
        description, count = "", 0
    _summaries[stored.name] = (stored.updated, description, count)
    return description, count


def load_stored(stored: StoredWorkflow) -> WorkflowSpec:
    spec = load_workflow_text(stored.text, name=stored.name, directory=Path(stored.directory))
    spec.name = stored.name
    return spec


def save_upload(store: StatusStore, text: str, name: Optional[str], files: dict[str, bytes],
                default_name: Optional[str] = None) -> StoredWorkflow:
    """Validate and store a workflow (replacing one of the same name) with its script files."""
    spec = validate_text(text, name, default_name)
    directory = workflow_dir(spec.name)
    for file_name in files:
        if not FILE_NAME.match(file_name):
            raise WorkflowError([Problem(f"'{file_name}' is not a file name cc accepts: use letters, digits, '_', "
                                         "'-' and '.'", field="scripts")])
    _make_own_folder(directory)
    for file_name, data in files.items():
        write_inside(directory, file_name, data, 0o755 if file_name.endswith((".sh", ".bash", ".py")) else 0o644)
    return store.save_workflow(spec.name, text, str(directory))


def script_files(parts: Sequence[tuple[str, bytes]]) -> dict[str, bytes]:
    """Uploaded scripts by their base name; two with one name are refused rather than one silently winning."""
    files: dict[str, bytes] = {}
    for file_name, data in parts:
        base = Path(file_name).name
        if base in files:
            raise WorkflowError([Problem(f"two uploaded scripts are named '{base}': each needs a name of its own",
                                         field="scripts")])
        files[base] = data
    return files


def _make_own_folder(directory: Path) -> None:
    """Create the workflow's folder; refuse when it, or ``workflows`` above it, is a symbolic link (a write
    through it would land outside cc's state directory)."""
    for folder in (directory.parent, directory):
        if folder.is_symlink():
            raise WorkflowError([Problem(f"{folder} is a symbolic link; uploads are only written into a real "
                                         "folder of cc's state directory", field="name")])
        folder.mkdir(exist_ok=True, parents=folder == directory.parent)


def write_inside(directory: Path, file_name: str, data: bytes, mode: int) -> None:
    """Write ``directory/file_name`` without following any symbolic link: the data goes to a new file in the folder
    (opened relative to the folder, which is opened without following a link) and is renamed over the name, so a
    link already there is replaced, never written through."""
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    folder = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | nofollow)
    temporary = f".{file_name}.{os.getpid()}.{threading.get_ident()}.upload"
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | nofollow, mode, dir_fd=folder)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode, dir_fd=folder)
        try:
            os.replace(temporary, file_name, src_dir_fd=folder, dst_dir_fd=folder)
        except IsADirectoryError:
            os.unlink(temporary, dir_fd=folder)
            raise WorkflowError([Problem(f"'{file_name}' is a folder in {directory}; a script cannot replace it",
                                         field="scripts")]) from None
    finally:
        os.close(folder)


def edit(store: StatusStore, name: str, change: Callable[[WorkflowSpec], None]) -> WorkflowSpec:
    """Apply ``change`` to a stored workflow, check it and store it again (as cc's YAML)."""
    with _edit_lock:
        stored = store.get_workflow(name)
        spec = load_stored(stored)
        change(spec)
        try:
            check_workflow(spec)
        except WorkflowError as exc:  # lines refer to the old text; the job and field still locate each problem
            raise WorkflowError([Problem(p.message, job=p.job, field=p.field) for p in exc.problems]) from None
        store.save_workflow(name, dump_workflow(spec), stored.directory)
        return spec


def add_job(spec: WorkflowSpec, job: JobSpec) -> None:
    if job.name in spec.jobs:
        raise WorkflowError([Problem(f"the workflow already has a job named '{job.name}'", job=job.name,
                                     field="name")])
    spec.jobs[job.name] = job


def get_job(spec: WorkflowSpec, name: str) -> JobSpec:
    try:
        return spec.jobs[name]
    except KeyError:
        raise JobNotFoundError(f"workflow '{spec.name}' has no job '{name}'",
                               hint=f"its jobs: {', '.join(list(spec.jobs)[:10]) or 'none'}") from None


def remove_job(spec: WorkflowSpec, name: str) -> None:
    """Remove a job and every dependency on it."""
    get_job(spec, name)
    del spec.jobs[name]
    for job in spec.jobs.values():
        if name in job.depends:
            job.depends = [d for d in job.depends if d != name]


def add_dependency(spec: WorkflowSpec, parent: str, child: str) -> None:
    missing = [name for name in (parent, child) if name not in spec.jobs]
    if missing:
        raise WorkflowError([Problem(f"'{name}' is not a job of workflow '{spec.name}'", job=name,
                                     field="parent" if name == parent else "child") for name in missing])
    job = spec.jobs[child]
    if parent not in job.depends:
        job.depends = [*job.depends, parent]


def remove_dependency(spec: WorkflowSpec, parent: str, child: str) -> None:
    job = get_job(spec, child)
    if parent not in job.depends:
        raise JobNotFoundError(f"job '{child}' of workflow '{spec.name}' does not depend on '{parent}'",
                               hint=f"it depends on: {', '.join(job.depends) or 'nothing'}")
    job.depends = [d for d in job.depends if d != parent]
