"""The shared job-type contract, run against the wsl job type and the stand-in WSL.

The workflow and the run live under the folder standing for drive C:, so every path goes through the Windows →
WSL translation, and the jobs run where ``/mnt/c`` shows that folder.
"""

from __future__ import annotations

from typing import Any

import pytest

from cc_core.testing.contract import ContractEnv, JobTypeContract


class TestWSLContract(JobTypeContract):
    @pytest.fixture
    def contract_env(self, standin: Any) -> ContractEnv:
        return ContractEnv(job_type=standin.job_type(), kind="wsl", host="localhost",
                           workflow_dir=standin.drive / "Users" / "me" / "wf",
                           run_dir=standin.drive / "Users" / "me" / "cc" / "runs" / "1",
                           job_fields={"options": {"distribution": "Ubuntu-22.04"}},
                           new_job_type=standin.job_type, timeout=30)


class TestWSLContractDefaultDistribution(JobTypeContract):
    """The same, without naming a distribution (WSL's default one) and with a folder name holding a space."""

    @pytest.fixture
    def contract_env(self, standin: Any) -> ContractEnv:
        return ContractEnv(job_type=standin.job_type(), kind="wsl", host="localhost",
                           workflow_dir=standin.drive / "Users" / "Ana Lima" / "wf",
                           run_dir=standin.drive / "Users" / "Ana Lima" / "cc runs" / "1",
                           new_job_type=standin.job_type, timeout=30)
