from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path
from typing import Callable, Iterator

import pytest

from cc_core.testing.polling import ccw_command


@pytest.fixture
def cc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A CC_HOME of the test's own, for this process and the ccw processes it starts. Jobs still running in it
    when the test ends (a test that failed half-way) are killed, so no test leaves processes behind."""
    home = tmp_path / "cc-home"
    monkeypatch.setenv("CC_HOME", str(home))
    yield home
    _kill_leftover_jobs(home)


def _kill_leftover_jobs(home: Path) -> None:
    database = home / "cc.db"
    if not database.exists():
        return
    import json
    import signal
    import sqlite3

    conn = sqlite3.connect(database)
    try:
        rows = conn.execute("SELECT handle FROM jobs WHERE state IN ('queued', 'running') AND handle IS NOT NULL")
        handles = [json.loads(row[0]) for row in rows]
    finally:
        conn.close()
    for handle in handles:
        pid = handle.get("pid")
        if isinstance(pid, int) and "host" not in handle:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[..., Path]:
    """Write a workflow file (and optional scripts) into a folder of the test's own."""
    def write(text: str, name: str = "workflow.yaml", folder: str = "wf", **files: str) -> Path:
        directory = tmp_path / folder
        directory.mkdir(parents=True, exist_ok=True)
        for file_name, content in files.items():
            path = directory / file_name.replace("__", ".")
            path.write_text(textwrap.dedent(content))
            if path.suffix == ".sh":
                path.chmod(0o755)
        target = directory / name
        target.write_text(textwrap.dedent(text))
        return target
    return write


@pytest.fixture
def ccw(cc_home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ccw in a new process with the test's CC_HOME."""
    def run(*args: str, timeout: float = 60, check: bool = False, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(ccw_command(*args), capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, "CC_HOME": str(cc_home)}, cwd=cwd)
        if check and result.returncode != 0:
            raise AssertionError(f"ccw {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result
    return run
