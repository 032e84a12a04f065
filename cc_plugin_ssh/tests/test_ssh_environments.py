"""Environments built on the ssh host (a real sshd on this machine whose side has a cc folder of its own)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from cc_core.api import Workflow
from cc_core.home import open_store
from cc_core.plugins.registry import reset_registry
from cc_core.states import RunState
from cc_core.testing.polling import ccw_command
from cc_core.testing.sshd import SSHServer
from cc_core.testing.wheels import make_wheel, offline_requirements

PRINT = "python -c \"import sys, ccdemo; print('ccdemo', ccdemo.VERSION, sys.prefix)\""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd: SSHServer) -> Iterator[Path]:
    monkeypatch.setenv("CC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CC_SSH_CONFIG", str(sshd.config_path))
    reset_registry()
    yield tmp_path / "home"
    reset_registry()


def _run(name: str, folder: Path, sshd: SSHServer, options: dict[str, str], requirements: list[str],
         jobs: int = 10) -> Workflow:
    wf = Workflow(name, directory=folder)
    for i in range(jobs):
        wf.add_job(f"job{i}", kind="ssh", host=sshd.alias, command=PRINT, requirements=requirements, options=options)
    assert wf.run(timeout=120, max_parallel=10) is RunState.DONE, wf.status()
    return wf


def test_ten_ssh_jobs_share_one_environment_built_on_the_host_and_the_next_run_none(
        home: Path, tmp_path: Path, sshd: SSHServer) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "ccdemo", "1.0")
    ssh_side = tmp_path / "ssh-side-home" / ".cc" / "envs"
    options = {"remote_root": str(tmp_path / "remote"), "environments": str(ssh_side)}
    requirements = offline_requirements(wheels, "ccdemo==1.0")
    first = _run("remote-envs", tmp_path, sshd, options, requirements)

    builds = (ssh_side / "builds.log").read_text().splitlines()
    assert len(builds) == 1, builds
    [env] = [p for p in ssh_side.iterdir() if p.is_dir() and not p.name.startswith(".")]
    record = json.loads((env / "cc-env.json").read_text())
    assert "ccdemo==1.0" in record["requirements"] and record["python_path"] == f"{env}/bin/python"
    run_dir = Path(first.status()["run_dir"])
    for i in range(10):
        assert (run_dir / f"job{i}" / f"job{i}.log").read_text() == f"ccdemo 1.0 {env}\n"
    # Built on the ssh side only: nothing in this side's cc folder.
    assert not (home / "envs").exists()
    history: dict[str, list[str]] = {}
    for change in open_store().get_transitions(first.status()["id"]):
        history.setdefault(change.job, []).append(change.state.value)
    assert sum("preparing" in states for states in history.values()) == 1, history

    _run("remote-envs", tmp_path, sshd, options, requirements, jobs=3)
    assert len((ssh_side / "builds.log").read_text().splitlines()) == 1

    # ccw envs asks the host itself; the settings file names the host's cache folder.
    (home / "config.yaml").write_text(f"environments: {{{sshd.alias}: {ssh_side}}}\n")
    listed = subprocess.run(ccw_command("envs", "--kind", "ssh", "--host", sshd.alias, "--json"), text=True,
                            capture_output=True, timeout=60, env=dict(os.environ))
    assert listed.returncode == 0, listed.stderr
    [info] = json.loads(listed.stdout)
    assert (info["host"], info["name"], info["complete"]) == (sshd.alias, env.name, True)
    assert info["size"] > 1000 and "ccdemo==1.0" in info["requirements"]


def test_a_failing_requirement_on_the_ssh_host_fails_the_job_with_pips_message(
        home: Path, tmp_path: Path, sshd: SSHServer) -> None:
    ssh_side = tmp_path / "ssh-side" / "envs"
    wf = Workflow("remote-broken", directory=tmp_path)
    wf.add_job("one", kind="ssh", host=sshd.alias, command="true",
               requirements=offline_requirements(tmp_path / "no-wheels", "ccdemo==9.9"),
               options={"remote_root": str(tmp_path / "remote"), "environments": str(ssh_side)})
    assert wf.run(timeout=120) is RunState.FAILED
    [job] = wf.status()["jobs"]
    assert job["state"] == "failed" and job["reason"].startswith("environment ")
    assert f"could not be built on {sshd.alias}" in job["reason"]
    log = (Path(wf.status()["run_dir"]) / "one" / "one.log").read_text()
    assert "No matching distribution found for ccdemo==9.9" in log
    assert [p.name for p in ssh_side.iterdir() if not p.name.startswith(".")] == []
