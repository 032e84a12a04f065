"""Fixtures of the ssh job type's tests: a real sshd (cc_core.testing.sshd) and a workflow folder to run from."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from cc_core.plugins.jobtype import ActiveJob, Handle, JobTypeContext, JobUpdate, Launch, LogRequest
from cc_core.workflow.model import JobSpec
from cc_core.testing.sshd import SSHServer, sshd_server, start_sshd
from cc_ssh.jobtype import SSHJobType
from cc_ssh.pool import POOL
from cc_ssh.remote import RemoteShell, shell_for

DEADLINE = 20.0


sshd = sshd_server(scope="session")
"""The sshd most tests share (started once per session)."""


@pytest.fixture
def own_sshd(tmp_path: Path) -> Iterator[SSHServer]:
    """An sshd of this test alone (for tests that stop it or count its logins)."""
    server = start_sshd(tmp_path / "own-sshd", alias="own-host")
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _fresh_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CC_SSH_CONFIG", raising=False)
    monkeypatch.delenv("CC_SSH_ACCEPT_NEW_HOST_KEYS", raising=False)
    POOL.clear()
    yield
    POOL.clear()


@dataclass
class Submitted:
    launch: Launch
    handle: Handle

    @property
    def active(self) -> ActiveJob:
        # The handle goes through JSON, as it does through the store.
        handle = json.loads(json.dumps(self.handle))
        return ActiveJob(self.launch.key, self.launch.attempt, handle, self.launch.job, self.launch.job_dir,
                         self.launch.log_path)

    @property
    def folder(self) -> str:
        return str(self.handle["folder"])


class Remote:
    """A workflow folder on this machine whose ssh jobs run on one sshd, and ways to follow them."""

    def __init__(self, server: SSHServer, root: Path, **options: Any) -> None:
        self.server = server
        self.root = root
        self.workflow_dir = root / "workflow"
        self.workflow_dir.mkdir(parents=True, exist_ok=True)
        self.remote_root = root / "remote"
        self.options: dict[str, Any] = {"ssh_config": str(server.config_path), "remote_root": str(self.remote_root),
                                        "connect_timeout": 5, "command_timeout": 20, "kill_grace": 1,
                                        "reconnect_backoff_max": 1, **options}
        self.job_type = self.new_job_type()
        self.run_id = 1

    def new_job_type(self) -> SSHJobType:
        return SSHJobType(JobTypeContext(home=self.root / "home", options=dict(self.options)))

    @property
    def shell(self) -> RemoteShell:
        return shell_for(self.server.alias, config_path=str(self.server.config_path))

    def write(self, name: str, text: str) -> Path:
        path = self.workflow_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def job(self, name: str, **fields: Any) -> JobSpec:
        fields.setdefault("host", self.server.alias)
        return JobSpec(name=name, kind="ssh", **fields)

    def launch(self, job: JobSpec, attempt: int = 1) -> Launch:
        job_dir = self.root / "run" / job.name
        job_dir.mkdir(parents=True, exist_ok=True)
        env = {"CC_RUN_ID": str(self.run_id), "CC_WORKFLOW": "wf", "CC_JOB": job.name, "CC_ATTEMPT": str(attempt),
               "CC_JOB_DIR": str(job_dir), "CC_WORKFLOW_DIR": str(self.workflow_dir), **job.env}
        return Launch(run_id=self.run_id, workflow="wf", job=job, attempt=attempt, job_dir=job_dir,
                      workflow_dir=self.workflow_dir, log_path=job_dir / f"{job.name}.log", env=env)

    def submit(self, name: str, **fields: Any) -> Submitted:
        launch = self.launch(self.job(name, **fields))
        return Submitted(launch, self.job_type.submit(launch))

    def wait_end(self, *jobs: Submitted, timeout: float = DEADLINE) -> dict[str, JobUpdate]:
        """Check the jobs until each reports its end; the end update of each."""
        ended: dict[str, JobUpdate] = {}
        deadline = time.monotonic() + timeout
        while len(ended) < len(jobs):
            active = [job.active for job in jobs if job.launch.key not in ended]
            for update in self.job_type.check(active):
                if update.state.is_final:
                    ended[update.key] = update
            if len(ended) < len(jobs):
                assert time.monotonic() < deadline, f"jobs did not end within {timeout} s: {sorted(ended)}"
                time.sleep(0.1)
        return ended

    def read_log(self, job: Submitted, offset: int = 0) -> tuple[bytes, int]:
        request = LogRequest(job.launch.key, job.launch.attempt, job.active.handle, job.launch.log_path, offset)
        chunks = self.job_type.read_logs([request])
        assert len(chunks) <= 1
        return (chunks[0].data, chunks[0].offset) if chunks else (b"", offset)

    def wait_log(self, job: Submitted, needle: bytes, timeout: float = DEADLINE) -> bytes:
        """Read the job's log on from the start until it holds ``needle``; all that was read."""
        data = b""
        offset = 0
        deadline = time.monotonic() + timeout
        while needle not in data:
            chunk, offset = self.read_log(job, offset)
            data += chunk
            if needle not in data:
                assert time.monotonic() < deadline, f"{needle!r} not in the log within {timeout} s: {data!r}"
                time.sleep(0.1)
        return data

    def remote_file(self, job: Submitted, name: str, timeout: float = DEADLINE, lines: int = 1) -> str:
        """A file in the job's remote folder, read over ssh once it has ``lines`` lines."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.shell.run(f"cat {job.folder}/{name} 2>/dev/null")
            if result.stdout.count("\n") >= lines:
                return result.stdout
            assert time.monotonic() < deadline, f"{name} did not appear in {job.folder}"
            time.sleep(0.1)


@pytest.fixture
def remote(sshd: SSHServer, tmp_path: Path) -> Remote:
    return Remote(sshd, tmp_path)


@pytest.fixture
def remote_factory(tmp_path: Path) -> Any:
    def make(server: SSHServer, name: str = "w", **options: Any) -> Remote:
        return Remote(server, tmp_path / name, **options)
    return make


def processes_alive(shell: RemoteShell, pids: list[int]) -> list[int]:
    """Which of ``pids`` still run on the host (asked with ps over ssh; zombies are dead, only not reaped)."""
    if not pids:
        return []
    result = shell.run(f"ps -o pid= -o stat= -p {','.join(str(p) for p in pids)}")
    rows = [line.split() for line in result.stdout.splitlines()]
    return [int(row[0]) for row in rows if len(row) > 1 and not row[1].startswith("Z")]


def remote_commands(connection: Any) -> int:
    """Commands sent to a host so far: each its own channel, or one request to the host agent."""
    from cc_ssh.agent import agent_for

    agent = agent_for(connection, start=False)
    return connection.commands_run + (agent.requests if agent is not None else 0)


@pytest.fixture
def sent() -> Any:
    return remote_commands


@pytest.fixture
def alive() -> Any:
    return processes_alive

