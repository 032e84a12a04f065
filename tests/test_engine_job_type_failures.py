"""Whatever a job type's calls raise ends as a job's state with the error as reason: the run always ends."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pytest

from cc_core.api import RunController
from cc_core.plugins.hookspecs import hookimpl
from cc_core.plugins.jobtype import ActiveJob, JobType, JobUpdate, Launch, LogChunk, LogRequest, read_log_files
from cc_core.plugins.registry import build_registry
from cc_core.running.runner import prepare_run
from cc_core.states import JobState, RunState
from cc_core.testing.polling import wait_for
from cc_core.workflow.model import JobSpec, WorkflowSpec


class Faulty(JobType):
    """Jobs that run at once and end done; the methods named in ``raising`` raise instead."""

    name = "faulty"
    poll_interval = 0.1
    log_interval = 0.1
    check_retry_window = 1.0
    raising: frozenset[str] = frozenset()
    ends: bool = True    # False: a job runs until it is cancelled

    def _maybe_raise(self, method: str) -> None:
        if method in self.raising:
            raise RuntimeError(f"{method} broke")

    def start(self, sink):  # type: ignore[no-untyped-def]
        self._maybe_raise("start")

    def submit(self, launch: Launch) -> dict[str, object]:
        self._maybe_raise("submit")
        launch.log_path.write_bytes(b"# cc progress=50\n")
        return {"job": launch.key}

    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        self._maybe_raise("check")
        state = JobState.DONE if self.ends else JobState.RUNNING
        return [JobUpdate(a.key, a.attempt, state, exit_code=0 if self.ends else None) for a in active]

    def cancel(self, active: Sequence[ActiveJob]) -> None:
        self._maybe_raise("cancel")

    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        self._maybe_raise("read_logs")
        return read_log_files(requests)


def run_with(tmp_path: Path, raising: set[str], *, blocking: bool = True, ends: bool = True) -> RunController:
    job_type = type("FaultyNow", (Faulty,), {"raising": frozenset(raising), "blocking": blocking, "ends": ends})

    class Plugin:
        @staticmethod
        @hookimpl
        def cc_register_job_types(register):  # type: ignore[no-untyped-def]
            register(job_type)

    registry = build_registry(extra_plugins=[("faulty-plugin", Plugin())])
    spec = WorkflowSpec(name="faulty", workflow_dir=str(tmp_path), jobs={
        "a": JobSpec(name="a", kind="faulty", command="x"),
        "b": JobSpec(name="b", kind="faulty", command="x", depends=["a"])})
    return RunController(prepare_run(spec, registry=registry))


def ends(controller: RunController) -> dict[str, tuple[JobState, str | None]]:
    return {j.name: (j.state, j.reason) for j in controller.jobs()}


@pytest.mark.parametrize("blocking", [True, False])
def test_a_failing_start_fails_the_jobs(cc_home: Path, tmp_path: Path, blocking: bool) -> None:
    controller = run_with(tmp_path, {"start"}, blocking=blocking)
    assert controller.wait(30) is RunState.FAILED
    assert ends(controller) == {
        "a": (JobState.FAILED, "could not start: the faulty job type could not start: RuntimeError: start broke"),
        "b": (JobState.SKIPPED, "'a' failed")}


@pytest.mark.parametrize("blocking", [True, False])
def test_checks_that_keep_failing_fail_the_job(cc_home: Path, tmp_path: Path, blocking: bool) -> None:
    controller = run_with(tmp_path, {"check"}, blocking=blocking)
    assert controller.wait(30) is RunState.FAILED
    state, reason = ends(controller)["a"]
    assert state is JobState.FAILED
    assert reason is not None and reason.startswith("could not be followed: RuntimeError: check broke")


@pytest.mark.parametrize("blocking", [True, False])
def test_a_failing_last_log_read_keeps_the_end(cc_home: Path, tmp_path: Path, blocking: bool) -> None:
    """The job's end is known; its last log read fails: the job is done all the same and the run ends."""
    controller = run_with(tmp_path, {"read_logs"}, blocking=blocking)
    assert controller.wait(30) is RunState.DONE
    assert ends(controller) == {"a": (JobState.DONE, None), "b": (JobState.DONE, None)}


@pytest.mark.parametrize("blocking", [True, False])
def test_a_failing_cancel_fails_the_job(cc_home: Path, tmp_path: Path, blocking: bool) -> None:
    controller = run_with(tmp_path, {"cancel"}, blocking=blocking, ends=False)
    wait_for(lambda: any(j.state is JobState.RUNNING for j in controller.jobs()), timeout=10, what="a running")
    controller.kill()
    assert controller.wait(30) in (RunState.FAILED, RunState.KILLED)
    state, reason = ends(controller)["a"]
    assert (state, reason) == (JobState.FAILED, "could not be cancelled (RuntimeError: cancel broke); it may still run")
    assert ends(controller)["b"][0] in (JobState.SKIPPED, JobState.KILLED)
