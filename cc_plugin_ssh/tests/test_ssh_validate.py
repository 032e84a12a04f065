"""Problems an ssh job has that are found before anything runs (no connection is made)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_core.plugins.jobtype import JobTypeContext
from cc_core.testing.sshd import SSHServer
from cc_core.workflow.model import JobSpec
from cc_ssh.jobtype import SSHJobType
from cc_ssh.pool import POOL

CONFIG = """\
Host server1
    HostName 127.0.0.1
    User alice
Host hidden
    HostName no-such-name.invalid
    ProxyJump server1
"""


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    (tmp_path / "run.sh").write_text("echo hi\n")
    (tmp_path / "ssh_config").write_text(CONFIG)
    return tmp_path


def problems(workflow: Path, **fields) -> list[str]:
    job_type = SSHJobType(JobTypeContext(home=workflow / "home",
                                         options={"ssh_config": str(workflow / "ssh_config")}))
    fields.setdefault("script", "run.sh")
    return job_type.validate(JobSpec(name="j", kind="ssh", **fields), workflow)


def test_a_good_job_has_no_problems_and_makes_no_connection(workflow: Path) -> None:
    assert problems(workflow, host="server1") == []
    assert problems(workflow, host="hidden") == []  # resolved by its jump host
    assert problems(workflow, host="bob@server1:2222", user="bob") == []
    assert POOL.connections() == []


def test_an_unknown_host_is_a_problem_naming_the_config_file(workflow: Path) -> None:
    found = problems(workflow, host="nowhere.invalid")
    assert len(found) == 1
    assert "host 'nowhere.invalid' is not an alias in" in found[0] and str(workflow / "ssh_config") in found[0]


def test_a_missing_script_or_input_is_a_problem(workflow: Path) -> None:
    found = problems(workflow, host="server1", script="gone.sh", inputs=["data.csv", "*.parquet"])
    assert any("script 'gone.sh' does not exist" in p for p in found)
    assert any("input 'data.csv' does not exist" in p for p in found)
    assert any("input '*.parquet' matches no file" in p for p in found)


def test_bad_options_are_problems(workflow: Path) -> None:
    found = problems(workflow, host="server1", options={"remote_rot": "/x"})
    assert found == ["unknown ssh option 'remote_rot' (known: ssh_config, accept_new_host_keys, "
                     "remote_root, connect_timeout, command_timeout, kill_grace, reconnect_backoff_max, "
                     "reconnect_window, environments, conda_root, agent)"]


def test_a_missing_config_file_is_a_problem(workflow: Path) -> None:
    found = problems(workflow, host="server1", options={"ssh_config": str(workflow / "nope")})
    assert len(found) == 1 and f"the ssh config file {workflow / 'nope'} does not exist" in found[0]


def test_two_users_for_one_job_is_a_problem(workflow: Path) -> None:
    found = problems(workflow, host="bob@server1", user="carol")
    assert found == ["host 'bob@server1' names user 'bob' but user: says 'carol'; give the user in one place"]


def test_env_names_a_shell_cannot_take_are_a_problem(workflow: Path) -> None:
    found = problems(workflow, host="server1", env={"GOOD_NAME": "1", "bad-name": "2"})
    assert len(found) == 1 and "'bad-name'" in found[0]


def test_inputs_of_a_job_with_parents_may_be_made_by_them(workflow: Path) -> None:
    assert problems(workflow, host="server1", inputs=["made_by_parent.csv"], depends=["parent"]) == []


def test_an_ssh_job_without_a_host_is_a_problem(workflow: Path) -> None:
    found = problems(workflow)
    assert found == [f"an ssh job needs a host: give 'host:' as an alias from {workflow / 'ssh_config'} or as "
                     "user@server"]


def test_a_script_with_windows_line_ends_is_warned_about(tmp_path: Path, sshd: SSHServer) -> None:
    """ccw validate and ccw run warn about a CRLF script going to a Linux host (the run goes on)."""
    import os
    import subprocess

    from cc_core.testing.polling import ccw_command

    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "build.sh").write_bytes(b"true\r\n")
    (folder / "clean.sh").write_bytes(b"echo clean\n")
    (folder / "workflow.yaml").write_text(
        f"name: crlf\njobs:\n"
        f"  build: {{kind: ssh, host: {sshd.alias}, script: build.sh, options: {{remote_root: {tmp_path / 'r'}}}}}\n"
        f"  clean: {{kind: ssh, host: {sshd.alias}, script: clean.sh, options: {{remote_root: {tmp_path / 'r'}}}}}\n")
    env = {**os.environ, "CC_HOME": str(tmp_path / "home"), "CC_SSH_CONFIG": str(sshd.config_path)}
    for command in ("validate", "run"):
        done = subprocess.run(ccw_command(command, str(folder / "workflow.yaml")), capture_output=True, text=True,
                              env=env, timeout=120)
        warnings = [line for line in done.stderr.splitlines() if "Windows line ends" in line]
        assert len(warnings) == 1, done.stderr
        assert f"job 'build': script build.sh has Windows line ends (CRLF)" in warnings[0]
        assert f"Linux host '{sshd.alias}'" in warnings[0] and "dos2unix build.sh" in warnings[0]
    assert done.returncode == 1   # the shell on the host looks for a command 'true\r': the job fails, as warned
