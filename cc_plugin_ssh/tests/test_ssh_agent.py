"""The host agent: ends and log lines pushed as they happen, and nothing lost or run twice when it or sshd dies."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from cc_core.plugins.jobtype import JobUpdate, LogRequest
from cc_core.states import JobState
from cc_core.testing.polling import wait_for
from cc_ssh.agent import agent_for
from cc_ssh.pool import POOL
from cc_ssh.remote import shell_for

DEADLINE = 60.0


class Pushed:
    """The updates a job type pushes (as the engine's sink receives them)."""

    def __init__(self) -> None:
        self.updates: list[JobUpdate] = []
        self._lock = threading.Lock()

    def __call__(self, update: JobUpdate) -> None:
        with self._lock:
            self.updates.append(update)

    def ends(self) -> dict[str, JobUpdate]:
        with self._lock:
            return {u.key: u for u in self.updates if u.state.is_final}


def pushing(remote: Any) -> Pushed:
    sink = Pushed()
    remote.job_type.start(sink)
    return sink


def final_log(remote: Any, job: Any) -> bytes:
    request = LogRequest(job.launch.key, job.launch.attempt, job.active.handle, job.launch.log_path, 0, final=True)
    return b"".join(chunk.data for chunk in remote.job_type.read_logs([request]))


def follow_until_ended(remote: Any, sink: Pushed, jobs: list[Any]) -> dict[str, JobUpdate]:
    """Ends pushed, or found by checks (as the engine checks once a second), until every job ended."""
    ends: dict[str, JobUpdate] = {}

    def all_ended() -> bool:
        ends.update(sink.ends())
        active = [job.active for job in jobs if job.launch.key not in ends]
        ends.update({u.key: u for u in remote.job_type.check(active) if u.state.is_final})
        return len(ends) == len(jobs)

    wait_for(all_ended, timeout=DEADLINE, what="every job's end", interval=0.5)
    return ends


def test_a_jobs_end_and_log_arrive_without_any_check(remote, sent) -> None:
    sink = pushing(remote)
    job = remote.submit("pushed", command="echo one; echo two; exit 3")
    end = wait_for(lambda: sink.ends().get("pushed"), timeout=DEADLINE, what="the pushed end")
    assert (end.state, end.exit_code) == (JobState.FAILED, 3)
    connection = POOL.connections()[0]
    before = sent(connection)
    assert final_log(remote, job) == b"one\ntwo\n"
    assert sent(connection) == before   # the log was copied as it grew: reading it asks the host nothing
    assert job.launch.log_path.read_bytes() == b"one\ntwo\n"


def test_progress_lines_are_copied_while_the_job_runs(remote, sent) -> None:
    sink = pushing(remote)
    job = remote.submit("talker", command="echo '# cc progress=40'; sleep 300")
    wait_for(lambda: b"progress=40" in (job.launch.log_path.read_bytes() if job.launch.log_path.exists() else b""),
             timeout=DEADLINE, what="the progress line in the local log")
    connection = POOL.connections()[0]
    before = sent(connection)
    data, offset = remote.read_log(job)
    assert data == b"# cc progress=40\n" and offset == len(data)
    assert sent(connection) == before
    remote.job_type.cancel([job.active])
    end = wait_for(lambda: sink.ends().get("talker"), timeout=DEADLINE, what="the end of the cancelled job")
    assert end.state is JobState.KILLED


def test_outputs_are_copied_back_before_a_pushed_end(remote) -> None:
    sink = pushing(remote)
    job = remote.submit("maker", command="echo made > out.txt", outputs=["out.txt"])
    end = wait_for(lambda: sink.ends().get("maker"), timeout=DEADLINE, what="the pushed end")
    assert end.state is JobState.DONE
    assert (job.launch.job_dir / "out.txt").read_text() == "made\n"


def test_a_killed_agent_falls_back_to_checks_and_a_new_agent_takes_over(remote, tmp_path: Path) -> None:
    sink = pushing(remote)
    counts = tmp_path / "counts"
    counts.mkdir()
    jobs = [remote.submit(f"steady{i}", command=f"echo run >> {counts}/{i}; sleep 2; echo done-{i}")
            for i in range(3)]
    first = agent_for(POOL.connections()[0], start=False)
    assert first is not None and first.pid
    os.kill(first.pid, signal.SIGKILL)
    wait_for(lambda: not first.alive, timeout=DEADLINE, what="the agent's loss noticed")
    late = remote.submit("late", command=f"echo run >> {counts}/late")
    ends = follow_until_ended(remote, sink, [*jobs, late])
    assert {key: u.state for key, u in ends.items()} == {key: JobState.DONE for key in ends}
    assert sorted(p.name for p in counts.iterdir()) == ["0", "1", "2", "late"]
    assert all(p.read_text() == "run\n" for p in counts.iterdir())   # each ran exactly once
    assert final_log(remote, jobs[0]).endswith(b"done-0\n")
    second = agent_for(POOL.connections()[0], start=False)
    assert second is not None and second is not first and second.alive


def test_every_job_runs_once_when_sshd_is_killed_and_restarted_mid_run(own_sshd, remote_factory,
                                                                      tmp_path: Path) -> None:
    remote = remote_factory(own_sshd, reconnect_backoff_max=0.5)
    sink = pushing(remote)
    counts = tmp_path / "counts"
    counts.mkdir()
    jobs: list[Any] = []
    failures: list[BaseException] = []

    def submit_all() -> None:
        try:
            for i in range(20):
                jobs.append(remote.submit(f"j{i}", command=f"echo run >> {counts}/{i}; sleep 0.5"))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    submitting = threading.Thread(target=submit_all)
    submitting.start()
    wait_for(lambda: len(jobs) >= 6, timeout=DEADLINE, what="some jobs submitted")
    own_sshd.stop()   # every process of the sshd: the connection, the agent, open sessions
    own_sshd.start()
    submitting.join(DEADLINE)
    assert not submitting.is_alive() and not failures, failures
    ends = follow_until_ended(remote, sink, jobs)
    assert len(ends) == 20 and all(u.state is JobState.DONE for u in ends.values())
    assert sorted(int(p.name) for p in counts.iterdir()) == list(range(20))
    assert all(p.read_text() == "run\n" for p in counts.iterdir())
    assert POOL.connections()[0].connections_opened == 2


def test_login_host_commands_run_through_the_agent(sshd) -> None:
    shell = shell_for(sshd.alias, config_path=str(sshd.config_path))
    assert shell.run("echo first").stdout == "first\n"
    agent = agent_for(shell.connection, start=False)
    assert agent is not None
    requests, commands = agent.requests, shell.connection.commands_run
    result = shell.run("cat; echo \"$0\" >&2; exit 5", stdin="fed\n")
    assert (result.exit_code, result.stdout) == (5, "fed\n") and result.stderr.strip()
    assert agent.requests == requests + 1 and shell.connection.commands_run == commands


def test_agent_false_follows_jobs_with_plain_commands(remote_factory, sshd) -> None:
    remote = remote_factory(sshd, agent=False)
    sink = pushing(remote)
    job = remote.submit("plain", command="echo plain")
    assert remote.wait_end(job)["plain"].state is JobState.DONE
    assert agent_for(POOL.connections()[0], start=False) is None and sink.ends() == {}


def test_a_host_without_python3_is_followed_with_plain_commands(remote, monkeypatch, caplog) -> None:
    import cc_ssh.agent

    monkeypatch.setattr(cc_ssh.agent, "BOOTSTRAP", "cc-no-such-python3 -u -c pass")
    sink = pushing(remote)
    job = remote.submit("plain", command="echo plain; exit 2")
    end = remote.wait_end(job)["plain"]
    assert (end.state, end.exit_code) == (JobState.FAILED, 2)
    assert remote.wait_log(job, b"plain") == b"plain\n"
    assert agent_for(POOL.connections()[0]) is None and sink.ends() == {}
    assert "has no python3" in caplog.text
