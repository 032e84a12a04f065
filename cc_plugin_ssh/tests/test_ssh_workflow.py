"""A workflow across this machine and an ssh host, run through cc's Python API (engine, store, scheduler)."""

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


def test_a_local_then_ssh_then_local_workflow_passes_files_along(home: Path, tmp_path: Path,
                                                                  sshd: SSHServer) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "double.sh").write_text(
        "n=$(cat number.txt)\necho '# cc status=running progress=50'\necho $((n * 2)) > result.txt\n"
        "echo \"doubled $n on $(hostname)\"\n")
    wf = Workflow("mixed", directory=folder)
    wf.add_job("prepare", command='echo 21 > "$CC_WORKFLOW_DIR/number.txt"')
    wf.add_job("double", kind="ssh", host=sshd.alias, script="double.sh", inputs=["number.txt"],
               outputs=["result.txt"], depends=["prepare"], options={"remote_root": str(tmp_path / "remote")})
    wf.add_job("report", command='echo "result: $(cat "$CC_RUN_DIR/double/result.txt")"', depends=["double"])

    assert wf.run(timeout=60) is RunState.DONE
    status = wf.status()
    jobs = {job["name"]: job for job in status["jobs"]}
    assert {name: (job["state"], job["exit_code"]) for name, job in jobs.items()} == {
        "prepare": ("done", 0), "double": ("done", 0), "report": ("done", 0)}
    run_dir = Path(status["run_dir"])
    assert (run_dir / "double" / "result.txt").read_text() == "42\n"
    assert "doubled 21 on" in (run_dir / "double" / "double.log").read_text()
    assert (run_dir / "report" / "report.log").read_text() == "result: 42\n"


def test_a_failing_ssh_job_skips_its_children_and_keeps_its_exit_code(home: Path, tmp_path: Path,
                                                                       sshd: SSHServer) -> None:
    wf = Workflow("broken", directory=tmp_path)
    wf.add_job("remote", kind="ssh", host=sshd.alias, command="echo trying; exit 9",
               options={"remote_root": str(tmp_path / "remote")})
    wf.add_job("after", command="echo never", depends=["remote"])
    assert wf.run(timeout=60) is RunState.FAILED
    jobs = {job["name"]: job for job in wf.status()["jobs"]}
    assert (jobs["remote"]["state"], jobs["remote"]["exit_code"]) == ("failed", 9)
    assert jobs["after"]["state"] == "skipped"


def test_a_host_limit_keeps_jobs_on_that_host_one_at_a_time(home: Path, tmp_path: Path, sshd: SSHServer) -> None:
    from cc_core.workflow.model import Limits

    wf = Workflow("limited", directory=tmp_path)
    wf.spec.limits = Limits(hosts={sshd.alias: 1})
    spans = tmp_path / "spans"
    for name in ("first", "second"):
        wf.add_job(name, kind="ssh", host=sshd.alias, options={"remote_root": str(tmp_path / "remote")},
                   command=f'echo "start $(date +%s%N)" >> {spans}; sleep 0.3; echo "end $(date +%s%N)" >> {spans}')
    assert wf.run(timeout=60) is RunState.DONE
    events = [line.split() for line in spans.read_text().splitlines()]
    assert [kind for kind, _ in events] == ["start", "end", "start", "end"]  # never two at once


def test_logs_are_kept_without_os_pwrite(home: Path, tmp_path: Path, sshd: SSHServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no os.pwrite: the fetched log is written all the same and the run ends."""
    import os

    monkeypatch.delattr(os, "pwrite", raising=False)
    wf = Workflow("no-pwrite", directory=tmp_path)
    wf.add_job("remote", kind="ssh", host=sshd.alias,
               command="echo first; echo '# cc progress=60 msg=\"half\"'; echo last",
               options={"remote_root": str(tmp_path / "remote")})
    assert wf.run(timeout=60) is RunState.DONE
    job = wf.status()["jobs"][0]
    assert (job["state"], job["message"]) == ("done", "half")
    assert Path(job["log_path"]).read_text() == "first\n# cc progress=60 msg=\"half\"\nlast\n"


def test_many_ssh_jobs_submitted_together_each_run_once(home: Path, tmp_path: Path, sshd: SSHServer) -> None:
    from cc_core.workflow.model import Limits

    counts = tmp_path / "counts"
    counts.mkdir()
    wf = Workflow("together", directory=tmp_path)
    wf.spec.limits = Limits(max_parallel=12)
    for i in range(12):
        wf.add_job(f"j{i}", kind="ssh", host=sshd.alias, options={"remote_root": str(tmp_path / "remote")},
                   command=f"echo run >> {counts}/{i}; echo 'line {i}'")
    assert wf.run(timeout=120) is RunState.DONE
    run_dir = Path(wf.status()["run_dir"])
    assert sorted(int(p.name) for p in counts.iterdir()) == list(range(12))
    assert all(p.read_text() == "run\n" for p in counts.iterdir())
    assert all((run_dir / f"j{i}" / f"j{i}.log").read_text() == f"line {i}\n" for i in range(12))
