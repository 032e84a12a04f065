"""The engine driving real local processes, through the Python API."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from cc_core.api import Workflow, start_run
from cc_core.running.control import run_status
from cc_core.home import open_store
from cc_core.states import JobState, RunState
from cc_core.workflow.file import load_workflow

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def states(run_id: int) -> dict[str, str]:
    return {j["name"]: j["state"] for j in run_status(run_id)["jobs"]}


def test_demo_workflow_runs_to_done(cc_home: Path) -> None:
    wf = Workflow.load(EXAMPLES / "demo" / "workflow.yaml")
    assert wf.run(timeout=120) is RunState.DONE
    status = run_status("demo")
    assert status["state"] == "done"
    assert {j["name"]: (j["state"], j["exit_code"], j["progress"]) for j in status["jobs"]} == {
        name: ("done", 0, 100.0) for name in ("fetch", "clean", "stats", "histogram", "report")}
    run_dir = Path(status["run_dir"])
    report = (run_dir / "report" / "report.txt").read_text()
    assert "mean" in report and "histogram" in report
    assert (run_dir / "stats" / "stats.out.ipynb").exists()
    # the notebook's parameter was injected and used (3 decimals)
    summary = (run_dir / "stats" / "summary.txt").read_text()
    mean = summary.split("mean ")[1].split()[0]
    assert len(mean.split(".")[1]) <= 3
    # the two branches overlapped in time
    jobs = {j["name"]: j for j in status["jobs"]}
    assert jobs["stats"]["started"] < jobs["histogram"]["ended"]
    assert jobs["histogram"]["started"] < jobs["stats"]["ended"]


def test_failure_skips_descendants_and_independent_branch_goes_on(cc_home: Path) -> None:
    wf = Workflow("branches")
    wf.add_job("root", command="true")
    wf.add_job("bad", command="echo oops >&2; exit 4", depends=["root"])
    wf.add_job("after-bad", command="touch should-not-exist", depends=["bad"])
    wf.add_job("after-after", command="true", depends=["after-bad"])
    wf.add_job("good", command="sleep 0.3; echo fine", depends=["root"])
    wf.add_job("after-good", command="echo fine", depends=["good"])
    assert wf.run(timeout=30) is RunState.FAILED
    status = run_status(wf.run_id)
    jobs = {j["name"]: j for j in status["jobs"]}
    assert jobs["bad"]["state"] == "failed" and jobs["bad"]["exit_code"] == 4
    assert jobs["after-bad"]["state"] == "skipped" and jobs["after-after"]["state"] == "skipped"
    assert jobs["after-bad"]["reason"] == "'bad' failed"
    assert jobs["good"]["state"] == "done" and jobs["after-good"]["state"] == "done"
    assert not (Path(status["run_dir"]) / "after-bad" / "should-not-exist").exists()
    assert "oops" in (Path(status["run_dir"]) / "bad" / "bad.log").read_text()
    assert status["state"] == "failed"


def test_jobs_without_edges_all_run(cc_home: Path) -> None:
    wf = Workflow("islands")
    for i in range(5):
        wf.add_job(f"island-{i}", command=f"echo {i} > out.txt")
    assert wf.run(timeout=30) is RunState.DONE
    status = run_status(wf.run_id)
    assert all(j["state"] == "done" for j in status["jobs"]) and len(status["jobs"]) == 5
    for i in range(5):
        assert (Path(status["run_dir"]) / f"island-{i}" / "out.txt").read_text().strip() == str(i)


def test_hyphenated_and_dotted_names(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: my-flow.v2
        jobs:
          a-b: {command: echo ab}
          a: {command: echo a}
          b: {command: echo b, depends: [a-b]}
          a-b-c: {command: echo abc, depends: [a, b]}
          x.y_z: {command: echo xyz, depends: [a-b-c]}
    """)
    spec = load_workflow(path)
    assert spec.jobs["b"].depends == ["a-b"]
    controller = start_run(spec)
    assert controller.wait(30) is RunState.DONE
    transitions = open_store().get_transitions(controller.run_id)
    order = [t.job for t in transitions if t.state is JobState.RUNNING]
    assert order.index("a-b") < order.index("b") < order.index("a-b-c") < order.index("x.y_z")
    assert set(states(controller.run_id).values()) == {"done"}


def test_two_workflows_with_the_same_job_names_at_once(cc_home: Path) -> None:
    controllers = []
    for flow in ("first", "second"):
        wf = Workflow(flow)
        wf.add_job("prepare", command=f"sleep 0.3; echo {flow} > data.txt")
        wf.add_job("use", command=f'cat "$CC_RUN_DIR/prepare/data.txt" > seen.txt', depends=["prepare"])
        controllers.append(wf.start())
    for controller in controllers:
        assert controller.wait(30) is RunState.DONE
    dirs = {run_status(c.run_id)["workflow"]: Path(run_status(c.run_id)["run_dir"]) for c in controllers}
    assert dirs["first"] != dirs["second"]
    assert (dirs["first"] / "use" / "seen.txt").read_text().strip() == "first"
    assert (dirs["second"] / "use" / "seen.txt").read_text().strip() == "second"


def _max_overlap(run_id: int) -> int:
    store = open_store()
    events = []
    for t in store.get_transitions(run_id):
        if t.state is JobState.RUNNING:
            events.append((t.at, 1))
        elif t.state.is_final:
            events.append((t.at, -1))
    running = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        running += delta
        peak = max(peak, running)
    return peak


def test_sequential_scheduler_runs_one_at_a_time(cc_home: Path) -> None:
    wf = Workflow("one-by-one")
    for i in range(4):
        wf.add_job(f"j{i}", command="sleep 0.2")
    assert wf.run(scheduler="sequential", timeout=30) is RunState.DONE
    assert _max_overlap(wf.run_id) == 1


def test_max_parallel_and_host_limit(cc_home: Path) -> None:
    wf = Workflow("limited")
    for i in range(6):
        wf.add_job(f"j{i}", command="sleep 0.3")
    assert wf.run(max_parallel=3, timeout=30) is RunState.DONE
    assert _max_overlap(wf.run_id) == 3
    wf2 = Workflow("host-limited")
    wf2.spec.limits.hosts["localhost"] = 2
    for i in range(4):
        wf2.add_job(f"j{i}", command="sleep 0.3")
    assert wf2.run(max_parallel=8, timeout=30) is RunState.DONE
    assert _max_overlap(wf2.run_id) == 2


def test_job_added_while_running_is_picked_up(cc_home: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    wf = Workflow("growing")
    wf.add_job("first", command=f"while [ ! -e {gate} ]; do sleep 0.05; done; echo first")
    controller = wf.start()
    wf.add_job("second", command="echo second > out.txt", depends=["first"])
    gate.touch()
    assert controller.wait(30) is RunState.DONE
    status = run_status(controller.run_id)
    assert {j["name"]: j["state"] for j in status["jobs"]} == {"first": "done", "second": "done"}
    assert (Path(status["run_dir"]) / "second" / "out.txt").read_text().strip() == "second"


def test_adding_a_cycle_to_a_running_run_is_refused(cc_home: Path, tmp_path: Path) -> None:
    from cc_core.errors import WorkflowError

    gate = tmp_path / "gate"
    wf = Workflow("no-cycles")
    wf.add_job("a", command=f"while [ ! -e {gate} ]; do sleep 0.05; done")
    wf.add_job("b", command="true", depends=["a"])
    controller = wf.start()
    with pytest.raises(WorkflowError, match="cycle"):
        wf.add_dependency("b", "a")
    gate.touch()
    assert controller.wait(30) is RunState.DONE


def test_script_that_cannot_start_fails_with_reason(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: unstartable
        jobs:
          no-exec-bit: {script: tool.run}
          no-interpreter: {script: weird.run}
          ok: {command: "true"}
    """, tool__run="#!/bin/sh\necho hi\n", weird__run="#!/no/such/interpreter\necho hi\n")
    (path.parent / "tool.run").chmod(0o644)
    (path.parent / "weird.run").chmod(0o755)
    from cc_core.errors import WorkflowError

    spec = load_workflow(path)
    with pytest.raises(WorkflowError, match="script 'tool.run' is not executable"):   # found before the run
        start_run(spec)
    (path.parent / "tool.run").chmod(0o755)
    controller = start_run(spec)
    assert controller.wait(30) is RunState.FAILED
    jobs = {j["name"]: j for j in run_status(controller.run_id)["jobs"]}
    assert jobs["no-exec-bit"]["state"] == "done"
    assert jobs["no-interpreter"]["state"] == "failed" and jobs["no-interpreter"]["exit_code"] in (126, 127)
    assert jobs["ok"]["state"] == "done"


def test_events_reach_subscribers_after_the_store(cc_home: Path) -> None:
    from cc_core.running.events import JobProgress, JobStateChanged, RunFinished

    wf = Workflow("events")
    wf.add_job("talk", command="echo '# cc status=running progress=30'; sleep 0.5; "
                               "echo '# cc status=running progress=60 msg=\"nearly\"'; sleep 0.5")
    controller = wf.start()
    seen: list[object] = []
    checked: list[bool] = []
    lock = threading.Lock()

    def on_event(event: object) -> None:
        with lock:
            seen.append(event)
        if isinstance(event, JobStateChanged):
            # the store already holds what the event says
            record = {j.name: j for j in open_store().get_jobs(controller.run_id)}[event.job]
            checked.append(record.state is event.state or record.state.rank > event.state.rank)

    controller.subscribe(on_event)
    assert controller.wait(30) is RunState.DONE
    progress = [e.progress for e in seen if isinstance(e, JobProgress)]
    assert 60.0 in progress
    assert any(isinstance(e, RunFinished) for e in seen)
    assert checked and all(checked)


def test_an_end_reported_before_the_submission_is_applied_is_kept(cc_home: Path, tmp_path: Path) -> None:
    """A blocking job type that pushes the job's end from another thread before its submit() returned: the end
    is applied as soon as the handle arrives, never lost and never a crash."""
    from typing import Sequence

    from cc_core.plugins.jobtype import ActiveJob, JobType, JobUpdate, Launch, LogChunk, LogRequest, read_log_files
    from cc_core.plugins.registry import build_registry
    from cc_core.plugins.hookspecs import hookimpl
    from cc_core.running.runner import prepare_run
    from cc_core.api import RunController
    from cc_core.workflow.model import JobSpec, WorkflowSpec

    class Hasty(JobType):
        name = "hasty"
        blocking = True
        poll_interval = 0.2

        def start(self, sink):  # type: ignore[no-untyped-def]
            self.sink = sink

        def submit(self, launch: Launch) -> dict[str, object]:
            launch.log_path.write_text("# cc progress=70\n")
            self.sink(JobUpdate(launch.key, launch.attempt, JobState.DONE, 0))  # before submit returns
            time.sleep(0.2)
            return {"id": launch.key}

        def check(self, active: Sequence[ActiveJob]) -> list[JobUpdate]:
            return []

        def cancel(self, active: Sequence[ActiveJob]) -> None:
            pass

        def read_logs(self, requests: Sequence[LogRequest]) -> list[LogChunk]:
            return read_log_files(requests)

    class Plugin:
        @staticmethod
        @hookimpl
        def cc_register_job_types(register):  # type: ignore[no-untyped-def]
            register(Hasty)

    registry = build_registry(extra_plugins=[("hasty-plugin", Plugin())])
    spec = WorkflowSpec(name="hasty", workflow_dir=str(tmp_path), jobs={
        "a": JobSpec(name="a", kind="hasty", command="x"),
        "b": JobSpec(name="b", kind="hasty", command="x", depends=["a"])})
    controller = RunController(prepare_run(spec, registry=registry))
    assert controller.wait(30) is RunState.DONE
    assert {j.name: (j.state, j.progress) for j in controller.jobs()} == {
        "a": (JobState.DONE, 100.0), "b": (JobState.DONE, 100.0)}
