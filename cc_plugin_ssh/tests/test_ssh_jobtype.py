"""The ssh job type against a real sshd: submit, check, logs, exit codes, interpreters, re-attach."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from cc_core.errors import JobTypeError
from cc_core.plugins.registry import build_registry
from cc_core.states import JobState
from cc_core.testing.sshd import missing_component
from cc_ssh.jobtype import SSHJobType
from cc_ssh.pool import POOL


def test_the_plugin_registers_the_ssh_job_type() -> None:
    registry = build_registry()
    assert registry.job_types.get("ssh") is SSHJobType
    assert not [p for p in registry.plugins if p.distribution == "cc-plugin-ssh" and p.error]


def test_a_script_runs_remotely_with_its_log_progress_and_exit_code(remote) -> None:
    remote.write("count.sh", "echo start\necho '# cc status=running progress=40 msg=\"half way\"'\n"
                             "printf 'no newline yet'\nsleep 1\necho ' - now'\necho \"job=$CC_JOB\"\nexit 3\n")
    job = remote.submit("count", script="count.sh")
    assert isinstance(job.handle["pid"], int) and job.handle["folder"].startswith(str(remote.remote_root))

    early = remote.wait_log(job, b"progress=40")
    assert early.startswith(b"start\n")
    assert b"no newline yet" not in early  # only complete lines are returned while the job runs

    update = remote.wait_end(job)["count"]
    assert (update.state, update.exit_code) == (JobState.FAILED, 3)

    rest, _ = remote.read_log(job, len(early))
    log = early + rest
    assert log == (b"start\n# cc status=running progress=40 msg=\"half way\"\nno newline yet - now\n"
                   b"job=count\n")
    assert job.launch.log_path.read_bytes() == log  # the local copy of the log


def test_a_command_ends_done_with_the_job_environment(remote) -> None:
    job = remote.submit("hello", command='echo "$GREETING from $CC_JOB in $CC_JOB_DIR"; pwd',
                        env={"GREETING": "it's me"})
    update = remote.wait_end(job)["hello"]
    assert (update.state, update.exit_code) == (JobState.DONE, 0)
    log = remote.wait_log(job, b"\n" + job.folder.encode())
    assert log == f"it's me from hello in {job.folder}\n{job.folder}\n".encode()


def test_arguments_and_a_working_folder_reach_the_script(remote, tmp_path: Path) -> None:
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    remote.write("args.sh", 'printf "%s|" "$@"; echo; pwd\n')
    job = remote.submit("args", script="args.sh", args=["one two", "$HOME", "3"], workdir=str(workdir))
    assert remote.wait_end(job)["args"].state is JobState.DONE
    assert remote.wait_log(job, str(workdir).encode()) == f"one two|$HOME|3|\n{workdir}\n".encode()


def test_python_runs_with_the_named_interpreter_or_venv(remote) -> None:
    remote.write("which.py", "import sys\nprint(sys.executable)\nprint(sys.argv[1:])\n")
    by_python = remote.submit("by_python", script="which.py", python=sys.executable, args=["x"])
    by_venv = remote.submit("by_venv", script="which.py", venv=sys.prefix)
    by_default = remote.submit("by_default", script="which.py")
    ended = remote.wait_end(by_python, by_venv, by_default)
    assert {u.state for u in ended.values()} == {JobState.DONE}
    assert remote.wait_log(by_python, b"]") == f"{sys.executable}\n['x']\n".encode()
    assert remote.wait_log(by_venv, b"]").splitlines()[0] == f"{sys.prefix}/bin/python".encode()
    assert b"python3" in remote.wait_log(by_default, b"]")


def test_a_missing_remote_interpreter_fails_with_127_and_says_so(remote) -> None:
    remote.write("any.py", "print('never')\n")
    job = remote.submit("needs_python", script="any.py", python="/no/such/python3")
    update = remote.wait_end(job)["needs_python"]
    assert (update.state, update.exit_code) == (JobState.FAILED, 127)
    assert "remote command '/no/such/python3' not found" in update.reason
    assert "job 'needs_python'" in update.reason and f"host '{remote.server.alias}'" in update.reason


def test_a_missing_working_folder_fails_with_a_reason(remote) -> None:
    job = remote.submit("lost_dir", command="true", workdir="/no/such/folder")
    update = remote.wait_end(job)["lost_dir"]
    assert update.state is JobState.FAILED
    assert "the working folder /no/such/folder does not exist" in update.reason


def write_notebook(remote, name: str) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("n = 2", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("print('n squared is', n * n)")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    remote.write(name, nbformat.writes(notebook))


def printed(path: Path) -> str:
    executed = json.loads(path.read_text())
    return "".join("".join(o.get("text", "")) for c in executed["cells"] for o in c.get("outputs", []))


# A module named papermill that fails to import hides the real one from the remote Python: nbconvert runs instead.
NO_PAPERMILL = {"inputs": ["blocker/papermill.py"], "env": {"PYTHONPATH": "blocker"}}


def test_a_notebook_runs_with_papermill_and_its_parameters(remote) -> None:
    if importlib.util.find_spec("papermill") is None:
        missing_component("papermill is not installed for the test Python (pip install papermill)")
    write_notebook(remote, "square.ipynb")
    job = remote.submit("square", notebook="square.ipynb", python=sys.executable, parameters={"n": 7})
    update = remote.wait_end(job, timeout=60)["square"]
    assert update.state is JobState.DONE, remote.wait_log(job, b"")
    assert "n squared is 49" in printed(job.launch.job_dir / "square.out.ipynb")


def test_a_notebook_runs_with_nbconvert_when_papermill_is_missing(remote) -> None:
    write_notebook(remote, "plain.ipynb")
    remote.write("blocker/papermill.py", "raise ImportError('hidden for this test')\n")
    job = remote.submit("plain", notebook="plain.ipynb", python=sys.executable, **NO_PAPERMILL)
    update = remote.wait_end(job, timeout=60)["plain"]
    assert update.state is JobState.DONE, remote.wait_log(job, b"")
    assert "n squared is 4" in printed(job.launch.job_dir / "plain.out.ipynb")


def test_notebook_parameters_without_papermill_fail_with_the_way_out(remote) -> None:
    write_notebook(remote, "wants.ipynb")
    remote.write("blocker/papermill.py", "raise ImportError('hidden for this test')\n")
    job = remote.submit("wants", notebook="wants.ipynb", python=sys.executable, parameters={"n": 3},
                        **NO_PAPERMILL)
    update = remote.wait_end(job)["wants"]
    assert (update.state, update.exit_code) == (JobState.FAILED, 127)
    assert "notebook parameters need papermill: pip install papermill" in update.reason


def test_a_new_process_reattaches_from_the_handle_alone(remote) -> None:
    job = remote.submit("long", command="sleep 1; echo finished; exit 5")
    remote.job_type.stop()
    POOL.clear()  # nothing of the first job type is left but the stored handle
    remote.job_type = remote.new_job_type()
    update = remote.wait_end(job)["long"]
    assert (update.state, update.exit_code) == (JobState.FAILED, 5)
    assert remote.wait_log(job, b"finished") == b"finished\n"


def test_a_submit_sent_again_finds_the_running_attempt_instead_of_starting_it_twice(remote) -> None:
    job = remote.submit("once", command="echo started >> $CC_JOB_DIR/../../starts; sleep 1")
    found = remote.job_type.find(job.launch)
    assert found is not None and found["pid"] == job.handle["pid"]
    again = remote.job_type.submit(job.launch)
    assert again["pid"] == job.handle["pid"]
    assert remote.wait_end(job)["once"].state is JobState.DONE
    assert remote.shell.run(f"cat {remote.remote_root}/1/starts").stdout == "started\n"
    fresh = remote.launch(remote.job("never_started", command="true"))
    assert remote.job_type.find(fresh) is None


def test_a_folder_in_use_by_another_run_is_not_wiped(remote, remote_factory) -> None:
    job = remote.submit("busy", command="sleep 3")
    other = remote_factory(remote.server, "other", remote_root=str(remote.remote_root))
    with pytest.raises(JobTypeError) as caught:
        other.job_type.submit(other.launch(other.job("busy", command="true")))
    message = str(caught.value)
    assert "is in use by a running job of another cc run" in message and "job 'busy'" in message
    assert "remote_root" in message
    remote.job_type.cancel([job.active])
    assert remote.wait_end(job)["busy"].state is JobState.KILLED


def test_show_script_is_the_wrapper(remote) -> None:
    remote.write("s.sh", "echo hi\n")
    text = remote.job_type.show_script(remote.launch(remote.job("s", script="s.sh")))
    assert text.startswith("#!/bin/sh") and "cc.exit_code" in text and "bash \"$D\"/s.sh" in text
