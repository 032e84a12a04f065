"""The job-type contract tests every job type's suite subclasses, so local, ssh, slurm and wsl behave alike.

Usage, in a plugin's tests::

    from cc_core.testing.contract import ContractEnv, JobTypeContract

    class TestSSHContract(JobTypeContract):
        @pytest.fixture
        def contract_env(self, tmp_path, sshd) -> ContractEnv:
            job_type = SSHJobType(JobTypeContext(home=tmp_path / "home", options={...}))
            return ContractEnv(job_type=job_type, kind="ssh", host=sshd.alias, workflow_dir=tmp_path / "wf",
                               run_dir=tmp_path / "run")

The tests drive the job type directly (submit, check, read_logs, cancel, find) the way the engine does and assert
what a user sees: end states, exit codes, log contents, progress, no process left after a kill, and a job found
again from its handle by a new job-type object.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from cc_core.plugins.jobtype import ActiveJob, JobType, JobUpdate, Launch, LogRequest
from cc_core.workflow.model import JobSpec
from cc_core.plugins.progress import CCProgressParser, CloudmeshProgressParser, LineScanner
from cc_core.states import JobState

_counter = itertools.count(1)


@dataclass
class ContractEnv:
    """What the contract tests need from a job type's suite."""

    job_type: JobType
    kind: str
    host: str
    workflow_dir: Path
    run_dir: Path
    job_fields: dict[str, Any] = field(default_factory=dict)   # extra JobSpec fields (options, user, ...)
    new_job_type: Optional[Callable[[], JobType]] = None       # a second object, as a new process would make
    timeout: float = 60.0                                      # seconds a short job may take end to end
    count_processes: Optional[Callable[[str], int]] = None     # processes whose command line holds a marker


def count_local_processes(marker: str) -> int:
    """Live (non-zombie) processes on this machine whose name (argv[0], set with ``exec -a``) contains
    ``marker``. Only the name counts: the shells that started them carry the marker in their arguments."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        if marker.encode() in cmdline.split(b"\0", 1)[0] and stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z":
            count += 1
    return count


class Harness:
    """Plays the engine's part for one job type: submits, checks in batches, collects pushed updates."""

    def __init__(self, env: ContractEnv) -> None:
        self.env = env
        self.updates: list[JobUpdate] = []
        self.lock = threading.Lock()
        env.job_type.start(self._sink)

    def _sink(self, update: JobUpdate) -> None:
        with self.lock:
            self.updates.append(update)

    def launch(self, name: str, attempt: int = 1, **fields: Any) -> Launch:
        job = JobSpec(name=name, kind=self.env.kind, host=self.env.host, **{**self.env.job_fields, **fields})
        job_dir = self.env.run_dir / name
        job_dir.mkdir(parents=True, exist_ok=True)
        env = {"CC_RUN_ID": "1", "CC_WORKFLOW": "contract", "CC_JOB": name, "CC_ATTEMPT": str(attempt),
               "CC_JOB_DIR": str(job_dir), "CC_RUN_DIR": str(self.env.run_dir),
               "CC_WORKFLOW_DIR": str(self.env.workflow_dir)}
        return Launch(run_id=next(_counter), workflow="contract", job=job, attempt=attempt, job_dir=job_dir,
                      workflow_dir=self.env.workflow_dir, log_path=job_dir / f"{name}.log", env=env)

    def submit(self, launch: Launch) -> ActiveJob:
        handle = self.env.job_type.submit(launch)
        assert isinstance(handle, dict) and handle, "submit() must return a non-empty handle"
        import json

        json.dumps(handle)  # the store keeps it as JSON
        if handle.get("pending"):
            handle = self._confirmed(launch, handle)
        return ActiveJob(launch.key, launch.attempt, handle, launch.job, launch.job_dir, launch.log_path)

    def _confirmed(self, launch: Launch, handle: dict[str, Any]) -> dict[str, Any]:
        """A pending handle (the start was handed on) is replaced by the one its ``running`` update carries, as
        the engine does; a start that failed keeps the pending handle (its failure is among the updates)."""
        deadline = time.monotonic() + self.env.timeout
        while time.monotonic() < deadline:
            with self.lock:
                for update in self.updates:
                    if update.key == launch.key and update.attempt == launch.attempt:
                        if update.handle is not None:
                            return update.handle
                        if update.state.is_final:
                            return handle
            time.sleep(0.005)
        raise AssertionError(f"the start of job '{launch.key}' was not confirmed within {self.env.timeout} s")

    def wait_end(self, active: ActiveJob, job_type: Optional[JobType] = None,
                 timeout: Optional[float] = None) -> JobUpdate:
        """Follow ``active`` until its job type says it ended (pushed or through check)."""
        job_type = job_type or self.env.job_type
        deadline = time.monotonic() + (timeout or self.env.timeout)
        while time.monotonic() < deadline:
            with self.lock:
                for update in self.updates:
                    if update.key == active.key and update.attempt == active.attempt and update.state.is_final:
                        return update
            for update in job_type.check([active]):
                assert update.key == active.key
                if update.state.is_final:
                    return update
            time.sleep(0.1)
        raise AssertionError(f"job '{active.key}' did not end within {timeout or self.env.timeout} s")

    def log(self, active: ActiveJob, job_type: Optional[JobType] = None) -> bytes:
        job_type = job_type or self.env.job_type
        data = b""
        offset = 0
        for _ in range(100):
            chunks = job_type.read_logs([LogRequest(active.key, active.attempt, active.handle, active.log_path,
                                                    offset)])
            new = b"".join(c.data for c in chunks if c.key == active.key)
            if not new:
                break
            data += new
            offset = max(c.offset for c in chunks if c.key == active.key)
        return data


class JobTypeContract:
    """Subclass this and provide a ``contract_env`` fixture returning a :class:`ContractEnv`."""

    @pytest.fixture
    def contract_env(self) -> ContractEnv:  # pragma: no cover - every subclass provides it
        raise NotImplementedError("provide a contract_env fixture")

    @pytest.fixture
    def harness(self, contract_env: ContractEnv) -> Any:
        contract_env.workflow_dir.mkdir(parents=True, exist_ok=True)
        contract_env.run_dir.mkdir(parents=True, exist_ok=True)
        harness = Harness(contract_env)
        yield harness
        contract_env.job_type.stop()

    def test_command_done_with_log(self, harness: Harness) -> None:
        launch = harness.launch("hello", command="echo hello from $CC_JOB")
        active = harness.submit(launch)
        end = harness.wait_end(active)
        assert end.state is JobState.DONE
        assert end.exit_code == 0
        assert b"hello from hello" in harness.log(active)

    def test_exit_code_kept(self, harness: Harness) -> None:
        launch = harness.launch("fails", command="echo about to fail; exit 7")
        end = harness.wait_end(harness.submit(launch))
        assert end.state is JobState.FAILED
        assert end.exit_code == 7

    def test_script_runs_in_own_folder(self, harness: Harness) -> None:
        script = harness.env.workflow_dir / "write.sh"
        script.write_text("#!/bin/bash\necho \"args: $*\"\npwd > where.txt\necho written\n", encoding="utf-8")
        launch = harness.launch("script", script="write.sh", args=["one", "two"])
        active = harness.submit(launch)
        end = harness.wait_end(active)
        assert end.state is JobState.DONE, end
        log = harness.log(active)
        assert b"args: one two" in log and b"written" in log

    def test_progress_lines_are_read_as_they_come(self, harness: Harness) -> None:
        launch = harness.launch("progress", command=(
            "echo '# cc status=running progress=40 msg=\"half way\"'; sleep 1; "
            "echo '# cloudmesh status=running progress=70 pid=1'; sleep 30"))
        active = harness.submit(launch)
        scanner = LineScanner([CCProgressParser(), CloudmeshProgressParser()])
        deadline = time.monotonic() + harness.env.timeout
        seen: list[float] = []
        offset = 0
        while time.monotonic() < deadline and 70.0 not in seen:
            chunks = harness.env.job_type.read_logs([LogRequest(active.key, active.attempt, active.handle,
                                                                active.log_path, offset)])
            for chunk in chunks:
                offset = chunk.offset
                report = scanner.last_report(chunk.data)
                if report is not None and report.progress is not None:
                    seen.append(report.progress)
            time.sleep(0.1)
        harness.env.job_type.cancel([active])
        harness.wait_end(active)
        assert 70.0 in seen, f"progress seen: {seen}"
        assert seen[0] in (40.0, 70.0)

    def test_cancel_ends_whole_tree(self, harness: Harness, contract_env: ContractEnv) -> None:
        marker = f"cc-contract-{uuid.uuid4().hex[:8]}"
        # A child and a grandchild, each renamed to carry the marker so they can be found in the process table.
        launch = harness.launch("tree", command=f"bash -c 'exec -a {marker}-a sleep 600' & "
                                                f"bash -c 'bash -c \"exec -a {marker}-b sleep 600\"; true' & "
                                                "echo started; wait")
        active = harness.submit(launch)
        count = contract_env.count_processes or count_local_processes
        deadline = time.monotonic() + contract_env.timeout
        while time.monotonic() < deadline and count(marker) < 2:
            time.sleep(0.1)
        assert count(marker) >= 2, "the job's processes did not start"
        harness.env.job_type.cancel([active])
        end = harness.wait_end(active)
        assert end.state in (JobState.KILLED, JobState.FAILED)
        assert end.state is not JobState.DONE
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and count(marker) > 0:
            time.sleep(0.1)
        assert count(marker) == 0, "processes of a cancelled job are still alive"

    def test_found_again_from_handle(self, harness: Harness, contract_env: ContractEnv) -> None:
        """A new job-type object (as in a new process after a crash) follows a job from its stored handle."""
        launch = harness.launch("reattach", command="sleep 2; echo finished; exit 3")
        active = harness.submit(launch)
        if contract_env.new_job_type is None:
            pytest.skip("this job type's suite gives no new_job_type factory")
        other = contract_env.new_job_type()
        pushed: list[JobUpdate] = []
        other.start(pushed.append)
        try:
            stored = ActiveJob(active.key, active.attempt, dict(active.handle), active.job, active.job_dir,
                               active.log_path)
            deadline = time.monotonic() + contract_env.timeout
            end: Optional[JobUpdate] = None
            while time.monotonic() < deadline and end is None:
                for update in [*other.check([stored]), *pushed]:
                    if update.state.is_final:
                        end = update
                time.sleep(0.1)
            assert end is not None, "the job was not found again from its handle"
            assert end.state is JobState.FAILED and end.exit_code == 3
        finally:
            other.stop()

    def test_missing_script_is_reported_before_running(self, harness: Harness,
                                                       contract_env: ContractEnv) -> None:
        job = JobSpec(name="nope", kind=contract_env.kind, host=contract_env.host, script="no-such-script.sh",
                      **contract_env.job_fields)
        problems = contract_env.job_type.validate(job, contract_env.workflow_dir)
        assert problems and "no-such-script.sh" in problems[0]

