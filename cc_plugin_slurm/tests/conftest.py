from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from cc_core.plugins.jobtype import ActiveJob, JobTypeContext, JobUpdate
from cc_core.testing.contract import ContractEnv, Harness
from cc_core.testing.slurm import SlurmCluster
from cc_slurm.jobtype import SlurmJobType


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """One SLURM cluster for the whole session; SLURM clients of this process (and of cc) find it through
    SLURM_CONF."""
    cluster = SlurmCluster(cpus=8)  # many small jobs side by side on a small machine
    cluster.start()
    saved = {name: os.environ.get(name) for name in ("SLURM_CONF",)}
    os.environ["SLURM_CONF"] = str(cluster.conf_path)
    try:
        yield cluster
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        cluster.stop()


@pytest.fixture
def job_type(tmp_path: Path) -> Iterator[SlurmJobType]:
    jt = SlurmJobType(JobTypeContext(home=tmp_path / "home"))
    yield jt
    jt.stop()


@pytest.fixture
def harness(slurm_cluster: SlurmCluster, job_type: SlurmJobType, tmp_path: Path) -> Iterator[Harness]:
    env = ContractEnv(job_type=job_type, kind="slurm", host="localhost", workflow_dir=tmp_path / "wf",
                      run_dir=tmp_path / "run", timeout=30)
    env.workflow_dir.mkdir(parents=True, exist_ok=True)
    env.run_dir.mkdir(parents=True, exist_ok=True)
    yield Harness(env)


def follow_jobs(job_type: SlurmJobType, actives: list[ActiveJob], timeout: float = 30,
           seen: list[JobUpdate] | None = None) -> dict[str, JobUpdate]:
    """Check all jobs together, as the engine does, until every one ended; returns each job's last update."""
    ended: dict[str, JobUpdate] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(actives):
        assert time.monotonic() < deadline, f"jobs still going after {timeout} s: " \
            f"{sorted(a.key for a in actives if a.key not in ended)}"
        for update in job_type.check([a for a in actives if a.key not in ended]):
            if seen is not None:
                seen.append(update)
            if update.state.is_final:
                ended[update.key] = update
        time.sleep(0.1)
    return ended


@pytest.fixture
def follow() -> Any:
    """``follow(job_type, actives, timeout=30)``: check all jobs together until each ended; each job's end."""
    return follow_jobs
