"""Submitting to SLURM through a login host over SSH (a real sshd on this machine in front of the real cluster)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from cc_core.plugins.jobtype import ActiveJob, JobTypeContext, LogRequest
from cc_core.states import JobState
from cc_core.testing.contract import ContractEnv, Harness
from cc_core.testing.slurm import SlurmCluster, skip_or_fail
from cc_core.testing.sshd import SSHServer, start_sshd
from cc_slurm.jobtype import SlurmJobType


NOTEBOOK = {
    "cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "n = 1", "outputs": [],
               "execution_count": None},
              {"cell_type": "code", "metadata": {}, "source": "open('square.txt', 'w').write(str(n * n))",
               "outputs": [], "execution_count": None}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                 "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def login_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    try:
        import cc_ssh  # noqa: F401
    except ImportError:
        skip_or_fail("the ssh plugin (cc-plugin-ssh) is not installed")
    server = start_sshd(tmp_path_factory.mktemp("login-sshd"), alias="cc-login")
    yield server
    server.close()


@pytest.fixture
def remote(slurm_cluster: SlurmCluster, login_node: SSHServer, tmp_path: Path) -> Iterator[Harness]:
    job_type = SlurmJobType(JobTypeContext(home=tmp_path / "home", options={
        # The login host's SLURM commands find the cluster through SLURM_CONF, as a real login node's would
        # through /etc/slurm.
        "slurm_env": {"SLURM_CONF": str(slurm_cluster.conf_path)},
        "ssh": {"ssh_config": str(login_node.config_path)},
        "remote_root": str(tmp_path / "on-login-node"),
    }))
    env = ContractEnv(job_type=job_type, kind="slurm", host=login_node.alias, workflow_dir=tmp_path / "wf",
                      run_dir=tmp_path / "run", timeout=30)
    env.workflow_dir.mkdir()
    env.run_dir.mkdir()
    yield Harness(env)
    job_type.stop()


def test_script_inputs_and_outputs_over_ssh(remote: Harness, login_node: SSHServer, tmp_path: Path,
                                            follow: Any) -> None:
    job_type = remote.env.job_type
    assert isinstance(job_type, SlurmJobType)
    wf = remote.env.workflow_dir
    (wf / "data").mkdir()
    (wf / "data" / "rows.csv").write_text("a\nb\nc\n")
    (wf / "count.sh").write_text("echo '# cc status=running progress=50'\n"
                                 "wc -l < data/rows.csv > counted.txt\n"
                                 "echo \"counted in $PWD\"\n")
    launch = remote.launch("count", script="count.sh", inputs=["data/rows.csv"], outputs=["counted.txt"],
                           options={"cpus_per_task": 1})
    (wf / "square.ipynb").write_text(json.dumps(NOTEBOOK))
    notebook = remote.launch("square", notebook="square.ipynb", parameters={"n": 7}, python=sys.executable,
                             outputs=["square.txt"])
    problems = job_type.validate(launch.job, wf)
    assert problems == []
    logins = login_node.accepted_logins()
    active = remote.submit(launch)
    handle = json.loads(json.dumps(active.handle))
    assert handle["host"] == "cc-login" and handle["folder"].startswith(str(tmp_path / "on-login-node"))
    ended = follow(job_type, [ActiveJob("count", 1, handle, launch.job, launch.job_dir, launch.log_path),
                              remote.submit(notebook)], timeout=60)
    end = ended["count"]
    assert end.state is JobState.DONE, end
    assert ended["square"].state is JobState.DONE, notebook.log_path.read_text()
    assert (notebook.job_dir / "square.txt").read_text() == "49"
    assert (notebook.job_dir / "square.out.ipynb").exists()  # the executed notebook came back too
    # The output came back into the job's local folder; the log was copied as it was read.
    assert (launch.job_dir / "counted.txt").read_text().strip() == "3"
    chunks = job_type.read_logs([LogRequest("count", 1, handle, launch.log_path, 0)])
    assert b"# cc status=running progress=50" in chunks[0].data
    assert f"counted in {handle['folder']}".encode() in chunks[0].data
    assert launch.log_path.read_bytes() == chunks[0].data
    assert login_node.accepted_logins() - logins <= 1, "one pooled connection for all commands"
    assert job_type.calls["sacct"] == 0


def test_failure_cancel_and_missing_output_over_ssh(remote: Harness, follow: Any,
                                                    slurm_cluster: SlurmCluster) -> None:
    job_type = remote.env.job_type
    fails = remote.submit(remote.launch("fails", command="exit 9"))
    no_output = remote.submit(remote.launch("forgot", command="true", outputs=["result.bin"]))
    long = remote.submit(remote.launch("long", command="sleep 300"))
    slurm_cluster.wait_for_state(long.handle["job_id"], {"RUNNING"})
    job_type.cancel([long])
    ended = follow(job_type, [fails, no_output, long])
    assert (ended["fails"].state, ended["fails"].exit_code) == (JobState.FAILED, 9)
    assert ended["forgot"].state is JobState.FAILED and "output result.bin not found" in (ended["forgot"].reason or "")
    assert ended["long"].state is JobState.KILLED


def test_impossible_request_over_ssh(remote: Harness) -> None:
    job_type = remote.env.job_type
    launch = remote.launch("huge", command="true", options={"cpus_per_task": 400})
    problems = job_type.validate(launch.job, remote.env.workflow_dir)
    assert len(problems) == 1 and "SLURM on cc-login cannot run this job as asked (cpus-per-task=400)" in problems[0]
    missing = remote.launch("needs", command="true", inputs=["nowhere.csv"])
    assert "input 'nowhere.csv' does not exist" in job_type.validate(missing.job, remote.env.workflow_dir)[0]


def test_a_submission_while_the_login_host_is_away_goes_through_once_it_is_back(
        remote: Harness, login_node: SSHServer, slurm_cluster: SlurmCluster, follow: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import threading

    from cc_core.testing.polling import wait_for

    caplog.set_level(logging.WARNING, logger="cc_slurm")
    launch = remote.launch("patient", command="echo ran")
    login_node.stop()
    result: dict[str, Any] = {}

    def submit() -> None:
        try:
            result["active"] = remote.submit(launch)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            result["error"] = exc
    thread = threading.Thread(target=submit)
    thread.start()
    try:
        wait_for(lambda: "host unreachable" in caplog.text and "trying again" in caplog.text, timeout=30,
                 what="a submission that could not reach the login host")
    finally:
        login_node.start()
    thread.join(90)
    assert "error" not in result, result.get("error")
    active = result["active"]
    assert follow(remote.env.job_type, [active], timeout=60)["patient"].state is JobState.DONE
    named = slurm_cluster.run("squeue", "-h", "--states=all", f"--name={active.handle['name']}", "-o", "%F")
    assert named.stdout.split() == [str(active.handle["job_id"])]   # submitted once
