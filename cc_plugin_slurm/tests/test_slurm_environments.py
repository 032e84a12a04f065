"""A SLURM job through a login host over SSH runs in an environment built on the login host's side (the shared file
system the compute nodes see), not on this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from cc_core.api import Workflow
from cc_core.plugins.registry import reset_registry
from cc_core.states import RunState
from cc_core.testing.slurm import SlurmCluster, skip_or_fail
from cc_core.testing.sshd import SSHServer, start_sshd
from cc_core.testing.wheels import make_wheel, offline_requirements


@pytest.fixture(scope="module")
def login_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    try:
        import cc_ssh  # noqa: F401
    except ImportError:
        skip_or_fail("the ssh plugin (cc-plugin-ssh) is not installed")
    server = start_sshd(tmp_path_factory.mktemp("login-sshd"), alias="cc-env-login")
    yield server
    server.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CC_HOME", str(tmp_path / "home"))
    reset_registry()
    yield tmp_path / "home"
    reset_registry()


def test_a_slurm_job_through_the_login_host_uses_an_environment_built_on_that_side(
        slurm_cluster: SlurmCluster, login_node: SSHServer, home: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "ccdemo", "1.0")
    login_side = tmp_path / "login-home" / ".cc" / "envs"
    options = {"slurm_env": {"SLURM_CONF": str(slurm_cluster.conf_path)},
               "ssh": {"ssh_config": str(login_node.config_path)},
               "remote_root": str(tmp_path / "on-login-node"), "environments": str(login_side)}
    (tmp_path / "show.py").write_text("import sys, ccdemo\nprint('ccdemo', ccdemo.VERSION, sys.executable)\n")
    wf = Workflow("slurm-env", directory=tmp_path)
    requirements = offline_requirements(wheels, "ccdemo==1.0")
    wf.add_job("script", kind="slurm", host=login_node.alias, script="show.py", requirements=requirements,
               options=options)
    wf.add_job("command", kind="slurm", host=login_node.alias, requirements=requirements, options=options,
               command="python -c 'import sys, ccdemo; print(ccdemo.VERSION, sys.prefix)'")
    assert wf.run(timeout=120, max_parallel=4) is RunState.DONE, wf.status()

    assert len((login_side / "builds.log").read_text().splitlines()) == 1
    [env] = [p for p in login_side.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert json.loads((env / "cc-env.json").read_text())["installer"] in ("pip", "uv")
    run_dir = Path(wf.status()["run_dir"])
    assert (run_dir / "script" / "script.log").read_text() == f"ccdemo 1.0 {env}/bin/python\n"
    assert (run_dir / "command" / "command.log").read_text() == f"1.0 {env}\n"
    assert not (home / "envs").exists()
