"""cc_core.testing.sshd: the private sshd the ssh and SLURM suites start."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cc_core.testing import sshd as sshd_helper
from cc_core.testing.sshd import SSHServer


def test_a_missing_sshd_skips_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sshd_helper, "SSHD", "/nonexistent/sshd")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="openssh-server"):
        sshd_helper.require_sshd()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        sshd_helper.require_sshd()


def test_the_server_is_private_and_restarts_on_its_port(own_sshd: SSHServer) -> None:
    text = own_sshd.sshd_config.read_text()
    assert f"AuthorizedKeysFile {own_sshd.authorized_keys}" in text and "Subsystem sftp" in text
    assert own_sshd.authorized_keys.parent == own_sshd.directory and not str(own_sshd.directory).startswith(
        str(Path.home() / ".ssh"))
    if shutil.which("ssh") is None:
        sshd_helper.missing_component("the ssh client is not installed (apt-get install openssh-client)")

    def ssh(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ssh", "-F", str(own_sshd.config_path), "-o", "ConnectTimeout=5", own_sshd.alias,
                               *command], capture_output=True, text=True, timeout=30)

    assert ssh("echo", "ok").stdout == "ok\n"  # the ssh_config alone is enough: key, port, known host
    port = own_sshd.port
    own_sshd.stop()
    assert not own_sshd.running and ssh("true").returncode == 255
    own_sshd.start()
    assert own_sshd.port == port and ssh("echo", "back").stdout == "back\n"
    assert own_sshd.accepted_logins() == 2
