"""How cc reaches the host where a job runs, to check or build its environment there.

A job type answers :meth:`cc_core.plugins.jobtype.JobType.environment_host` with an :class:`EnvironmentHost`: a
label for messages, the cache folder on that host, and a way to run one shell command there and get its exit code
and output. The default (this machine) is :class:`LocalEnvironmentHost`; the ssh job type gives its pooled
connection, the slurm job type its login host (the cluster's shared file system), the wsl job type ``wsl.exe``.
Everything else — the lock, the build, the record — is the same :mod:`cc_core.environments.driver` program on every
host, sent in that one command.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from cc_core.errors import JobTypeError

DEFAULT_ROOT = "~/.cc/envs"
"""The cache folder on a remote host unless configured (the ``environments`` option)."""
BUILD_TIMEOUT = 3600.0
_DRIVER_SOURCE: Optional[str] = None


@dataclass(frozen=True)
class ShellOutput:
    exit_code: int
    stdout: str
    stderr: str


def driver_source() -> str:
    global _DRIVER_SOURCE
    if _DRIVER_SOURCE is None:
        _DRIVER_SOURCE = (Path(__file__).parent / "driver.py").read_text(encoding="utf-8")
    return _DRIVER_SOURCE


def driver_command(params: Mapping[str, Any], python: str = "python3") -> str:
    """One ``sh`` command that runs the driver with ``params`` on the host, with its Python (``python3``, else
    ``python``)."""
    source = driver_source().replace('if __name__ == "__main__":', "if False:")
    program = source + "\nmain(json.loads(" + repr(json.dumps(dict(params))) + "))\n"
    marker = "CC_ENV_DRIVER_END"
    starter = shlex.quote(python) if python != "python3" else \
        'PY=$(command -v python3 || command -v python) || { echo "no python3 on PATH" >&2; exit 127; }; "$PY"'
    return f"{starter} - <<'{marker}'\n{program}{marker}\n"


class EnvironmentHost(ABC):
    """A host as the environment step sees it."""

    label: str
    root: str
    """The environment cache folder there (``~/`` is the home folder there)."""
    local_root: Optional[Path] = None
    """The same folder as a path on this machine, when it is on this machine's disk: a known environment is then
    found with a file lookup, without starting anything."""
    python: str = "python3"
    """The Python that runs the driver there (and is the base of environments that ask for no version)."""
    conda_roots: tuple[str, ...] = ()

    @abstractmethod
    def run(self, command: str, timeout: float) -> ShellOutput:
        """Run one ``sh`` command line there. Raise :class:`JobTypeError` when it could not be run at all."""

    def cancel(self) -> None:
        """Stop the commands still running there (the run ended while a build went on). A build stopped half-way
        leaves a folder without a record, which is never used and is removed by the next build."""

    @property
    def identity(self) -> tuple[str, str]:
        """Two jobs whose hosts have the same identity share environments."""
        return (self.label, self.root)

    def call(self, params: Mapping[str, Any], timeout: float = BUILD_TIMEOUT) -> tuple[dict[str, Any], str]:
        """Run the driver with ``params``; its answer and everything it printed before (the installer's output)."""
        full = {"root": self.root, "conda_roots": list(self.conda_roots), **params}
        out = self.run(driver_command(full, self.python), timeout)
        text = out.stdout
        marker = text.rfind("\nCC-ENV-RESULT ")
        if marker < 0:
            said = (out.stderr.strip() or text.strip())[-2000:] or f"exit code {out.exit_code}"
            return {"error": f"the environment program did not run there: {said}"}, text + out.stderr
        answer = json.loads(text[marker + len("\nCC-ENV-RESULT "):].strip().splitlines()[0])
        return answer, text[:marker] + out.stderr


class LocalEnvironmentHost(EnvironmentHost):
    """This machine: the driver runs under cc's own Python, so an environment that asks for no Python version gets
    the one cc runs with."""

    label = "localhost"

    def __init__(self, root: Path, conda_roots: tuple[str, ...] = ()) -> None:
        self.root = str(root)
        self.local_root = root
        self.python = sys.executable
        self.conda_roots = conda_roots
        self._running: set[subprocess.Popen[str]] = set()

    def run(self, command: str, timeout: float) -> ShellOutput:
        try:
            process = subprocess.Popen(["/bin/sh", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL, text=True, encoding="utf-8", errors="replace",
                                       start_new_session=True)
        except OSError as exc:
            raise JobTypeError(f"cannot start /bin/sh: {exc}", host=self.label) from None
        self._running.add(process)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._stop(process)
            raise JobTypeError(f"building an environment took longer than {timeout:g} s", host=self.label) from None
        finally:
            self._running.discard(process)
        return ShellOutput(process.returncode, stdout, stderr)

    def cancel(self) -> None:
        for process in list(self._running):
            self._stop(process)

    @staticmethod
    def _stop(process: "subprocess.Popen[str]") -> None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError, OSError):
            pass


class ShellEnvironmentHost(EnvironmentHost):
    """Any host a job type can run a shell command on: ``run(command, timeout) -> (exit code, stdout, stderr)``."""

    def __init__(self, label: str, root: str, run: Callable[[str, float], tuple[int, str, str]],
                 conda_roots: tuple[str, ...] = (), local_root: Optional[Path] = None,
                 python: str = "python3") -> None:
        self.label = label
        self.root = root
        self._run = run
        self.conda_roots = conda_roots
        self.local_root = local_root
        self.python = python

    def run(self, command: str, timeout: float) -> ShellOutput:
        code, stdout, stderr = self._run(command, timeout)
        return ShellOutput(code, stdout, stderr)


def root_option(options: Mapping[str, Any], job_options: Mapping[str, Any], default: str,
                host: Optional[str] = None, home: Optional[Path] = None) -> str:
    """The cache folder for a job: its ``options: {environments: ...}``, else the settings file's
    ``environments: {HOST: folder}``, else the job type's option ``environments``, else ``default``."""
    if job_options.get("environments"):
        return str(job_options["environments"])
    if host is not None:
        from cc_core.settings import load_settings

        per_host = load_settings(home).get("environments") or {}
        if isinstance(per_host, dict) and per_host.get(host):
            return str(per_host[host])
    if options.get("environments"):
        return str(options["environments"])
    return default


def conda_roots_option(options: Mapping[str, Any], job_options: Mapping[str, Any]) -> tuple[str, ...]:
    """Where conda installations are looked for first (option ``conda_root``: one folder or a list)."""
    value = job_options.get("conda_root") or options.get("conda_root")
    if not value:
        return ()
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else (str(value),)
