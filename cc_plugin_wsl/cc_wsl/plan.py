"""What a ``wsl`` job runs inside the distribution, worked out from its :class:`~cc_core.plugins.jobtype.Launch`.

* a command runs with ``bash -c COMMAND``; a ``.sh``/``.bash`` script with ``bash``; a ``.py`` script with
  ``python:`` (or ``venv:``/bin/python, or ``python3``); a notebook with ``python3 -m nbconvert --execute`` in the
  job's working folder, which writes the executed notebook ``NAME.out.ipynb`` into the job's folder; any other
  script is run directly.
* Script, notebook, ``workdir:``, ``python:`` and ``venv:`` may name a Windows path (translated), a path relative to
  the workflow's folder (translated too) or a Linux path (``/opt/x.sh``, ``~/bin/x.sh``), used as it is.
* The job runs in its own folder of the run unless ``workdir:`` says otherwise. Its environment is the login
  environment of the WSL user plus cc's variables (``CC_JOB_DIR`` etc. as WSL paths) and the job's ``env:``.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Optional

from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import Launch
from cc_core.workflow.model import JobSpec
from cc_wsl.path_map import PathMap
from cc_wsl.paths import PathTranslationError
from cc_wsl.wrapper import AttemptFiles, shell_path, wrapper_script

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PATH_VARIABLES = ("CC_JOB_DIR", "CC_RUN_DIR", "CC_WORKFLOW_DIR")
JOB_OPTIONS = ("distribution", "user", "automount_root", "environments", "conda_root")


@dataclass(frozen=True)
class WslTarget:
    """Where a job runs: the distribution (``None``: WSL's default) and the user (``None``: its default user)."""

    distribution: Optional[str]
    user: Optional[str]

    @classmethod
    def of(cls, job: JobSpec) -> "WslTarget":
        distribution = job.options.get("distribution")
        user = job.options.get("user") or job.user
        return cls(str(distribution) if distribution else None, str(user) if user else None)


@dataclass(frozen=True)
class WslPlan:
    target: WslTarget
    files: AttemptFiles
    job_dir: str               # the job's folder as the distribution sees it
    wrapper: str               # the wrapper's text
    payload: str
    notes: list[str] = field(default_factory=list)


def linux_location(name: str, base: Any, paths: PathMap) -> str:
    """Where ``name`` (a script, folder or program path from the workflow) is inside WSL."""
    if name.startswith("~"):
        return name
    if paths.is_host_path(name):
        return paths.to_wsl(name)
    if name.startswith("/"):
        return name  # a path inside the distribution
    if "/" not in name and "\\" not in name and base is None:
        return name  # a program found on the Linux PATH
    return paths.to_wsl(base / name) if base is not None else name


def python_for(job: JobSpec, launch: Launch, paths: PathMap) -> str:
    if job.python:
        return linux_location(job.python, launch.workflow_dir if _has_separator(job.python) else None, paths)
    if job.venv:
        return str(PurePosixPath(linux_location(job.venv, launch.workflow_dir, paths)) / "bin" / "python")
    return "python3"


def _has_separator(text: str) -> bool:
    return "/" in text or "\\" in text


def payload_for(launch: Launch, paths: PathMap, job_dir: str) -> str:
    """The job's own command line inside WSL, quoted for bash."""
    job = launch.job
    if job.command:
        return "bash -c " + shlex.quote(job.command)
    name = job.script or job.notebook or ""
    script = linux_location(name, launch.workflow_dir, paths)
    args = " ".join(shlex.quote(a) for a in job.args)
    quoted = shell_path(script)
    if job.notebook:
        stem = PurePosixPath(script).name
        stem = stem[: -len(".ipynb")] if stem.endswith(".ipynb") else stem
        python = shell_path(python_for(job, launch, paths))
        # Read from standard input, nbconvert runs the kernel in the job's working folder (not the notebook's).
        return (f"{python} -m nbconvert --to notebook --execute --stdin --output-dir {shlex.quote(job_dir)} "
                f"--output {shlex.quote(stem + '.out')} <{quoted}")
    suffix = PurePosixPath(script).suffix.lower()
    if suffix == ".py":
        line = f"{shell_path(python_for(job, launch, paths))} {quoted}"
    elif suffix in (".sh", ".bash"):
        line = f"bash {quoted}"
    else:
        line = quoted
    return f"{line} {args}".rstrip()


def environment(launch: Launch, paths: PathMap, files: dict[str, str]) -> dict[str, str]:
    """cc's variables and the job's ``env:``, with cc's folders as WSL paths."""
    env: dict[str, str] = {}
    for name, value in launch.env.items():
        if not ENV_NAME.match(name):
            continue
        if name in PATH_VARIABLES:
            try:
                value = paths.to_wsl(value)
            except PathTranslationError:
                continue  # a folder WSL cannot see (a network share): better unset than wrong
        env[name] = value
    env.update(files)
    if launch.job.parameters:
        env["CC_PARAMETERS"] = json.dumps(launch.job.parameters)
    return env


def plan_job(launch: Launch, paths: PathMap, grace: float = 3.0) -> WslPlan:
    """Everything :meth:`WSLJobType.submit` needs. Raises :class:`JobTypeError` for a path WSL cannot see."""
    job = launch.job
    target = WslTarget.of(job)
    paths = paths.for_distribution(target.distribution, job.options.get("automount_root"))
    files = AttemptFiles.of(launch.job_dir, launch.attempt)
    try:
        job_dir = paths.to_wsl(launch.job_dir)
        log = paths.to_wsl(launch.log_path)
        if job.workdir:
            workdir = linux_location(job.workdir, launch.workflow_dir, paths)
        else:
            workdir = job_dir
        payload = payload_for(launch, paths, job_dir)
        wsl_files = {"CC_PID_FILE": paths.to_wsl(files.pid), "CC_EXIT_FILE": paths.to_wsl(files.exit)}
        env = environment(launch, paths, wsl_files)
    except PathTranslationError as exc:
        raise JobTypeError(f"cannot run in WSL: {exc}", job=launch.key,
                           hint="keep the workflow, its scripts and CC_HOME on a local drive (C:\\...)") from None
    where = target.distribution or "the default distribution"
    title = (f"cc: job '{launch.key}', attempt {launch.attempt} of run {launch.run_id} ({launch.workflow}), "
             f"in WSL ({where})")
    wrapper = wrapper_script(title=title, pid_file=wsl_files["CC_PID_FILE"], end_file=paths.to_wsl(files.end),
                             exit_file=wsl_files["CC_EXIT_FILE"], log=log, workdir=workdir, env=env,
                             payload=payload, keep_orphans=job.keep_orphans, grace=grace)
    return WslPlan(target, files, job_dir, wrapper, payload)
