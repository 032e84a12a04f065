"""Short outages of slurmctld around submissions, and jobs that are not cc's own.

(slurmctld is stopped and started again here: this module keeps its own downtime short, and, like
test_slurm_restart_controller, runs after the modules that need SLURM's periodic time-limit pass.)
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from cc_core.plugins.jobtype import JobTypeContext
from cc_core.states import JobState
from cc_core.testing.contract import Harness
from cc_core.testing.polling import wait_for
from cc_core.testing.slurm import SlurmCluster
from cc_slurm.batch_script import slurm_job_name
from cc_slurm.jobtype import SlurmJobType


def squeue_names(cluster: SlurmCluster, name: str) -> list[str]:
    out = cluster.run("squeue", "-h", "--states=all", f"--name={name}", "-o", "%F").stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_a_submission_while_slurmctld_is_down_goes_through_once_it_is_back(
        harness: Harness, job_type: SlurmJobType, slurm_cluster: SlurmCluster, follow: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="cc_slurm")
    launch = harness.launch("patient", command="echo ran; exit 0")
    slurm_cluster.stop_controller()
    result: dict[str, Any] = {}

    def submit() -> None:
        try:
            result["active"] = harness.submit(launch)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            result["error"] = exc
    thread = threading.Thread(target=submit)
    thread.start()
    try:
        wait_for(lambda: "Unable to contact slurm controller" in caplog.text and "trying again" in caplog.text,
                 timeout=30, what="a refused sbatch")
    finally:
        slurm_cluster.start_controller()
    thread.join(90)
    assert "error" not in result, result.get("error")
    active = result["active"]
    assert follow(job_type, [active], timeout=60)["patient"].state is JobState.DONE
    assert harness.log(active) == b"ran\n"
    assert squeue_names(slurm_cluster, active.handle["name"]) == [active.handle["job_id"]]   # submitted once


def test_validation_right_after_a_controller_restart_waits_for_it(
        tmp_path: Path, slurm_cluster: SlurmCluster, caplog: pytest.LogCaptureFixture) -> None:
    from cc_core.workflow.model import JobSpec

    caplog.set_level(logging.WARNING, logger="cc_slurm")
    fresh = SlurmJobType(JobTypeContext(home=tmp_path / "home"))
    job = JobSpec(name="checked", kind="slurm", command="true", options={"cpus_per_task": 1})
    slurm_cluster.stop_controller()
    problems: dict[str, list[str]] = {}
    thread = threading.Thread(target=lambda: problems.setdefault("found", fresh.validate(job, tmp_path)))
    thread.start()
    try:
        wait_for(lambda: "asking again" in caplog.text, timeout=30, what="a test-only sbatch that got no answer")
    finally:
        slurm_cluster.start_controller()
    thread.join(90)
    assert problems == {"found": []}


def test_resume_never_takes_a_job_of_another_cc_home_folder_or_user(
        harness: Harness, job_type: SlurmJobType, slurm_cluster: SlurmCluster, tmp_path: Path,
        follow: Any) -> None:
    launch = harness.launch("mine", command="exit 0")
    active = harness.submit(launch)
    name = active.handle["name"]
    assert name.startswith(f"cc.{launch.run_id}.mine.1.")
    # Another CC_HOME: its run 1 has the same run id, job and attempt, and a name of its own.
    other = SlurmJobType(JobTypeContext(home=tmp_path / "other-home"))
    try:
        assert slurm_job_name(launch, tmp_path / "other-home") != name
        assert other.find(launch) is None
    finally:
        other.stop()
    assert job_type.find(launch) is not None and job_type.find(launch)["job_id"] == active.handle["job_id"]
    follow(job_type, [active])

    # A job of the same name from another folder, or of another user, is not ours either.
    retry = harness.launch("theirs", command="true")
    theirs = slurm_job_name(retry, job_type.context.home)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, **slurm_cluster.env}
    subprocess.run(["sbatch", "--hold", f"--job-name={theirs}", "-o", "/dev/null", "--wrap", "true"],
                   cwd=elsewhere, env=env, check=True, capture_output=True)
    retry.job_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sbatch", "--hold", "--uid=nobody", f"--job-name={theirs}", "-o", "/dev/null",
                    f"--chdir={retry.job_dir}", "--wrap", "true"],
                   cwd=elsewhere, env=env, check=True, capture_output=True)
    try:
        assert len(squeue_names(slurm_cluster, theirs)) == 2
        assert job_type.find(retry) is None
    finally:
        slurm_cluster.run("scancel", f"--name={theirs}", check=False)


def test_batch_scripts_have_linux_line_ends_even_where_text_files_get_crlf(
        harness: Harness, job_type: SlurmJobType, follow: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """As on Windows: text written through Path.write_text gets \\r\\n line ends. The batch script does not."""
    windows_write_text = Path.write_text

    def write_text(self: Path, data: str, encoding: str | None = None, errors: str | None = None,
                   newline: str | None = None) -> int:
        return windows_write_text(self, data.replace("\n", "\r\n"), encoding, errors)
    monkeypatch.setattr(Path, "write_text", write_text)
    launch = harness.launch("crlf-safe", command="echo fine")
    active = harness.submit(launch)
    assert b"\r" not in (launch.job_dir / f"crlf-safe.attempt1.sbatch").read_bytes()
    assert follow(job_type, [active])["crlf-safe"].state is JobState.DONE
    assert harness.log(active) == b"fine\n"
