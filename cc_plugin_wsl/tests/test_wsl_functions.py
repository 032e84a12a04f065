"""Analytics functions in WSL (the stand-in): the call's folder reached through /mnt/c, the far-side runner
started with the job's Python inside the distribution."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from cc_core.functions.process_run import forget_process_run
from cc_core.plugins.registry import reset_registry
from cc_core.testing.functions import calls_home, check_calls, check_kill_and_timeout, check_main_and_resume


@pytest.fixture
def fields(standin: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("CC_HOME", str(calls_home(standin.drive / "Users" / "me" / ".cc")))
    monkeypatch.setenv("CC_WSL_DRIVE_ROOT", str(standin.drive))
    project = standin.drive / "Users" / "me" / "project"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    reset_registry()
    forget_process_run()
    yield {"kind": "wsl", "python": sys.executable}
    forget_process_run()
    reset_registry()


def test_calls_in_wsl(fields: dict[str, Any]) -> None:
    check_calls(**fields)


def test_kill_and_timeout_in_wsl(fields: dict[str, Any]) -> None:
    check_kill_and_timeout(**fields)


def test_main_and_resume_in_wsl(fields: dict[str, Any], tmp_path: Path) -> None:
    check_main_and_resume(tmp_path, **fields)
