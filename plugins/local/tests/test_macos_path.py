"""The local job type's macOS path, run on Linux: :class:`~cc_local.process_ops.macos.MacOSOps` selected, cc's
``/proc`` readers, ``os.pidfd_open`` and ``select.epoll`` taken away (cc_local.process_ops.simulated). psutil and
the processes are real; what this cannot show is psutil's and the kernel's own behaviour on macOS."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from cc_core.plugins.jobtype import ActiveJob, JobTypeContext
from cc_core.states import JobState
from cc_core.testing.contract import ContractEnv, Harness, JobTypeContract, count_local_processes
from cc_core.testing.polling import wait_for
from cc_local.jobtype import LocalJobType
from cc_local.process_ops.macos import MacOSOps
from cc_local.process_ops.simulated import select_macos_path


@pytest.fixture(autouse=True)
def macos_path(monkeypatch: pytest.MonkeyPatch) -> MacOSOps:
    return select_macos_path(monkeypatch)


def make_job_type(home: Path) -> LocalJobType:
    return LocalJobType(JobTypeContext(home=home, options={"kill_grace": 2}))


class TestLocalContractOnMacOSPath(JobTypeContract):
    @pytest.fixture
    def contract_env(self, tmp_path: Path, macos_path: MacOSOps) -> ContractEnv:
        def make() -> LocalJobType:
            job_type = make_job_type(tmp_path / "home")
            assert job_type.ops is macos_path and not job_type.ops.supervised
            return job_type
        return ContractEnv(job_type=make(), kind="local", host="localhost", workflow_dir=tmp_path / "wf",
                           run_dir=tmp_path / "run", new_job_type=make, timeout=20)


@pytest.fixture
def stranger() -> Iterator["subprocess.Popen[bytes]"]:
    """A process of someone else's in all that matters: its own session and group, not started by cc."""
    process = subprocess.Popen(["sleep", "600"], start_new_session=True)
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    env = ContractEnv(job_type=make_job_type(tmp_path / "home"), kind="local", host="localhost",
                      workflow_dir=tmp_path / "wf", run_dir=tmp_path / "run", timeout=20)
    env.run_dir.mkdir(parents=True)
    harness = Harness(env)
    yield harness
    env.job_type.stop()


def test_kill_ends_processes_that_left_the_session_and_the_tree(harness: Harness) -> None:
    """A grandchild in a session of its own whose parent ended (re-parented away from the job's tree, as to
    launchd on macOS) is found by the job's environment tag and ended with the job."""
    marker = f"cc-macos-{uuid.uuid4().hex[:8]}"
    launch = harness.launch("setsid", command=f"(setsid bash -c 'exec -a {marker} sleep 600' &); "
                                              "echo started; sleep 600")
    active = harness.submit(launch)
    wait_for(lambda: count_local_processes(marker) == 1, timeout=20, what="the setsid grandchild")
    harness.env.job_type.cancel([active])
    assert harness.wait_end(active).state in (JobState.KILLED, JobState.FAILED)
    wait_for(lambda: count_local_processes(marker) == 0, timeout=15, what="the setsid grandchild ended")


def _foreign_job(harness: Harness, name: str, pid: int, start: str) -> ActiveJob:
    launch = harness.launch(name, command="true")
    handle = {"pid": pid, "start": start, "pid_file": "", "exit_file": str(launch.job_dir / ".attempt1.exit")}
    return ActiveJob(launch.key, launch.attempt, handle, launch.job, launch.job_dir, launch.log_path)


def test_a_reused_pid_is_not_the_job(harness: Harness, stranger: "subprocess.Popen[bytes]") -> None:
    """A stored pid now held by another process (other start time) is neither alive for cc nor killed by it."""
    job = _foreign_job(harness, "reused", stranger.pid, "1.000000")
    updates = harness.env.job_type.check([job])
    assert [(u.state, (u.reason or "").split(":")[0]) for u in updates] == [(JobState.FAILED, "lost")]
    harness.env.job_type.cancel([job])
    assert stranger.poll() is None, "cc killed a process that merely got the job's old pid"


def test_a_pid_file_older_than_its_process_names_a_stranger(harness: Harness,
                                                            stranger: "subprocess.Popen[bytes]") -> None:
    """After a reboot, a pid file may name a process started long after it was written: ``find`` gives no start
    time for it, and the job is lost rather than followed (or killed) forever."""
    launch = harness.launch("rebooted", command="true")
    launch.job_dir.mkdir(parents=True, exist_ok=True)
    pid_file = launch.job_dir / f".attempt{launch.attempt}.pid"
    pid_file.write_text(f"{stranger.pid}\n", encoding="utf-8")
    os.utime(pid_file, (1_000_000_000, 1_000_000_000))
    handle = harness.env.job_type.find(launch)
    assert handle is not None and handle["start"] is None
    job = ActiveJob(launch.key, launch.attempt, handle, launch.job, launch.job_dir, launch.log_path)
    assert [u.state for u in harness.env.job_type.check([job])] == [JobState.FAILED]
    harness.env.job_type.cancel([job])
    assert stranger.poll() is None


def test_without_a_start_time_only_processes_of_this_user_count(macos_path: MacOSOps,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS answers ``kill(pid, 0)`` for a root daemon with EPERM, which cc took for "alive": a process of
    another user is never a job of ours."""
    if not hasattr(os, "getuid"):
        pytest.skip("POSIX users")
    me = os.getpid()
    assert macos_path.is_alive(me, None)
    monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 4242)
    assert not macos_path.is_alive(me, None)


def test_exits_are_watched_without_pidfd_or_epoll(harness: Harness) -> None:
    assert not hasattr(os, "pidfd_open") and not hasattr(__import__("select"), "epoll")
    active = harness.submit(harness.launch("exits", command="exit 5"))
    end = harness.wait_end(active)
    assert (end.state, end.exit_code) == (JobState.FAILED, 5)


def test_signal_ends_job_started_by_the_macos_path(harness: Harness) -> None:
    launch = harness.launch("term", command="trap 'exit 7' TERM; echo started; sleep 600 & wait")
    active = harness.submit(launch)
    wait_for(lambda: launch.log_path.exists() and b"started" in launch.log_path.read_bytes(), what="trap set")
    harness.env.job_type.cancel([active])
    end = harness.wait_end(active)
    assert (end.state, end.exit_code) == (JobState.FAILED, 7)


def test_the_job_type_says_how_it_finds_processes(tmp_path: Path) -> None:
    assert make_job_type(tmp_path).describe() == {"process tracking": "process group, descendants and environment tag"}
