"""The cache with an ssh job: its declared outputs, as copied back, come with the cached job folder; a changed
input makes it run on the host again."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_core.api import Workflow
from cc_core.plugins.registry import reset_registry
from cc_core.states import RunState
from cc_core.testing.sshd import SSHServer


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd: SSHServer) -> Path:
    monkeypatch.setenv("CC_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CC_SSH_CONFIG", str(sshd.config_path))
    reset_registry()
    yield tmp_path / "home"
    reset_registry()


def test_a_cached_ssh_job_brings_its_outputs_and_runs_again_when_its_input_changes(
        home: Path, tmp_path: Path, sshd: SSHServer) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "number.txt").write_text("21\n")
    ledger = tmp_path / "ledger"
    wf = Workflow("remote-cache", directory=folder)
    wf.add_job("double", kind="ssh", host=sshd.alias, command="echo $(( $(cat number.txt) * 2 )) > result.txt",
               inputs=["number.txt"], outputs=["result.txt"], cache=True,
               options={"remote_root": str(tmp_path / "remote")})
    wf.add_job("report", command=f'cat "$CC_RUN_DIR/double/result.txt" >> {ledger}', depends=["double"])

    def run() -> dict[str, dict]:
        assert wf.run(timeout=60) is RunState.DONE
        return {job["name"]: job for job in wf.status()["jobs"]}

    first = run()
    jobs = run()
    assert jobs["double"]["origin"] == {"how": "cached", "run": wf.run_id - 1, "job": "double", "attempt": 1}
    assert (Path(wf.status()["run_dir"]) / "double" / "result.txt").read_text() == "42\n"
    assert ledger.read_text() == "42\n42\n"       # the job below it read the copied-back output from the cache
    (folder / "number.txt").write_text("50\n")
    jobs = run()
    assert jobs["double"]["origin"] is None and first["double"]["origin"] is None
    assert ledger.read_text() == "42\n42\n100\n"
