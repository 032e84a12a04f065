"""What to execute for a job: the command line and process options, per platform, as pure functions.

Under a run's supervisor (Linux, :mod:`cc_local.supervisor`) a job runs as itself: the supervisor is its parent,
writes its pid into the exit-code file's second line and, when it ends, its exit code over the blanks of the first
(:mod:`cc_local.exit_file`); its environment is planned as only what cc adds to the runner's. A command that needs no shell (no quotes, variables, redirections, globs, builtins:
:func:`direct_words`) is executed directly, as make does, any other under ``/bin/sh -c``. Without a supervisor (other
POSIX systems, or when none can be started) every job runs under ``/bin/sh`` with a two-line prologue that does the
same itself: it writes its pid to a file and, through an EXIT trap, its exit code, so a job that ends while nobody
watches, even on a full disk, still leaves its exit code. On Windows the same is done by a tiny ``cmd.exe`` wrapper,
and the process gets its own process group.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional

from cc_core.plugins.jobtype import Launch
from cc_local.exit_file import SHELL_WRITE


@dataclass(frozen=True)
class ProcessPlan:
    argv: list[str]
    cwd: str
    env: dict[str, str]                # the whole environment; planned for a supervisor: only what cc adds
    pid_file: str
    exit_file: str
    new_session: bool = True           # POSIX: own session and process group
    creation_flags: int = 0            # Windows: CREATE_NEW_PROCESS_GROUP
    notes: list[str] = field(default_factory=list)
    command_line: Optional[str] = None  # Windows: the one string CreateProcess gets (built for cmd.exe's rules)

    @property
    def program(self) -> "list[str] | str":
        """What to hand to ``subprocess.Popen``: the command line string on Windows, the argument list elsewhere."""
        return self.command_line if self.command_line is not None else self.argv


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
        shell = "bash" if platform != "win32" else (windows_bash(os.environ) or "bash.exe")
        return [shell, str(script), *job.args]
    if platform == "win32" and suffix in (".bat", ".cmd"):
        return ["cmd.exe", "/d", "/c", str(script), *job.args]
    if platform == "win32" and suffix == ".ps1":
        return ["powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", str(script), *job.args]
    return [str(script), *job.args]


_INTERPRETED = {".py", ".sh", ".bash"}


def executable_problems(script: str, workflow_dir: Path, platform: str = sys.platform) -> list[str]:
    """A script that is run directly (not ``.py``/``.sh``, which get their interpreter) needs its exec bit; found
    before the run rather than when the job starts."""
    path = Path(os.path.expanduser(script))
    path = path if path.is_absolute() else workflow_dir / path
    suffix = path.suffix.lower()
    if suffix in _INTERPRETED or platform == "win32" or not path.is_file():
        return []
    if not os.access(path, os.X_OK):
        return [f"script '{script}' is not executable (it is run directly, as it is no .sh or .py): "
                f"chmod +x {path}, and give it a '#!' line"]
    return []


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


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,+=@%- \t")
# words the shell itself gives meaning to when they come first: reserved words and builtins (some have no program)
_SHELL_WORDS = frozenset(
    "! { } case do done elif else esac fi for if in then until while . : alias bg break cd command continue eval "
    "exec exit export false fc fg getopts hash jobs kill local read readonly return set shift source test times "
    "trap type ulimit umask unalias unset wait".split())


def direct_words(command: str) -> Optional[list[str]]:
    """The words of a command that means the same executed directly as under ``sh -c`` (only plain characters, a
    first word that is a program and no variable assignment), else ``None``."""
    if not command.strip() or not _PLAIN.issuperset(command):
        return None
    words = command.split()
    if words[0] in _SHELL_WORDS or "=" in words[0]:
        return None
    return words


def supervised_argv(launch: Launch) -> list[str]:
    """The command line a run's supervisor executes: the job's own, without the wrapper; a command that needs no
    shell is split into its words."""
    command = launch.job.command
    if command:
        return direct_words(command) or ["/bin/sh", "-c", command]
    return job_argv(launch)


def plan_process(launch: Launch, base_env: Optional[Mapping[str, str]] = None,
                 platform: str = sys.platform, supervised: bool = False) -> ProcessPlan:
    job = launch.job
    pid_file, exit_file = attempt_files(launch.job_dir, launch.attempt)
    # under a supervisor only what the job adds: the supervisor applies it to this process's environment
    env = {} if supervised and base_env is None else _environment() if base_env is None else dict(base_env)
    env.update(launch.env)
    env["CC_PID_FILE"] = str(pid_file)
    env["CC_EXIT_FILE"] = str(exit_file)
    cwd = os.path.expanduser(job.workdir) if job.workdir else str(launch.job_dir)
    if not os.path.isabs(cwd):
        cwd = str(launch.workflow_dir / cwd)
    if platform == "win32":
        from cc_local.windows_command import command_in_own_shell, program_line, wrapped_body, wrapped_line

        # a command is cmd syntax already (run by a cmd of its own, so that its 'exit' ends only that one); anything
        # else is a program with arguments, quoted for cmd.exe's rules. The runner writes the pid file itself.
        inner = command_in_own_shell(job.command) if job.command else program_line(job_argv(launch, platform))
        return ProcessPlan(["cmd.exe", "/d", "/s", "/c", wrapped_body(inner)], cwd, env, str(pid_file),
                           str(exit_file), new_session=False, creation_flags=_WINDOWS_FLAGS,
                           command_line=wrapped_line(inner))
    if supervised:  # the supervisor writes the pid and exit-code files itself
        return ProcessPlan(supervised_argv(launch), cwd, env, str(pid_file), str(exit_file))
    # The exit code goes over the blanks of the file prepared at launch, in place (cc_local.exit_file).
    prologue = "echo $$ >\"$CC_PID_FILE\"; trap '" + SHELL_WRITE + "' EXIT\n"
    if job.command:
        argv = ["/bin/sh", "-c", prologue + job.command]
    else:
        argv = ["/bin/sh", "-c", prologue + '"$@"', "sh", *job_argv(launch, platform)]
    return ProcessPlan(argv, cwd, env, str(pid_file), str(exit_file))


# CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW: the job has no console of its own to be closed with the terminal
# that started cc, so it outlives a detached runner; Ctrl-Break reaches its group only
_WINDOWS_FLAGS = 0x00000200 | 0x08000000


def windows_bash(environ: Mapping[str, str], is_file: Callable[[str], bool] = os.path.isfile) -> Optional[str]:
    """The bash that runs ``.sh`` jobs on Windows: ``CC_BASH``, else Git for Windows' bash, else a ``bash.exe`` on
    PATH that is not WSL's launcher (``System32\\bash.exe`` starts WSL, which cannot open a ``C:\\`` path)."""
    if environ.get("CC_BASH"):
        return environ["CC_BASH"]
    for root in ("ProgramFiles", "ProgramW6432", "ProgramFiles(x86)"):
        if environ.get(root):
            candidate = environ[root].rstrip("\\") + r"\Git\bin\bash.exe"
            if is_file(candidate):
                return candidate
    if environ.get("LOCALAPPDATA"):
        candidate = environ["LOCALAPPDATA"].rstrip("\\") + r"\Programs\Git\bin\bash.exe"
        if is_file(candidate):
            return candidate
    system = (environ.get("SystemRoot") or r"C:\Windows").rstrip("\\").lower()
    for folder in (environ.get("PATH") or "").split(";"):
        folder = folder.strip().strip('"').rstrip("\\")
        if not folder or folder.lower() in (system + r"\system32", system + r"\sysnative"):
            continue
        candidate = folder + r"\bash.exe"
        if is_file(candidate):
            return candidate
    return None


def describe(plan: ProcessPlan) -> str:
    return "cd " + shlex.quote(plan.cwd) + " && " + " ".join(shlex.quote(a) for a in plan.argv)
