"""Connections: one per host, reconnecting after sshd went away, and the errors a user can act on."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cc_core.errors import JobTypeError
from cc_core.states import JobState
from cc_core.testing.sshd import free_port, missing_component
from cc_ssh.pool import POOL
from cc_ssh.remote import RemoteResult, shell_for


def test_one_connection_serves_every_job_check_log_read_and_cancel_of_a_host(own_sshd, remote_factory) -> None:
    remote = remote_factory(own_sshd)
    jobs = [remote.submit(f"job{i}", command=f"echo out{i}; sleep 0.3") for i in range(4)]
    remote.wait_end(*jobs)
    for i, job in enumerate(jobs):
        remote.wait_log(job, f"out{i}".encode())
    remote.job_type.cancel([jobs[0].active])
    remote.shell.run("true")  # other plugins share the connection too
    assert own_sshd.accepted_logins() == 1
    assert [c.connections_opened for c in POOL.connections()] == [1]


def test_a_check_of_many_jobs_is_one_remote_command(remote, sent) -> None:
    jobs = [remote.submit(f"many{i}", command="sleep 2" if i % 2 else "exit 0") for i in range(6)]
    connection = POOL.connections()[0]
    before = sent(connection)
    remote.job_type.check([job.active for job in jobs])
    assert sent(connection) - before == 1
    before = sent(connection)
    remote.job_type.read_logs([remote_request(job) for job in jobs])
    assert sent(connection) - before == 1
    remote.job_type.cancel([job.active for job in jobs])


def remote_request(job):
    from cc_core.plugins.jobtype import LogRequest

    return LogRequest(job.launch.key, job.launch.attempt, job.active.handle, job.launch.log_path, 0)


def test_a_job_survives_sshd_going_away_and_its_end_is_right_after_a_reconnect(own_sshd, remote_factory) -> None:
    remote = remote_factory(own_sshd)
    job = remote.submit("steady", command="echo before; sleep 1.5; echo after; exit 4")
    remote.wait_log(job, b"before")
    own_sshd.stop()  # drops the open connection too

    updates = remote.job_type.check([job.active])
    assert [(u.state, u.detail) for u in updates] == [
        (JobState.RUNNING, updates[0].detail)] and "host not answering" in updates[0].detail
    assert remote.job_type.read_logs([remote_request(job)]) == []
    assert remote.job_type.check([job.active]) == []  # the note is not repeated
    # the job ends while nobody can reach the host
    deadline = time.monotonic() + 10
    while not (Path(job.folder) / "cc.exit_code").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)

    own_sshd.start()
    update = remote.wait_end(job)["steady"]
    assert (update.state, update.exit_code) == (JobState.FAILED, 4)
    assert remote.wait_log(job, b"after") == b"before\nafter\n"
    assert POOL.connections()[0].connections_opened == 2


def test_a_refused_key_says_authentication_was_refused(sshd, remote_factory, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    config = tmp_path / "ssh_config"
    config.write_text(sshd.ssh_config_text("stranger", IdentityFile=str(stranger)).replace(
        f"    IdentityFile {sshd.user_key}\n", ""))
    remote = remote_factory(sshd, ssh_config=str(config))
    with pytest.raises(JobTypeError) as caught:
        remote.job_type.submit(remote.launch(remote.job("denied", host="stranger", command="true")))
    message = str(caught.value)
    assert "authentication refused" in message and "job 'denied'" in message and "host 'stranger'" in message
    assert "authorized_keys" in message


def test_the_user_field_is_the_login_user(remote) -> None:
    with pytest.raises(JobTypeError) as caught:
        remote.submit("as_nobody", command="true", user="nobody")
    assert "authentication refused for user 'nobody'" in str(caught.value)


def test_user_at_host_with_a_port_works(sshd, remote_factory, tmp_path: Path) -> None:
    config = tmp_path / "by_address"
    config.write_text(sshd.ssh_config_text("127.0.0.1"))
    remote = remote_factory(sshd, ssh_config=str(config))
    job = remote.submit("direct", host=f"{sshd.user}@127.0.0.1:{sshd.port}", command="echo $USER")
    assert remote.wait_end(job)["direct"].state is JobState.DONE


def test_an_unknown_host_key_is_refused_until_new_keys_are_accepted(sshd, remote_factory, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    known = tmp_path / "fresh_known_hosts"
    config = tmp_path / "ssh_config"
    config.write_text(sshd.ssh_config_text("newhost", UserKnownHostsFile=str(known)).replace(
        f"    UserKnownHostsFile {sshd.known_hosts}\n", ""))
    remote = remote_factory(sshd, ssh_config=str(config))
    with pytest.raises(JobTypeError) as caught:
        remote.submit("first", host="newhost", command="true")
    message = str(caught.value)
    assert "the host key of [127.0.0.1]" in message and "is not known" in message and "SHA256:" in message
    assert "job 'first'" in message and "host 'newhost'" in message
    assert "CC_SSH_ACCEPT_NEW_HOST_KEYS=1" in message and "accept_new_host_keys" in message
    assert not known.exists()

    monkeypatch.setenv("CC_SSH_ACCEPT_NEW_HOST_KEYS", "1")  # the same process, at once: no pause to wait out
    job = remote.submit("second", host="newhost", command="true")
    assert remote.wait_end(job)["second"].state is JobState.DONE
    assert known.read_text() == sshd.host_key_line()  # recorded, as ssh would

    POOL.clear()
    monkeypatch.delenv("CC_SSH_ACCEPT_NEW_HOST_KEYS")
    assert remote.submit("third", host="newhost", command="true").handle["pid"] > 0


def test_the_accept_option_records_new_keys_too(sshd, remote_factory, tmp_path: Path) -> None:
    known = tmp_path / "option_known_hosts"
    config = tmp_path / "ssh_config"
    config.write_text(sshd.ssh_config_text("opted").replace(str(sshd.known_hosts), str(known)))
    remote = remote_factory(sshd, ssh_config=str(config), accept_new_host_keys=True)
    remote.submit("opted_in", host="opted", command="true")
    assert known.read_text() == sshd.host_key_line()


def test_a_changed_host_key_is_refused(sshd, remote_factory, tmp_path: Path) -> None:
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known = tmp_path / "stale_known_hosts"
    kind, blob = Path(f"{other}.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{sshd.port} {kind} {blob}\n")
    config = tmp_path / "ssh_config"
    config.write_text(sshd.ssh_config_text("changed").replace(str(sshd.known_hosts), str(known)))
    remote = remote_factory(sshd, ssh_config=str(config), accept_new_host_keys=True)
    with pytest.raises(JobTypeError) as caught:
        remote.submit("wary", host="changed", command="true")
    assert "has CHANGED" in str(caught.value) and "ssh-keygen -R" in str(caught.value)


def test_an_unreachable_host_is_named_with_the_way_out(sshd, remote_factory, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(sshd.ssh_config_text("nobody-home").replace(f"Port {sshd.port}", f"Port {free_port()}"))
    remote = remote_factory(sshd, ssh_config=str(config), reconnect_window=1)   # tried again for 1 s, then given up
    started = time.monotonic()
    with pytest.raises(JobTypeError) as caught:
        remote.submit("stranded", host="nobody-home", command="true")
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "host unreachable" in message and "connection refused" in message
    assert "job 'stranded'" in message and "host 'nobody-home'" in message and "sshd running" in message


def test_proxyjump_reaches_a_host_through_another(sshd, remote_factory, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(sshd.ssh_config_text() + sshd.ssh_config_text("behind", ProxyJump=sshd.alias))
    remote = remote_factory(sshd, ssh_config=str(config))
    job = remote.submit("jumped", host="behind", command="echo $SSH_CONNECTION")
    assert remote.wait_end(job)["jumped"].state is JobState.DONE
    # the inner connection comes from the jump host's side: sshd itself, not this process
    assert remote.wait_log(job, b"\n").startswith(b"127.0.0.1 ")


def test_agent_keys_are_offered(sshd, remote_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("ssh-agent") is None or shutil.which("ssh-add") is None:
        missing_component("ssh-agent/ssh-add are not installed (apt-get install openssh-client)")
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not socket_path.exists():
            assert time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.02)
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path)}
        subprocess.run(["ssh-add", "-q", str(sshd.user_key)], check=True, env=env, timeout=10)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        config = tmp_path / "ssh_config"
        config.write_text(sshd.ssh_config_text("agented").replace(f"    IdentityFile {sshd.user_key}\n", "")
                          .replace("    IdentitiesOnly yes\n", ""))
        remote = remote_factory(sshd, ssh_config=str(config))
        job = remote.submit("by_agent", host="agented", command="true")
        assert remote.wait_end(job)["by_agent"].state is JobState.DONE
    finally:
        agent.terminate()
        agent.wait(5)


def test_shell_for_runs_commands_and_copies_files(sshd, tmp_path: Path) -> None:
    shell = shell_for(sshd.alias, config_path=str(sshd.config_path))
    assert shell is shell_for(sshd.alias, config_path=str(sshd.config_path))
    assert shell.run("echo out; echo err >&2; exit 3") == RemoteResult(3, "out\n", "err\n")
    assert shell.run("cat", stdin="fed in").stdout == "fed in"
    source = tmp_path / "sent.txt"
    source.write_text("to the host\n")
    target = tmp_path / "landing" / "sent.txt"
    target.parent.mkdir()
    shell.put(source, str(target))
    back = tmp_path / "back" / "got.txt"
    shell.get(str(target), back)
    assert back.read_text() == "to the host\n"
    with pytest.raises(FileNotFoundError):
        shell.get(str(tmp_path / "nothing-here"), tmp_path / "x")
    with pytest.raises(JobTypeError) as caught:
        shell.run("sleep 5", timeout=0.5)
    assert "did not finish within 0.5 s" in str(caught.value)
    assert shell.run("echo again").stdout == "again\n"
    assert shell.connection.connections_opened == 1  # a slow command does not cost the connection


def test_a_cancel_the_host_missed_is_sent_once_it_answers(own_sshd, remote_factory, alive) -> None:
    remote = remote_factory(own_sshd)
    job = remote.submit("unstoppable", command="sleep 300")
    own_sshd.stop()
    remote.job_type.cancel([job.active])  # nobody there: kept, not lost
    assert [u.state for u in remote.job_type.check([job.active])] == [JobState.RUNNING]
    own_sshd.start()
    assert remote.wait_end(job)["unstoppable"].state is JobState.KILLED
    assert alive(remote.shell, [int(job.handle["pid"])]) == []


def test_a_submission_while_sshd_is_down_goes_through_once_it_is_back(own_sshd, remote_factory, caplog) -> None:
    import logging
    import threading

    from cc_core.testing.polling import wait_for

    remote = remote_factory(own_sshd, reconnect_window=60)
    own_sshd.stop()
    caplog.set_level(logging.WARNING, logger="cc_ssh")
    result: dict[str, object] = {}

    def submit() -> None:
        try:
            result["job"] = remote.submit("patient", command=f"echo ran >> {remote.root}/ran.txt")
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            result["error"] = exc
    thread = threading.Thread(target=submit)
    thread.start()
    wait_for(lambda: "submitting again" in caplog.text, timeout=20, what="a failed try of the submission")
    own_sshd.start()
    thread.join(60)
    assert "error" not in result, result.get("error")
    job = result["job"]
    assert remote.wait_end(job)["patient"].state is JobState.DONE
    assert (remote.root / "ran.txt").read_text() == "ran\n"   # it ran once


def test_a_submission_gives_up_after_the_reconnect_window(own_sshd, remote_factory) -> None:
    from cc_core.errors import JobTypeError

    remote = remote_factory(own_sshd, reconnect_window=1.5)
    own_sshd.stop()
    started = time.monotonic()
    with pytest.raises(JobTypeError) as caught:
        remote.submit("hopeless", command="true")
    assert time.monotonic() - started >= 1.0
    message = str(caught.value)
    assert "job 'hopeless'" in message and "host unreachable" in message and "(tried for" in message
    assert "next try in" not in message
