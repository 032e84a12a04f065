"""Jobs pending in SLURM cost the runner (almost) no CPU while they wait."""

from __future__ import annotations

import resource
import threading
import time
from pathlib import Path

import pytest

from cc_core.states import JobState, RunState
from cc_core.testing.polling import wait_for
from cc_core.testing.slurm import SlurmCluster


@pytest.fixture
def cc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cc-home"
    monkeypatch.setenv("CC_HOME", str(home))
    return home


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_pending_jobs_cost_the_runner_no_cpu(slurm_cluster: SlurmCluster, cc_home: Path, tmp_path: Path) -> None:
    from cc_core.api import Workflow

    wf = Workflow("held", directory=tmp_path)
    for name in ("one", "two"):   # held by SLURM: pending (JobHeldUser) until released
        wf.add_job(name, kind="slurm", command="true", options={"directives": ["--hold"]})
    controller = wf.start()
    try:
        wait_for(lambda: all(j.state is JobState.QUEUED and j.detail for j in controller.jobs()), timeout=30,
                 what="both jobs pending in SLURM")
        before, started = cpu_seconds(), time.monotonic()
        threading.Event().wait(3.0)   # the measuring window: the jobs stay pending meanwhile
        used, wall = cpu_seconds() - before, time.monotonic() - started
        assert {(j.state, j.detail) for j in controller.jobs()} == {(JobState.QUEUED, "JobHeldUser")}
        assert used < 0.2 * wall / 3.0, f"the runner used {used:.2f} s of CPU in {wall:.1f} s while jobs pended"
    finally:
        controller.kill()
    assert controller.wait(60) is RunState.KILLED
