"""Analytics functions on an ssh host (the private sshd): payload and result through the ssh job type's own
staging."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from cc_core.functions.process_run import forget_process_run
from cc_core.plugins.registry import reset_registry
from cc_core.testing.functions import calls_home, check_calls, check_kill_and_timeout, check_main_and_resume
from cc_core.testing.sshd import SSHServer


@pytest.fixture
def fields(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd: SSHServer) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("CC_HOME", str(calls_home(tmp_path / "home")))
    monkeypatch.setenv("CC_SSH_CONFIG", str(sshd.config_path))
    reset_registry()
    forget_process_run()
    yield {"kind": "ssh", "host": sshd.alias, "python": sys.executable,
           "options": {"remote_root": str(tmp_path / "remote")}}
    forget_process_run()
    reset_registry()


def test_calls_on_an_ssh_host(fields: dict[str, Any], tmp_path: Path) -> None:
    check_calls(**fields)
    assert list((tmp_path / "remote").rglob("call.pkl")), "the payload went through the host's job folders"


def test_kill_and_timeout_on_an_ssh_host(fields: dict[str, Any]) -> None:
    check_kill_and_timeout(**fields)


def test_main_and_resume_on_an_ssh_host(fields: dict[str, Any], tmp_path: Path) -> None:
    check_main_and_resume(tmp_path, **fields)
