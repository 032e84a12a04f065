"""The job-type contract every job type meets (submit, status, progress, log, kill, failure), on real SLURM."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_core.plugins.jobtype import JobTypeContext
from cc_core.testing.contract import ContractEnv, JobTypeContract
from cc_core.testing.slurm import SlurmCluster
from cc_slurm.jobtype import SlurmJobType


class TestSlurmContract(JobTypeContract):
    @pytest.fixture
    def contract_env(self, tmp_path: Path, slurm_cluster: SlurmCluster) -> ContractEnv:
        def make() -> SlurmJobType:
            return SlurmJobType(JobTypeContext(home=tmp_path / "home"))
        return ContractEnv(job_type=make(), kind="slurm", host="localhost", workflow_dir=tmp_path / "wf",
                           run_dir=tmp_path / "run", new_job_type=make, timeout=30)
