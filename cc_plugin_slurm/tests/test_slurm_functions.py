"""Analytics functions on the private SLURM cluster: each call a batch job, the far-side runner started by the
batch script with the job's Python."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from cc_core.functions.process_run import forget_process_run
from cc_core.plugins.registry import reset_registry
from cc_core.testing.functions import calls_home, check_calls, check_kill_and_timeout, check_main_and_resume
from cc_core.testing.slurm import SlurmCluster


@pytest.fixture
def fields(slurm_cluster: SlurmCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("CC_HOME", str(calls_home(tmp_path / "home")))
    reset_registry()
    forget_process_run()
    yield {"kind": "slurm", "python": sys.executable,
           "options": {"partition": slurm_cluster.partition, "cpus_per_task": 1, "mem": "50M"}}
    forget_process_run()
    reset_registry()


def test_calls_on_slurm(fields: dict[str, Any]) -> None:
    check_calls(**fields)


def test_kill_and_timeout_on_slurm(fields: dict[str, Any]) -> None:
    check_kill_and_timeout(**fields)


def test_main_and_resume_on_slurm(fields: dict[str, Any], tmp_path: Path) -> None:
    check_main_and_resume(tmp_path, **fields)


def test_a_workflow_of_function_jobs_passes_return_values_on_slurm(fields: dict[str, Any]) -> None:
    from cc_core import Workflow, result

    wf = Workflow("slurm-functions")
    wf.add_job("prep", function=_numbers, args=(4,), **fields)
    wf.add_job("total", function=sum, args=(wf.result_of("prep"),), **fields)
    assert wf.run(timeout=120).value == "done"
    assert result(wf.run_id, "total") == 6


def _numbers(n: int) -> list[int]:
    return list(range(n))
