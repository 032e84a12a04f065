"""A function job as the job types see it: the far-side runner as its script, the payload as an input, the
result as an output. Every job type that runs a ``.py`` script with its ``python:``/``venv:`` and stages
``inputs:``/``outputs:`` (local, ssh, slurm, wsl, and third-party ones) thereby runs function calls too.

The engine asks for two things: :func:`runnable` (pure: the script form of a function job, for submitting and
following it) and :func:`prepare` (before each submit: the payload written into the job's folder, with the return
values of the parents it names filled in).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Optional

from cc_core.errors import CCError
from cc_core.functions.payload import (PAYLOAD_NAME, RESULT_NAME, ResultOf, read_header, read_outcome,
                                       read_payload, write_payload)
from cc_core.workflow.model import JobSpec

RUNNER = Path(__file__).with_name("remote.py")
_KEEP_OUT = {"function", "call_file", "args", "kwargs", "script", "notebook", "command", "inputs", "outputs"}


def module_files(ref: str, workflow_dir: Path) -> list[str]:
    """The module (file or package folder) of an import path when it lies next to the workflow file."""
    top = ref.partition(":")[0].split(".")[0]
    for name in (top, f"{top}.py"):
        if (workflow_dir / name).exists():
            return [name]
    return []


def runnable(spec: JobSpec, job_dir: Path, workflow_dir: Path) -> JobSpec:
    """The script job that runs the call ``spec`` describes."""
    fields = spec.model_dump(exclude=_KEEP_OUT)
    folders = os.pathsep.join([str(job_dir), str(workflow_dir)])
    modules = module_files(spec.function, workflow_dir) if spec.function and not spec.call_file else []
    if isinstance(fields.get("requirements"), list):
        fields["requirements"] = with_cloudpickle(fields["requirements"])
    return JobSpec(**fields, script=str(RUNNER), args=[PAYLOAD_NAME, RESULT_NAME, folders],
                   inputs=[str(job_dir / PAYLOAD_NAME), *modules, *spec.inputs],
                   outputs=[RESULT_NAME, *spec.outputs])


def with_cloudpickle(requirements: list[str]) -> list[str]:
    """A function's environment gets cloudpickle in the caller's version, unless its requirements name it."""
    import re

    if any(re.match(r"^\s*cloudpickle\b", line, re.IGNORECASE) for line in requirements):
        return requirements
    from cc_core.environments.functions import extra_requirements_for_functions

    return [*requirements, *extra_requirements_for_functions()]


def prepare(spec: JobSpec, job_dir: Path, workflow_dir: Path, run_dir: Path) -> None:
    """Write the call's payload into ``job_dir`` (raises :class:`CCError` when a parent's value is missing)."""
    target = job_dir / PAYLOAD_NAME
    job_dir.mkdir(parents=True, exist_ok=True)
    if spec.call_file:
        source = Path(os.path.expanduser(spec.call_file))
        source = source if source.is_absolute() else workflow_dir / source
        try:
            header = read_header(source)
        except (OSError, ValueError) as exc:
            raise CCError(f"the call's payload {source} cannot be read ({exc})") from None
        if not header.get("results_of"):
            if source.resolve() != target.resolve():
                _link(source, target)
            return
        _, call = read_payload(source)
        write_payload(target, function=call["function"], ref=call["ref"],
                      args=[_filled(v, run_dir) for v in call["args"]],
                      kwargs={k: _filled(v, run_dir) for k, v in call["kwargs"].items()}, name=header.get("name", ""))
        return
    assert spec.function
    write_payload(target, ref=spec.function, args=[_filled(_marker(v), run_dir) for v in spec.args],
                  kwargs={k: _filled(_marker(v), run_dir) for k, v in spec.kwargs.items()})


def _marker(value: Any) -> Any:
    """``{result_of: prep}`` in a workflow file names a parent's return value."""
    if isinstance(value, dict) and set(value) == {"result_of"}:
        return ResultOf(str(value["result_of"]))
    return value


def _filled(value: Any, run_dir: Path) -> Any:
    if not isinstance(value, ResultOf):
        return value
    outcome = read_outcome(run_dir / value.job / RESULT_NAME)
    if outcome is None or not outcome.ok:
        raise CCError(f"job '{value.job}' left no return value to pass on",
                      hint=f"it must be a function job that returned; see {run_dir / value.job}")
    return outcome.value()


def _link(source: Path, target: Path) -> None:
    try:
        if target.exists():
            target.unlink()
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)



def call_identity(spec: JobSpec, workflow_dir: Path) -> Optional[str]:
    """The cache key part ``call`` of a function job: its call file's identity (function and arguments as
    pickled), or for ``function: module:name`` the content of that module when it lies next to the workflow
    file (the name and arguments are in the job's definition already)."""
    if not spec.function:
        return None
    if spec.call_file:
        from cc_core.functions.payload import call_key

        source = Path(os.path.expanduser(spec.call_file))
        try:
            return call_key(source if source.is_absolute() else workflow_dir / source)
        except (OSError, ValueError):
            return "missing"
    from cc_core.cache.key import file_digest

    return "|".join(f"{name}:{file_digest(workflow_dir / name)}" for name in module_files(spec.function, workflow_dir))


def _register() -> None:
    from cc_core.cache.key import register_key_part

    register_key_part("call", call_identity)


_register()
