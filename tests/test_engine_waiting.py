"""The runner waits without spinning while jobs sit in a queue, however long they wait."""

from __future__ import annotations

import resource
import threading
import time
from pathlib import Path
from typing import Sequence

from cc_core.api import RunController
from cc_core.plugins.hookspecs import hookimpl
from cc_core.plugins.jobtype import ActiveJob, JobType, JobUpdate, Launch, LogChunk, LogRequest
from cc_core.plugins.registry import build_registry
from cc_core.running.runner import prepare_run
from cc_core.states import JobState, RunState
from cc_core.testing.polling import wait_for
from cc_core.workflow.model import JobSpec, WorkflowSpec


class NeverRuns(JobType):
    """A job type whose jobs are accepted and then wait in a queue for ever (a cluster with no free node)."""

    name = "never-runs"
    blocking = True
    poll_interval = 0.5
    log_interval = 0.1

    def submit(self, launch: Launch) -> dict[str, object]:
        return {"id": launch.key}

    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        return [JobUpdate(a.key, a.attempt, JobState.QUEUED, detail="Resources") for a in active]

    def cancel(self, active: Sequence[ActiveJob]) -> None:
        for job in active:
            self.sink(JobUpdate(job.key, job.attempt, JobState.KILLED))

    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        return []

    def start(self, sink):  # type: ignore[no-untyped-def]
        self.sink = sink

    def stop(self) -> None:
        pass


class _Plugin:
    @staticmethod
    @hookimpl
    def cc_register_job_types(register):  # type: ignore[no-untyped-def]
        register(NeverRuns)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_queued_jobs_cost_the_runner_no_cpu(cc_home: Path, tmp_path: Path) -> None:
    registry = build_registry(extra_plugins=[("never-runs-plugin", _Plugin())])
    spec = WorkflowSpec(name="queued", workflow_dir=str(tmp_path), jobs={
        "a": JobSpec(name="a", kind="never-runs", command="x"),
        "b": JobSpec(name="b", kind="never-runs", command="x")})
    controller = RunController(prepare_run(spec, registry=registry))
    try:
        wait_for(lambda: all(j.state is JobState.QUEUED and j.handle for j in controller.jobs()), timeout=10,
                 what="both jobs queued with a handle")
        before, started = cpu_seconds(), time.monotonic()
        threading.Event().wait(3.0)   # the measuring window: the jobs sit in their queue meanwhile
        used, wall = cpu_seconds() - before, time.monotonic() - started
        assert {j.state for j in controller.jobs()} == {JobState.QUEUED}
        assert used < 0.2 * wall / 3.0, f"the runner used {used:.2f} s of CPU in {wall:.1f} s while jobs waited"
    finally:
        controller.kill()
    # The kill reached the job type; nothing ran, so the run ends killed.
    assert controller.wait(30) is RunState.KILLED
