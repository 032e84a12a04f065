"""Submissions waiting for a job type's worker go to it together (``JobType.submit_many``), each with its own
outcome; a job type that does not override ``submit_many`` gets them one by one."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence, Union

from cc_core.api import RunController
from cc_core.errors import JobTypeError
from cc_core.plugins.hookspecs import hookimpl
from cc_core.plugins.jobtype import (ActiveJob, Handle, JobType, JobUpdate, Launch, LogChunk, LogRequest,
                                     read_log_files)
from cc_core.plugins.registry import build_registry
from cc_core.running.runner import prepare_run
from cc_core.states import JobState, RunState
from cc_core.testing.polling import wait_for
from cc_core.workflow.model import JobSpec, Limits, WorkflowSpec


class Together(JobType):
    """Jobs that end done at once; the first submission waits until the others queued behind it."""

    name = "together"
    poll_interval = 0.1
    log_interval = 0.1
    batches: list[list[str]] = []
    first_may_go = threading.Event()

    def submit(self, launch: Launch) -> Handle:
        if launch.key == "broken":
            raise JobTypeError("this one cannot start", job=launch.key)
        return {"job": launch.key}

    def submit_many(self, launches: Sequence[Launch]) -> list[Union[Handle, BaseException]]:
        type(self).batches.append([launch.key for launch in launches])
        if len(type(self).batches) == 1:
            type(self).first_may_go.wait(30)
        return super().submit_many(launches)

    def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
        return [JobUpdate(a.key, a.attempt, JobState.DONE, exit_code=0) for a in active]

    def cancel(self, active: Sequence[ActiveJob]) -> None:
        pass

    def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
        return read_log_files(requests)


def test_waiting_submissions_go_together_and_each_keeps_its_outcome(cc_home: Path, tmp_path: Path) -> None:
    Together.batches = []
    Together.first_may_go = threading.Event()

    class Plugin:
        @staticmethod
        @hookimpl
        def cc_register_job_types(register):  # type: ignore[no-untyped-def]
            register(Together)

    registry = build_registry(extra_plugins=[("together-plugin", Plugin())])
    names = ["first", "a", "b", "broken", "c"]
    spec = WorkflowSpec(name="together", workflow_dir=str(tmp_path), limits=Limits(max_parallel=10),
                        jobs={name: JobSpec(name=name, kind="together", command="x") for name in names})
    controller = RunController(prepare_run(spec, registry=registry))

    wait_for(lambda: Together.batches, what="the first submission")
    wait_for(lambda: sum(j.state is JobState.QUEUED for j in controller.jobs()) == 5, what="all five queued")
    Together.first_may_go.set()
    assert controller.wait(30) is RunState.FAILED
    states = {j.name: (j.state, j.reason) for j in controller.jobs()}
    assert states.pop("broken") == (JobState.FAILED, "could not start: job 'broken': this one cannot start")
    assert all(state is JobState.DONE for state, _ in states.values())
    assert sorted(sum(Together.batches, [])) == sorted(names)
    # the first call holds the worker until all five are queued: whatever it did not take went in one more call
    assert len(Together.batches) <= 2 and max(len(batch) for batch in Together.batches) >= 3
