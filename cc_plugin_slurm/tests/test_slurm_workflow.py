"""A workflow mixing local and slurm jobs, run by cc's engine through the Python API, then looked at with ccw."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cc_core.states import JobState, RunState
from cc_core.testing.polling import ccw_command
from cc_core.testing.slurm import SlurmCluster


@pytest.fixture
def cc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cc-home"
    monkeypatch.setenv("CC_HOME", str(home))
    return home


def ccw(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ccw_command(*args), capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CC_HOME": str(home), "COLUMNS": "200"})


def test_local_then_slurm_then_local(slurm_cluster: SlurmCluster, cc_home: Path, tmp_path: Path) -> None:
    from cc_core.api import Workflow

    wf_dir = tmp_path / "wf"
    wf_dir.mkdir()
    (wf_dir / "train.sh").write_text(
        "read n < \"$CC_RUN_DIR/data.txt\"\n"
        "echo '# cc status=running progress=50 msg=\"epoch 1\"'\n"
        "echo \"trained on $n rows in partition $SLURM_JOB_PARTITION\" > \"$CC_RUN_DIR/model.txt\"\n"
        "echo '# cc status=running progress=100'\n")
    wf = Workflow("mixed", directory=wf_dir)
    wf.add_job("prepare", command='echo 1000 > "$CC_RUN_DIR/data.txt"')
    wf.add_job("train", kind="slurm", script="train.sh", depends=["prepare"],
               options={"partition": slurm_cluster.partition, "cpus_per_task": 1, "mem": "100M"}, timeout="5m")
    wf.add_job("left", kind="slurm", command="exit 0", depends=["prepare"])
    wf.add_job("report", command='cat "$CC_RUN_DIR/model.txt"', depends=["train", "left"])
    state = wf.run(timeout=90)
    jobs = {job["name"]: job for job in wf.status()["jobs"]}
    assert state is RunState.DONE, {name: (j["state"], j["reason"]) for name, j in jobs.items()}
    assert {j["state"] for j in jobs.values()} == {JobState.DONE.value}
    train = jobs["train"]
    assert train["handle"] and str(train["handle"]["job_id"]).isdigit()
    assert train["progress"] == 100.0
    assert slurm_cluster.job_field(train["handle"]["job_id"], "JobState") == "COMPLETED"
    run_dir = Path(train["log_path"]).parent.parent
    assert (run_dir / "model.txt").read_text() == "trained on 1000 rows in partition debug\n"
    assert b"trained on 1000 rows" in Path(jobs["report"]["log_path"]).read_bytes()

    shown = ccw(cc_home, "show-script", str(wf.run_id), "train")
    assert shown.returncode == 0, shown.stderr
    assert "#SBATCH --partition=debug" in shown.stdout and "#SBATCH --time=00:05:00" in shown.stdout


def test_impossible_request_stops_the_run_before_it_starts(slurm_cluster: SlurmCluster, cc_home: Path,
                                                           tmp_path: Path) -> None:
    from cc_core.api import Workflow
    from cc_core.errors import WorkflowError

    wf = Workflow("impossible", directory=tmp_path)
    wf.add_job("first", command="touch ran")
    wf.add_job("huge", kind="slurm", command="true", depends=["first"], options={"cpus_per_task": 512})
    with pytest.raises(WorkflowError) as caught:
        wf.run(timeout=30)
    assert "job 'huge'" in str(caught.value) and "cpus-per-task=512" in str(caught.value)
    assert not (tmp_path / "ran").exists()


def test_slurm_chain_is_handed_to_slurm(slurm_cluster: SlurmCluster, cc_home: Path, tmp_path: Path) -> None:
    """With slurm_dependencies, the child is submitted while its parent still runs, held by --dependency=afterok."""
    from cc_core.api import Workflow

    wf = Workflow("chain", directory=tmp_path)
    wf.add_job("parent", kind="slurm", command='sleep 2; echo made > "$CC_RUN_DIR/made.txt"')
    wf.add_job("child", kind="slurm", command='cat "$CC_RUN_DIR/made.txt"', depends=["parent"],
               options={"slurm_dependencies": True})
    wf.add_job("bad", kind="slurm", command="sleep 1; exit 1")
    wf.add_job("after_bad", kind="slurm", command="touch never", depends=["bad"], options={"slurm_dependencies": True})
    state = wf.run(timeout=60, max_parallel=8)  # room for the children while their parents run
    jobs = {job["name"]: job for job in wf.status()["jobs"]}
    assert state is RunState.FAILED
    states = {name: j["state"] for name, j in jobs.items()}
    assert states == {"parent": "done", "child": "done", "bad": "failed", "after_bad": "skipped"}, jobs
    # It had been handed to SLURM, which cancelled it when 'bad' failed; cc skipped it.
    assert slurm_cluster.job_field(jobs["after_bad"]["handle"]["job_id"], "JobState") == "CANCELLED"
    assert not (Path(jobs["after_bad"]["log_path"]).parent / "never").exists()
    parent_id, child_id = jobs["parent"]["handle"]["job_id"], jobs["child"]["handle"]["job_id"]
    batch = Path(jobs["child"]["log_path"]).parent / "child.attempt1.sbatch"
    assert f"#SBATCH --dependency=afterok:{parent_id}" in batch.read_text().splitlines()
    submitted, parent_ended = (slurm_cluster.job_field(child_id, "SubmitTime"),
                               slurm_cluster.job_field(parent_id, "EndTime"))
    assert submitted and parent_ended and submitted < parent_ended  # ISO times compare as text
    assert b"made" in Path(jobs["child"]["log_path"]).read_bytes()


def test_pending_reason_in_ccw_status(slurm_cluster: SlurmCluster, cc_home: Path, tmp_path: Path) -> None:
    from cc_core.api import Workflow
    from cc_core.testing.polling import wait_for

    wf = Workflow("held", directory=tmp_path)
    wf.add_job("waits", kind="slurm", command="true", options={"directives": ["--hold"]})
    run = wf.start()
    try:
        def held() -> bool:
            job = wf.status()["jobs"][0]
            return job["state"] == "queued" and job["detail"] == "JobHeldUser"
        wait_for(held, timeout=20, what="the job queued with SLURM's reason JobHeldUser")
        shown = ccw(cc_home, "status", str(run.run_id))
        assert shown.returncode == 0, shown.stderr
        assert "JobHeldUser" in shown.stdout
        slurm_cluster.run("scontrol", "release", wf.status()["jobs"][0]["handle"]["job_id"])
        assert run.wait(30) is RunState.DONE
    finally:
        if not run.done:
            run.kill()


def test_resumed_run_follows_its_slurm_jobs(slurm_cluster: SlurmCluster, cc_home: Path, tmp_path: Path) -> None:
    """The process that submitted the job goes away; `ccw run --resume` in a new process finds it by its SLURM id."""
    from cc_core.api import Workflow
    from cc_core.testing.polling import wait_for

    go = tmp_path / "go"
    wf = Workflow("resumed", directory=tmp_path)
    wf.add_job("long", kind="slurm", command=f"while [ ! -e {go} ]; do sleep 0.1; done; echo finished; exit 3")
    wf.add_job("after", command="echo after", depends=["long"])
    run = wf.start()
    wait_for(lambda: wf.status()["jobs"][0]["state"] == "running", timeout=20, what="the slurm job running")
    job_id = wf.status()["jobs"][0]["handle"]["job_id"]
    run.detach()
    assert run.wait(20) is RunState.DETACHED
    go.write_text("")
    resumed = ccw(cc_home, "run", "--resume", str(run.run_id))
    jobs = {job["name"]: job for job in wf.status()["jobs"]}
    assert jobs["long"]["handle"]["job_id"] == job_id  # the same SLURM job, not a new submission
    named = slurm_cluster.run("squeue", "-h", "--states=all", f"--name={jobs['long']['handle']['name']}", "-o", "%i")
    assert named.stdout.split() == [job_id]
    assert (jobs["long"]["state"], jobs["long"]["exit_code"]) == ("failed", 3), resumed.stdout + resumed.stderr
    assert jobs["after"]["state"] == "skipped"
    assert b"finished" in Path(jobs["long"]["log_path"]).read_bytes()


def test_the_last_line_of_a_slurm_log_counts_without_a_newline(slurm_cluster: SlurmCluster, cc_home: Path,
                                                                tmp_path: Path) -> None:
    from cc_core.api import Workflow

    wf = Workflow("tail", directory=tmp_path)
    wf.add_job("quiet", kind="slurm", command="echo start; printf '# cc progress=70 msg=\"no newline\"'")
    assert wf.run(timeout=90) is RunState.DONE
    job = wf.status()["jobs"][0]
    assert (job["state"], job["message"]) == ("done", "no newline")


def test_a_young_job_is_checked_sooner_than_the_interval(slurm_cluster: SlurmCluster, cc_home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With checks every 60 s, a short job still ends within seconds: jobs just submitted are checked 0.1, 0.2,
    0.4, 0.8, 1.6 ... s after their submission (each check one squeue for all jobs), then every interval."""
    from cc_core.api import Workflow
    from cc_slurm import queue
    from cc_slurm.jobtype import SlurmJobType

    monkeypatch.setattr(SlurmJobType, "poll_interval", 60.0)
    asked: list[str] = []
    run = queue.SlurmQueue._run

    def counted(self: queue.SlurmQueue, program: str, command: str, env: dict[str, str]) -> tuple[int, str, str]:
        asked.append(program)
        return run(self, program, command, env)

    monkeypatch.setattr(queue.SlurmQueue, "_run", counted)
    wf = Workflow("young")
    wf.add_job("quick", kind="slurm", command="exit 0", options={"partition": slurm_cluster.partition})
    state = wf.run(timeout=45)
    assert state is RunState.DONE, wf.status()["jobs"]
    assert 1 <= asked.count("squeue") <= 7, asked   # the quick schedule's checks, not one per 0.1 s
