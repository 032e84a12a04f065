from __future__ import annotations

from pathlib import Path

import pytest

from cc_core.plugins.jobtype import JobTypeContext
from cc_core.testing.contract import ContractEnv, JobTypeContract
from cc_local.jobtype import LocalJobType


class TestLocalContract(JobTypeContract):
    @pytest.fixture
    def contract_env(self, tmp_path: Path) -> ContractEnv:
        def make() -> LocalJobType:
            return LocalJobType(JobTypeContext(home=tmp_path / "home", options={"kill_grace": 2}))
        return ContractEnv(job_type=make(), kind="local", host="localhost", workflow_dir=tmp_path / "wf",
                           run_dir=tmp_path / "run", new_job_type=make, timeout=20)
