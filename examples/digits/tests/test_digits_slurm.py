"""The digits workflow with its training jobs on the test SLURM cluster, submitted through a login host over SSH
(the private sshd in front of the private cluster), with a remote folder of its own: the prepared digits reach
the training jobs as staged inputs and the metrics come back as outputs, not through a shared disk."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from cc_core.testing.slurm import SlurmCluster, skip_or_fail
from cc_core.testing.sshd import SSHServer, start_sshd


@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    with SlurmCluster(cpus=8) as started:   # room for the six training jobs side by side
        yield started


@pytest.fixture(scope="module")
def login_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    try:
        import cc_ssh  # noqa: F401
    except ImportError:
        skip_or_fail("the ssh plugin (cc-plugin-ssh) is not installed")
    server = start_sshd(tmp_path_factory.mktemp("login-sshd"), alias="cc-login")
    yield server
    server.close()


def test_training_on_slurm_through_login_host(digits: Any, cluster: SlurmCluster, login_node: SSHServer,
                                              tmp_path: Path) -> None:
    home = tmp_path / "home"
    remote_root = tmp_path / "on-login-node"
    home.mkdir()
    # The login host finds the cluster through SLURM_CONF, as a real login node would through /etc/slurm.
    (home / "config.yaml").write_text(yaml.safe_dump({"job_types": {"slurm": {
        "slurm_env": {"SLURM_CONF": str(cluster.conf_path)},
        "ssh": {"ssh_config": str(login_node.config_path)},
        "remote_root": str(remote_root)}}}))
    result = digits.ccw("run", str(digits.workflow), "--no-live", "-j", "8", *digits.quick,
                        "--set", "defaults.kind=slurm", "--set", f"defaults.host={login_node.alias}",
                        "--set", f"defaults.python={sys.executable}", home=home, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    status = digits.status(home)
    jobs = {job["name"]: job for job in status["jobs"]}
    assert {name: (job["kind"], job["state"]) for name, job in jobs.items()} == {
        **{name: ("slurm", "done") for name in digits.trained},
        "prepare": ("local", "done"), "compare": ("local", "done")}
    run_dir, run_id = Path(status["run_dir"]), status["id"]
    for name in digits.trained:
        there = remote_root / str(run_id) / name / "1"
        assert (there / "digits.npz").is_file(), f"{name}: the prepared digits were not staged to {there}"
        assert (there / "metrics.json").is_file()
        metrics = json.loads((run_dir / name / "metrics.json").read_text())   # came back as an output
        assert metrics["data"] == "digits.npz", "trained on the staged copy"
        assert (run_dir / name / "model.pt").is_file()
        assert metrics["epochs"] == digits.epochs and metrics["threads"] == 1
        log = Path(jobs[name]["log_path"]).read_text()
        assert len(digits.epoch_lines(log)) == digits.epochs, log
        assert jobs[name]["progress"] == 100 and jobs[name]["message"].startswith("test_acc=")
    # The distributed CNN: one SLURM job of 2 tasks, the ranks started by srun.
    distributed = json.loads((run_dir / "distributed" / "metrics.json").read_text())
    assert distributed["world_size"] == 2
    assert [(r["rank"], r["slurm_task"]) for r in distributed["ranks"]] == [(0, "0"), (1, "1")]
    assert distributed["ranks"][0]["slurm_step"] == distributed["ranks"][1]["slurm_step"] not in (None, "batch")
    log = Path(jobs["distributed"]["log_path"]).read_text()
    assert "starting 2 ranks with srun" in log
    for rank in (0, 1):
        assert f"[rank {rank}] epoch {digits.epochs}/{digits.epochs}" in log, log
    assert (run_dir / "compare" / "report.md").is_file() and (run_dir / "compare" / "val_accuracy.png").is_file()
