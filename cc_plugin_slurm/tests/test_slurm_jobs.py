"""The slurm job type against a real one-node SLURM cluster (munged, slurmctld, slurmd of this machine)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import ActiveJob, JobTypeContext, JobUpdate, LogRequest
from cc_core.workflow.model import JobSpec
from cc_core.plugins.progress import CCProgressParser, LineScanner
from cc_core.states import JobState
from cc_core.testing.contract import ContractEnv, Harness
from cc_core.testing.polling import wait_for
from cc_core.testing.slurm import SlurmCluster
from cc_slurm.jobtype import SlurmJobType
from cc_slurm.queue import SlurmQueue


@pytest.fixture(scope="module", autouse=True)
def job_over_its_time_limit(slurm_cluster: SlurmCluster, tmp_path_factory: pytest.TempPathFactory
                            ) -> Iterator[tuple[SlurmJobType, ActiveJob]]:
    """A job that goes over its SLURM time limit, started before this module's other tests.

    SLURM's shortest time limit is one minute. The job asks for one minute; once it runs, its limit is cut by a
    minute (as an admin may do), which puts it over its limit. slurmctld looks for jobs over their limit every
    30 s, so the job ends with TIMEOUT up to 30 s later: long enough to let the other tests run meanwhile.
    """
    root = tmp_path_factory.mktemp("timeout")
    job_type = SlurmJobType(JobTypeContext(home=root / "home"))
    harness = Harness(ContractEnv(job_type=job_type, kind="slurm", host="localhost", workflow_dir=root,
                                  run_dir=root / "run"))
    active = harness.submit(harness.launch("slow", command="echo started; sleep 300", options={"time": 1}))
    slurm_cluster.wait_for_state(active.handle["job_id"], {"RUNNING"})
    slurm_cluster.run("scontrol", "update", f"JobId={active.handle['job_id']}", "TimeLimit=-1")
    yield job_type, active
    slurm_cluster.run("scancel", active.handle["job_id"], check=False)


def test_validate_asks_slurm(slurm_cluster: SlurmCluster, job_type: SlurmJobType, tmp_path: Path) -> None:
    fine = JobSpec(name="fine", kind="slurm", command="true", options={"cpus_per_task": 1, "mem": 100})
    assert job_type.validate(fine, tmp_path) == []
    too_big = JobSpec(name="big", kind="slurm", command="true", options={"cpus_per_task": 99})
    problems = job_type.validate(too_big, tmp_path)
    assert len(problems) == 1
    assert "cannot run this job as asked (cpus-per-task=99)" in problems[0]
    no_partition = JobSpec(name="nop", kind="slurm", command="true", options={"partition": "gpu"})
    assert "invalid partition" in job_type.validate(no_partition, tmp_path)[0].lower()
    too_much_memory = JobSpec(name="mem", kind="slurm", command="true", options={"mem": "500G"})
    assert job_type.validate(too_much_memory, tmp_path)


def test_job_runs_with_progress_and_log(harness: Harness, job_type: SlurmJobType,
                                        slurm_cluster: SlurmCluster, follow: Any) -> None:
    script = harness.env.workflow_dir / "steps.sh"
    script.write_text("echo \"job $CC_JOB in $(pwd) on $SLURM_JOB_PARTITION\"\n"
                      "echo '# cc status=running progress=40 msg=\"loading\"'\n"
                      "while [ ! -e go ]; do sleep 0.1; done\n"
                      "echo '# cc status=running progress=90'\n")
    launch = harness.launch("steps", script="steps.sh", options={"cpus_per_task": 1, "mem": 64, "time": 2})
    active = harness.submit(launch)
    assert active.handle["job_id"].isdigit()
    assert slurm_cluster.job_field(active.handle["job_id"], "TimeLimit") == "00:02:00"
    assert slurm_cluster.job_field(active.handle["job_id"], "MinMemoryNode") == "64M"
    scanner = LineScanner([CCProgressParser()])
    offset, progress, seen = 0, [], []

    def read() -> None:
        nonlocal offset
        for chunk in job_type.read_logs([LogRequest(active.key, 1, active.handle, active.log_path, offset)]):
            offset = chunk.offset
            report = scanner.last_report(chunk.data)
            if report and report.progress is not None:
                progress.append(report.progress)

    def running_with_progress() -> bool:
        seen.extend(job_type.check([active]))
        read()
        return 40.0 in progress

    wait_for(running_with_progress, what="progress 40 while the job runs")
    assert [u.state for u in seen if u.state is JobState.RUNNING], seen
    (launch.job_dir / "go").write_text("")
    end = follow(job_type, [active])["steps"]
    read()
    assert end.state is JobState.DONE and end.exit_code == 0
    assert progress[-1] == 90.0
    log = launch.log_path.read_text()
    assert f"job steps in {launch.job_dir} on debug" in log
    assert launch.log_path.with_suffix(".exit").read_text().strip() == "0"


def test_failing_exit_code(harness: Harness, job_type: SlurmJobType, follow: Any) -> None:
    active = harness.submit(harness.launch("fails", command="echo oops >&2; exit 3"))
    end = follow(job_type, [active])["fails"]
    assert (end.state, end.exit_code) == (JobState.FAILED, 3)
    assert b"oops" in harness.log(active)


def test_python_script(harness: Harness, job_type: SlurmJobType, follow: Any) -> None:
    (harness.env.workflow_dir / "prep.py").write_text(
        "import os, sys\nopen('out.txt', 'w').write(os.environ['CC_JOB'] + ' ' + ' '.join(sys.argv[1:]))\n")
    launch = harness.launch("prep", script="prep.py", args=["a", "b"])
    end = follow(job_type, [harness.submit(launch)])["prep"]
    assert end.state is JobState.DONE
    assert (launch.job_dir / "out.txt").read_text() == "prep a b"


def test_scancel_running_job(harness: Harness, job_type: SlurmJobType, slurm_cluster: SlurmCluster,
                             follow: Any) -> None:
    actives = [harness.submit(harness.launch(f"long{i}", command="echo started; sleep 300")) for i in range(2)]
    for active in actives:
        slurm_cluster.wait_for_state(active.handle["job_id"], {"RUNNING"})
    before = job_type.calls["scancel"]
    job_type.cancel(actives)
    assert job_type.calls["scancel"] == before + 1  # both jobs in one scancel
    ended = follow(job_type, actives)
    assert {u.state for u in ended.values()} == {JobState.KILLED}
    assert all(slurm_cluster.job_field(a.handle["job_id"], "JobState") == "CANCELLED" for a in actives)


def test_pending_reason_is_the_detail(harness: Harness, job_type: SlurmJobType,
                                      slurm_cluster: SlurmCluster, follow: Any) -> None:
    active = harness.submit(harness.launch("held", command="true", options={"directives": ["--hold"]}))
    updates = job_type.check([active])
    assert [(u.state, u.detail) for u in updates] == [(JobState.QUEUED, "JobHeldUser")]
    assert job_type.check([active]) == []  # nothing new, nothing said
    slurm_cluster.run("scontrol", "release", active.handle["job_id"])
    assert follow(job_type, [active])["held"].state is JobState.DONE


def test_twenty_jobs_one_squeue_per_check(harness: Harness, job_type: SlurmJobType) -> None:
    actives = [harness.submit(harness.launch(f"many{i:02d}", command=f"sleep 0.$((RANDOM % 5)); exit {i % 3}"))
               for i in range(20)]
    assert job_type.calls["sbatch"] == 20
    checks = 0
    ended: dict[str, JobUpdate] = {}
    deadline = time.monotonic() + 60
    while len(ended) < 20:
        assert time.monotonic() < deadline, f"{20 - len(ended)} jobs did not end"
        checks += 1
        for update in job_type.check([a for a in actives if a.key not in ended]):
            if update.state.is_final:
                ended[update.key] = update
        assert job_type.calls["squeue"] == checks, "one squeue per check, whatever the number of jobs"
        time.sleep(0.2)
    assert job_type.calls["sacct"] == 0 and job_type.calls["scontrol"] == 0
    assert all(ended[f"many{i:02d}"].exit_code == i % 3 for i in range(20))
    assert sum(u.state is JobState.DONE for u in ended.values()) == 7


def test_found_again_by_a_new_process(harness: Harness, job_type: SlurmJobType, tmp_path: Path,
                                      follow: Any) -> None:
    launch = harness.launch("resumed", command="sleep 1; exit 4")
    active = harness.submit(launch)
    stored = json.loads(json.dumps(active.handle))
    other = SlurmJobType(JobTypeContext(home=tmp_path / "home"))
    # The handle alone is enough: the job spec given alongside it plays no part.
    bare = ActiveJob("resumed", 1, stored, JobSpec(name="resumed", kind="slurm", command="unrelated"),
                     launch.job_dir, launch.log_path)
    end = follow(other, [bare])["resumed"]
    assert (end.state, end.exit_code) == (JobState.FAILED, 4)
    # A submission whose handle was never stored is found by its SLURM job name.
    found = other.find(launch)
    assert found is not None and found["job_id"] == active.handle["job_id"]
    assert other.find(harness.launch("never-submitted", command="true")) is None


def test_jobs_slurm_forgot(harness: Harness, job_type: SlurmJobType, slurm_cluster: SlurmCluster,
                           follow: Any) -> None:
    done = harness.submit(harness.launch("kept", command="exit 6"))
    follow(job_type, [done])
    # The job-completion log answers for ended jobs (sacct -c: no accounting storage here).
    queue = SlurmQueue(job_type._handle_host(done.handle), job_type.calls)
    states = queue.accounting([done.handle["job_id"], "987654"], {})
    assert list(states) == [done.handle["job_id"]]
    assert (states[done.handle["job_id"]].state, states[done.handle["job_id"]].exit_code) == ("FAILED", 6)
    assert states[done.handle["job_id"]].source == "sacct -c"
    # A submission whose handle was lost is found by its name there too.
    assert queue.accounting_by_name(done.handle["name"], {}) == done.handle["job_id"]
    assert queue.accounting_by_name("cc.0.nothing.1", {}) is None
    # A job neither squeue nor sacct knows ends as its exit-code file says, or is reported lost.
    gone = dict(done.handle, job_id="987654", exit_file=str(harness.env.run_dir / "gone.exit"))
    (harness.env.run_dir / "gone.exit").write_text("0\n")
    lost = dict(done.handle, job_id="987655", exit_file=str(harness.env.run_dir / "none.exit"))
    calls = dict(job_type.calls)
    updates = {u.key: u for u in job_type.check([
        ActiveJob("gone", 1, gone, done.job, done.job_dir, done.log_path),
        ActiveJob("lost", 1, lost, done.job, done.job_dir, done.log_path)])}
    assert updates["gone"].state is JobState.DONE
    assert updates["lost"].state is JobState.FAILED and "no longer knows job 987655" in (updates["lost"].reason or "")
    assert job_type.calls["squeue"] == calls["squeue"] + 1
    assert job_type.calls["sacct"] <= calls.get("sacct", 0) + 2  # one batch for both (sacct, then sacct -c)


def test_dependency_chain_handed_to_slurm(harness: Harness, job_type: SlurmJobType,
                                          slurm_cluster: SlurmCluster, follow: Any) -> None:
    first = harness.launch("first", command="while [ ! -e go ]; do sleep 0.1; done; date +%s.%N > stamp")
    parent = harness.submit(first)
    second = harness.launch("second", command="date +%s.%N > stamp", options={"slurm_dependencies": True})
    assert job_type.can_submit_after(second.job, [first.job])
    child_handle = job_type.submit_after(second, [parent.handle])
    child = ActiveJob("second", 1, child_handle, second.job, second.job_dir, second.log_path)
    dependency = slurm_cluster.job_field(child_handle["job_id"], "Dependency")
    assert dependency == f"afterok:{parent.handle['job_id']}(unfulfilled)"
    assert [(u.state, u.detail) for u in job_type.check([child])] == [(JobState.QUEUED, "Dependency")]
    (first.job_dir / "go").write_text("")
    ended = follow(job_type, [parent, child])
    assert {u.state for u in ended.values()} == {JobState.DONE}
    assert float((second.job_dir / "stamp").read_text()) >= float((first.job_dir / "stamp").read_text())
    # A parent that fails: SLURM cancels the child, which cc reports as failed with the reason.
    bad = harness.submit(harness.launch("bad", command="exit 1"))
    orphan_launch = harness.launch("orphan", command="true", options={"slurm_dependencies": True})
    orphan = job_type.submit_after(orphan_launch, [bad.handle])
    ended = follow(job_type, [bad, ActiveJob("orphan", 1, orphan, orphan_launch.job, orphan_launch.job_dir,
                                             orphan_launch.log_path)])
    assert ended["bad"].state is JobState.FAILED
    assert ended["orphan"].state is JobState.FAILED
    assert "depends on did not finish" in (ended["orphan"].reason or "")


def test_array_job(harness: Harness, job_type: SlurmJobType, follow: Any) -> None:
    good = harness.submit(harness.launch("arr", command="echo task $SLURM_ARRAY_TASK_ID", options={"array": "0-2"}))
    bad = harness.submit(harness.launch("arrbad", command="exit $SLURM_ARRAY_TASK_ID", options={"array": "0-2"}))
    ended = follow(job_type, [good, bad])
    assert ended["arr"].state is JobState.DONE
    assert sorted(harness.log(good).split(b"\n")[:-1]) == [b"task 0", b"task 1", b"task 2"]
    assert ended["arrbad"].state is JobState.FAILED and ended["arrbad"].exit_code == 2
    assert "2 array task(s) did not complete" in (ended["arrbad"].reason or "")


def test_notebook_with_parameters(harness: Harness, job_type: SlurmJobType, follow: Any) -> None:
    import sys

    cells = [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "n = 1", "outputs": [],
              "execution_count": None},
             {"cell_type": "code", "metadata": {}, "source": "open('n.txt', 'w').write(str(n * 2))", "outputs": [],
              "execution_count": None}]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"},
                                             "language_info": {"name": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (harness.env.workflow_dir / "double.ipynb").write_text(json.dumps(notebook))
    launch = harness.launch("nb", notebook="double.ipynb", parameters={"n": 21}, python=sys.executable)
    end = follow(job_type, [harness.submit(launch)], timeout=60)["nb"]
    assert end.state is JobState.DONE, launch.log_path.read_text()
    assert (launch.job_dir / "n.txt").read_text() == "42"
    assert (launch.job_dir / "double.out.ipynb").exists()


def test_time_limit_gives_timeout(job_over_its_time_limit: tuple[SlurmJobType, ActiveJob],
                                  slurm_cluster: SlurmCluster, follow: Any) -> None:
    job_type, active = job_over_its_time_limit
    end = follow(job_type, [active], timeout=45)["slow"]
    assert end.state is JobState.FAILED
    assert end.reason == "timeout (SLURM time limit)"
    assert slurm_cluster.job_field(active.handle["job_id"], "JobState") == "TIMEOUT"
    assert b"DUE TO TIME LIMIT" in active.log_path.read_bytes()


def test_submissions_waiting_together_go_side_by_side(harness: Harness, job_type: SlurmJobType,
                                                      follow: Any) -> None:
    """submit_many sends a batch to this machine's SLURM a few at a time: every job gets its own SLURM job and
    its own outcome, and a submission that fails is that job's failure, in its place."""
    launches = [harness.launch(f"together{i}", command=f"exit {i % 2}") for i in range(7)]
    refused = harness.launch("refused", command="true", options={"partition": "no-such-partition"})
    results = job_type.submit_many([*launches[:3], refused, *launches[3:]])
    assert isinstance(results[3], JobTypeError) and "partition" in str(results[3])
    handles = [r for i, r in enumerate(results) if i != 3]
    assert all(isinstance(h, dict) for h in handles)
    assert len({h["job_id"] for h in handles}) == 7 and job_type.calls["sbatch"] == 8
    actives = [ActiveJob(launch.key, launch.attempt, handle, launch.job, launch.job_dir, launch.log_path)
               for launch, handle in zip(launches, handles)]
    ended = follow(job_type, actives)
    assert {key: update.exit_code for key, update in ended.items()} == {f"together{i}": i % 2 for i in range(7)}
