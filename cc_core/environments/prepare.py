"""Check or build the environment of one job on its host, and run the job with it.

:func:`find_known` answers from this machine's disk without starting anything when the cache is here (the cached
check costs a file lookup); :func:`ensure` runs the driver on the host (one command: check, or wait for the lock
and build). :func:`with_environment` gives the job's launch the environment's Python.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from cc_core.environments.host import EnvironmentHost
from cc_core.environments.spec import EnvironmentSpec
from cc_core.plugins.jobtype import Launch

ENVIRONMENT_LOG = "environment.log"


@dataclass(frozen=True)
class Environment:
    """An environment ready on a host."""

    name: str        # its folder's name in the cache (or the conda environment's name)
    folder: str      # on the host
    python: str      # its Python, on the host
    host: str
    built: bool = False   # this call built it


@dataclass(frozen=True)
class Outcome:
    """What preparing gave: the environment, or why not; and what the installer printed."""

    environment: Optional[Environment]
    error: Optional[str] = None
    output: str = ""


def find_known(host: EnvironmentHost, spec: EnvironmentSpec) -> Optional[Environment]:
    """The environment when it is already built and its cache is on this machine's disk, else ``None``."""
    if host.local_root is None or sys.platform == "win32" or host.python != sys.executable:
        return None
    from cc_core.environments import driver

    if spec.kind == "conda":
        try:
            prefix = driver.conda_prefix(spec.conda or "", host.conda_roots)
        except driver.Failed:
            return None
        return Environment(spec.conda or "", prefix, str(Path(prefix) / "bin" / "python"), host.label)
    if spec.kind == "pip" and spec.python and not spec.python.replace(".", "").isdigit():
        return None   # an interpreter path: only running it tells its version
    tag = "conda" if spec.kind == "conda-file" else (spec.python or "%d.%d" % sys.version_info[:2])
    name = driver.env_name(spec.hash, tag, driver.platform_tag())
    folder = host.local_root.expanduser() / name
    python = driver.ready_python(str(folder))
    if python is None:
        return None
    driver.touch_used(str(folder))
    return Environment(name, str(folder), python, host.label)


def ensure(host: EnvironmentHost, spec: EnvironmentSpec) -> Outcome:
    """Check the environment on its host, building it there under the host's lock when it is missing."""
    params = {"action": "ensure", "kind": spec.kind, "hash": spec.hash, "requirements": spec.requirements,
              "python": spec.python, "conda": spec.conda}
    answer, output = host.call(params)
    if answer.get("error"):
        return Outcome(None, str(answer["error"]), output)
    return Outcome(Environment(str(answer["name"]), str(answer["folder"]), str(answer["python"]), host.label,
                               bool(answer.get("built"))), None, output)


def write_log(launch: Launch, outcome: Outcome, spec: EnvironmentSpec) -> None:
    """The installer's output goes to ``environment.log`` in the job's folder, and — when the build failed, so the
    job never runs — to the job's log too."""
    if not outcome.output.strip() and outcome.environment is not None:
        return
    where = outcome.environment.host if outcome.environment else ""
    text = outcome.output if outcome.output.endswith("\n") or not outcome.output else outcome.output + "\n"
    if outcome.error:
        text += f"# cc: environment {spec.short} could not be built{' on ' + where if where else ''}: " \
                f"{outcome.error}\n"
    launch.job_dir.mkdir(parents=True, exist_ok=True)
    with open(launch.job_dir / ENVIRONMENT_LOG, "a", encoding="utf-8") as handle:
        handle.write(text)
    if outcome.error:
        with open(launch.log_path, "a", encoding="utf-8") as handle:
            handle.write(text)


def with_environment(launch: Launch, environment: Environment) -> Launch:
    """The launch as it runs in ``environment``: ``.py`` scripts with its Python, commands with its ``bin`` first on
    PATH, and ``VIRTUAL_ENV``, ``CC_PYTHON``, ``CC_ENVIRONMENT`` set."""
    job = launch.job
    bin_dir = str(Path(environment.python).parent) if "/" in environment.python else ""
    update: dict[str, object] = {"python": environment.python, "venv": None}
    if job.command and bin_dir:
        update["command"] = f"PATH={shlex.quote(bin_dir)}:\"$PATH\"; export PATH; {job.command}"
    env = dict(launch.env)
    env.update({"VIRTUAL_ENV": environment.folder, "CC_PYTHON": environment.python,
                "CC_ENVIRONMENT": environment.name})
    return dataclasses.replace(launch, job=job.model_copy(update=update), env=env)
