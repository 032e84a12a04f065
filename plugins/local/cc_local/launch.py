"""What to execute for a job: the command line and process options, per platform, as pure functions.

On POSIX every job runs under ``/bin/sh`` with a two-line prologue: it writes its pid to a file and, through an
EXIT trap, its exit code to another, so a job that ends while nobody watches still leaves its exit code. On
Windows the same is done by a tiny ``cmd.exe`` wrapper, and the process gets its own process group.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from cc_core.plugins.jobtype import Launch


@dataclass(frozen=True)
class ProcessPlan:
    argv: list[str]
    cwd: str
    env: dict[str, str]
    pid_file: str
    exit_file: str
    new_session: bool = True           # POSIX: own session and process group
    creation_flags: int = 0            # Windows: CREATE_NEW_PROCESS_GROUP
    notes: list[str] = field(default_factory=list)


def attempt_files(job_dir: Path, attempt: int) -> tuple[Path, Path]:
    return job_dir / f".attempt{attempt}.pid", job_dir / f".attempt{attempt}.exit"


def python_for(launch: Launch, platform: str = sys.platform) -> str:
    job = launch.job
    if job.python:
        return job.python
    if job.venv:
        venv = Path(os.path.expanduser(job.venv))
        return str(venv / ("Scripts/python.exe" if platform == "win32" else "bin/python"))
    return sys.executable


def job_argv(launch: Launch, platform: str = sys.platform) -> list[str]:
    """The job's own command line (without the wrapper); a command becomes a shell command."""
    job = launch.job
    if job.command:
        return ["cmd.exe", "/d", "/s", "/c", job.command] if platform == "win32" else ["/bin/sh", "-c", job.command]
    script = launch.script_path()
    assert script is not None
    if job.notebook:
        import json

        return [python_for(launch, platform), "-m", "cc_local.notebook", str(script),
                str(launch.job_dir / f"{script.stem}.out.ipynb"), json.dumps(job.parameters)]
    suffix = script.suffix.lower()
    if suffix == ".py":
        return [python_for(launch, platform), str(script), *job.args]
    if suffix in (".sh", ".bash"):
        shell = "bash" if platform != "win32" else "bash.exe"
        return [shell, str(script), *job.args]
    if platform == "win32" and suffix in (".bat", ".cmd"):
        return ["cmd.exe", "/d", "/c", str(script), *job.args]
    if platform == "win32" and suffix == ".ps1":
        return ["powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", str(script), *job.args]
    return [str(script), *job.args]


_snapshot: Optional[tuple[dict[bytes, bytes], dict[str, str]]] = None


def _environment() -> dict[str, str]:
    """A copy of ``os.environ`` as it is now. Copying it decodes every variable again; the decoded copy is kept
    and reused for as long as the process's environment is unchanged (a comparison of the raw bytes)."""
    global _snapshot
    raw = getattr(os.environ, "_data", None)
    if not isinstance(raw, dict):
        return dict(os.environ)
    snapshot = _snapshot
    if snapshot is None or snapshot[0] != raw:
        snapshot = _snapshot = (dict(raw), dict(os.environ))
    return dict(snapshot[1])


def plan_process(launch: Launch, base_env: Optional[Mapping[str, str]] = None,
                 platform: str = sys.platform) -> ProcessPlan:
    job = launch.job
    pid_file, exit_file = attempt_files(launch.job_dir, launch.attempt)
    env = _environment() if base_env is None else dict(base_env)
    env.update(launch.env)
    env["CC_PID_FILE"] = str(pid_file)
    env["CC_EXIT_FILE"] = str(exit_file)
    cwd = os.path.expanduser(job.workdir) if job.workdir else str(launch.job_dir)
    if not os.path.isabs(cwd):
        cwd = str(launch.workflow_dir / cwd)
    if platform == "win32":
        inner = " ".join(_quote_windows(a) for a in job_argv(launch, platform))
        # cmd.exe expands %ERRORLEVEL% late only through 'call'; the runner writes the pid file itself.
        script = f'{inner} & call echo %^ERRORLEVEL%> "%CC_EXIT_FILE%"'
        return ProcessPlan(["cmd.exe", "/d", "/s", "/c", script], cwd, env, str(pid_file), str(exit_file),
                           new_session=False, creation_flags=0x00000200)
    prologue = "echo $$ >\"$CC_PID_FILE\"; trap 'echo $? >\"$CC_EXIT_FILE\"' EXIT\n"
    if job.command:
        argv = ["/bin/sh", "-c", prologue + job.command]
    else:
        argv = ["/bin/sh", "-c", prologue + '"$@"', "sh", *job_argv(launch, platform)]
    return ProcessPlan(argv, cwd, env, str(pid_file), str(exit_file))


def _quote_windows(arg: str) -> str:
    if arg and not any(c in arg for c in ' \t"&|<>^'):
        return arg
    return '"' + arg.replace('"', '""') + '"'


def describe(plan: ProcessPlan) -> str:
    return "cd " + shlex.quote(plan.cwd) + " && " + " ".join(shlex.quote(a) for a in plan.argv)
