"""The resources every job type understands, given in a job's ``options:``: ``cpus`` and ``tasks``.

``cpus: N`` is how many CPUs each of the job's processes may use. The job is told through its environment:
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` (which PyTorch, NumPy and most numeric
libraries obey) and ``CC_CPUS``. Several multi-threaded jobs on a few cores run many times faster with one thread
each than with every library's default of one thread per core. On SLURM it is also ``--cpus-per-task=N``.

``tasks: N`` is how many cooperating processes the job runs (one ``torch.distributed`` rank each, say). On SLURM it
is ``--ntasks=N`` and the job starts them with ``srun``; elsewhere the job is told ``CC_TASKS=N`` and starts them
itself. Variables the job sets in its own ``env:`` win over these.
"""

from __future__ import annotations

from typing import Any, Mapping

RESOURCE_OPTIONS = ("cpus", "tasks")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError
    number = int(value)
    if number < 1:
        raise ValueError
    return number


def resource_problems(options: Mapping[str, Any]) -> list[str]:
    """A sentence for each of ``cpus`` and ``tasks`` that is not a whole number of at least 1."""
    problems = []
    for name in RESOURCE_OPTIONS:
        if name in options and options[name] is not None:
            try:
                _count(options[name])
            except ValueError:
                problems.append(f"option '{name}' must be a whole number of at least 1, not {options[name]!r}")
    return problems


def resources(options: Mapping[str, Any]) -> dict[str, int]:
    """``{"cpus": N, "tasks": M}`` for those of them the options give (and that are valid)."""
    found = {}
    for name in RESOURCE_OPTIONS:
        if options.get(name) is not None:
            try:
                found[name] = _count(options[name])
            except ValueError:
                continue
    return found


def resource_environment(options: Mapping[str, Any]) -> dict[str, str]:
    """The environment variables that tell a job its ``cpus`` and ``tasks``."""
    given = resources(options)
    env: dict[str, str] = {}
    if "cpus" in given:
        cpus = str(given["cpus"])
        env.update({name: cpus for name in THREAD_VARIABLES})
        env["CC_CPUS"] = cpus
    if "tasks" in given:
        env["CC_TASKS"] = str(given["tasks"])
    return env


def without_resources(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options with ``cpus`` and ``tasks`` left out (for a job type's own options model)."""
    return {key: value for key, value in options.items() if key not in RESOURCE_OPTIONS}
