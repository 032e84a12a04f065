"""The contract every job type meets (cc_core.testing.contract), met by ssh against a real sshd."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_core.plugins.jobtype import JobTypeContext
from cc_core.testing.contract import ContractEnv, JobTypeContract
from cc_core.testing.sshd import SSHServer
from cc_ssh.jobtype import SSHJobType
from cc_ssh.remote import shell_for


class TestSSHContract(JobTypeContract):
    @pytest.fixture
    def contract_env(self, tmp_path: Path, sshd: SSHServer) -> ContractEnv:
        options = {"ssh_config": str(sshd.config_path), "remote_root": str(tmp_path / "remote"), "kill_grace": 1,
                   "connect_timeout": 5, "command_timeout": 20}

        def make() -> SSHJobType:
            return SSHJobType(JobTypeContext(home=tmp_path / "home", options=dict(options)))

        def count_remote(marker: str) -> int:
            """Live processes on the host whose name (argv[0]) holds ``marker``, asked with ps over ssh."""
            listing = shell_for(sshd.alias, config_path=str(sshd.config_path)).run("ps -e -o stat= -o args=")
            rows = [line.split() for line in listing.stdout.splitlines()]
            return sum(1 for row in rows if len(row) > 1 and not row[0].startswith("Z") and marker in row[1])

        return ContractEnv(job_type=make(), kind="ssh", host=sshd.alias, workflow_dir=tmp_path / "wf",
                           run_dir=tmp_path / "run", new_job_type=make, timeout=20, count_processes=count_remote)
