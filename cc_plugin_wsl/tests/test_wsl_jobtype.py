"""The wsl job type through the stand-in WSL: submit, check, logs, cancel, errors, and what the job sees inside."""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import ActiveJob, JobUpdate, Launch, LogRequest
from cc_core.workflow.model import JobSpec
from cc_core.plugins.progress import CCProgressParser, LineScanner
from cc_core.states import JobState
from cc_wsl.jobtype import WSLJobType


class Jobs:
    """Launches jobs of one test in a workflow folder and a run folder under drive C:."""

    def __init__(self, standin: Any, job_type: Optional[WSLJobType] = None) -> None:
        self.standin = standin
        self.job_type = job_type or standin.job_type()
        self.workflow_dir = standin.drive / "Users" / "me" / "project"
        self.run_dir = standin.drive / "Users" / "me" / "cc" / "runs" / "7"
        self.workflow_dir.mkdir(parents=True, exist_ok=True)

    def launch(self, name: str, attempt: int = 1, **fields: Any) -> Launch:
        job = JobSpec(name=name, kind="wsl", **fields)
        job_dir = self.run_dir / name
        job_dir.mkdir(parents=True, exist_ok=True)
        env = {"CC_RUN_ID": "7", "CC_JOB": name, "CC_JOB_DIR": str(job_dir), "CC_RUN_DIR": str(self.run_dir),
               "CC_WORKFLOW_DIR": str(self.workflow_dir), **job.env}
        return Launch(run_id=7, workflow="mixed", job=job, attempt=attempt, job_dir=job_dir,
                      workflow_dir=self.workflow_dir, log_path=job_dir / f"{name}.log", env=env)

    def submit(self, launch: Launch) -> ActiveJob:
        handle = self.job_type.submit(launch)
        json.dumps(handle)
        return ActiveJob(launch.key, launch.attempt, handle, launch.job, launch.job_dir, launch.log_path)

    def wait_end(self, active: ActiveJob, job_type: Optional[WSLJobType] = None, timeout: float = 30) -> JobUpdate:
        job_type = job_type or self.job_type
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for update in job_type.check([active]):
                if update.state.is_final:
                    return update
            time.sleep(0.05)
        raise AssertionError(f"job {active.key} did not end in {timeout} s")

    def run(self, name: str, **fields: Any) -> tuple[JobUpdate, str]:
        launch = self.launch(name, **fields)
        end = self.wait_end(self.submit(launch))
        return end, launch.log_path.read_text() if launch.log_path.exists() else ""


@pytest.fixture
def jobs(standin: Any) -> Jobs:
    return Jobs(standin)


def test_command_runs_inside_with_wsl_paths(jobs: Jobs) -> None:
    end, log = jobs.run("where", command='echo "pwd=$PWD"; echo "dir=$CC_JOB_DIR"; echo "distro=$WSL_DISTRO_NAME"; '
                                         'echo "workflow=$CC_WORKFLOW_DIR"; exit 5')
    assert (end.state, end.exit_code) == (JobState.FAILED, 5)
    assert "pwd=/mnt/c/Users/me/cc/runs/7/where" in log
    assert "dir=/mnt/c/Users/me/cc/runs/7/where" in log
    assert "workflow=/mnt/c/Users/me/project" in log
    assert "distro=Ubuntu-22.04" in log  # no distribution asked for: WSL's default


def test_handle_is_enough_to_follow_the_job(jobs: Jobs) -> None:
    launch = jobs.launch("handle", command="sleep 1", options={"distribution": "debian"})
    active = jobs.submit(launch)
    handle = active.handle
    assert handle["distribution"] == "debian" and handle["wsl_job_dir"] == "/mnt/c/Users/me/cc/runs/7/handle"
    assert handle["pid"] > 1 and handle["start"]
    pid_file = (launch.job_dir / ".attempt1.pid").read_text().split()
    assert pid_file == [str(handle["pid"]), handle["start"], "Debian"]
    assert os.path.exists(f"/proc/{handle['pid']}")
    assert jobs.job_type.check([active]) == []  # still running: nothing changed
    assert jobs.wait_end(active, jobs.standin.job_type()).state is JobState.DONE
    assert (launch.job_dir / ".attempt1.exit").read_text().strip() == "0"
    assert float((launch.job_dir / ".attempt1.end").read_text()) > 0


def test_scripts_with_arguments(jobs: Jobs) -> None:
    (jobs.workflow_dir / "steps").mkdir()
    (jobs.workflow_dir / "steps" / "prepare.sh").write_text('echo "sh got: $1|$2"; echo "from $0"\n')
    (jobs.workflow_dir / "analyse.py").write_text(
        "import os, sys\nprint('py got:', sys.argv[1:])\nprint('cwd', os.getcwd())\n"
        "open('result.txt', 'w').write('42')\n")
    end, log = jobs.run("prepare", script="steps\\prepare.sh", args=["two words", "it's"])
    assert end.state is JobState.DONE, log
    assert "sh got: two words|it's" in log and "from /mnt/c/Users/me/project/steps/prepare.sh" in log
    end, log = jobs.run("analyse", script="analyse.py", args=["--n", "3"])
    assert end.state is JobState.DONE, log
    assert "py got: ['--n', '3']" in log and "cwd /mnt/c/Users/me/cc/runs/7/analyse" in log
    assert (jobs.run_dir / "analyse" / "result.txt").read_text() == "42"


def test_workdir_python_and_environment(jobs: Jobs) -> None:
    (jobs.workflow_dir / "data").mkdir()
    (jobs.workflow_dir / "show.py").write_text(
        "import os, json\nprint('here', os.getcwd())\nprint('greeting', os.environ['GREETING'])\n"
        "print('params', json.loads(os.environ['CC_PARAMETERS']))\n")
    end, log = jobs.run("show", script="show.py", workdir="data", python="/usr/bin/python3",
                        env={"GREETING": "hello 'world' $HOME \"quoted\""}, parameters={"n": 3})
    assert end.state is JobState.DONE, log
    assert "here /mnt/c/Users/me/project/data" in log
    assert "greeting hello 'world' $HOME \"quoted\"" in log
    assert "params {'n': 3}" in log


def test_notebook_runs_with_nbconvert(jobs: Jobs, component_missing: Callable[[str], None]) -> None:
    try:
        import nbconvert  # noqa: F401
        import nbformat
    except ImportError:
        component_missing("nbconvert is not installed (pip install nbconvert ipykernel)")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 6 * 7\nprint('answer', x)"),
                nbformat.v4.new_code_cell("open('nb.txt', 'w').write(str(x))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(jobs.workflow_dir / "report.ipynb"))
    end, log = jobs.run("report", notebook="report.ipynb", python=sys.executable)
    assert end.state is JobState.DONE, log
    executed = nbformat.read(str(jobs.run_dir / "report" / "report.out.ipynb"), as_version=4)
    assert "answer 42" in json.dumps(executed.cells[0].outputs)
    assert (jobs.run_dir / "report" / "nb.txt").read_text() == "42"


def test_logs_are_read_in_complete_lines_from_an_offset(jobs: Jobs, wait_for: Callable[..., Any]) -> None:
    launch = jobs.launch("progress", command=(
        "echo '# cc status=running progress=40'; printf 'half a li'; sleep 1.5; echo 'ne'; "
        "echo '# cc status=running progress=90 msg=\"almost\"'"))
    active = jobs.submit(launch)
    scanner = LineScanner([CCProgressParser()])

    def read(offset: int) -> tuple[bytes, int]:
        chunks = jobs.job_type.read_logs([LogRequest(active.key, 1, active.handle, active.log_path, offset)])
        return (chunks[0].data, chunks[0].offset) if chunks else (b"", offset)

    first = wait_for(lambda: read(0)[0], what="the first log line")
    assert first == b"# cc status=running progress=40\n"  # the half line is held back
    report = scanner.last_report(first)
    assert report is not None and report.progress == 40.0
    offset = len(first)
    assert jobs.wait_end(active).state is JobState.DONE
    rest, end = read(offset)
    assert rest == b'half a line\n# cc status=running progress=90 msg="almost"\n'
    assert end == launch.log_path.stat().st_size
    report = scanner.last_report(rest)
    assert report is not None and (report.progress, report.message) == (90.0, "almost")
    assert read(end) == (b"", end)


def test_cancel_kills_the_linux_tree_with_a_grandchild_that_left_the_group(jobs: Jobs,
                                                                           wait_for: Callable[..., Any]) -> None:
    marker = f"cc-wsl-tree-{uuid.uuid4().hex[:8]}"
    launch = jobs.launch("tree", command=(
        f"setsid bash -c 'bash -c \"exec -a {marker}-grandchild sleep 300\"; true' & "
        f"bash -c 'trap \"\" TERM; exec -a {marker}-stubborn sleep 300' & "
        "echo children started; wait"))
    active = jobs.submit(launch)

    def marked() -> list[int]:
        found = []
        for entry in os.listdir("/proc"):
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except (OSError, ValueError):
                continue
            if cmdline.startswith(marker.encode()) and stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z":
                found.append(int(entry))
        return found

    wait_for(lambda: len(marked()) == 2, what="the job's grandchildren")
    groups = {int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2]) for pid in marked()}
    assert len(groups) == 2, "one grandchild left the job's process group"
    jobs.job_type.cancel([active])
    end = jobs.wait_end(active)
    assert (end.state, end.exit_code) == (JobState.KILLED, 143)  # the wrapper outlived the TERM to record it
    wait_for(lambda: not marked(), timeout=15, what="every process of the job to end")
    wait_for(lambda: int(active.handle["pid"]) not in _live(), timeout=10, what="the wrapper to end")
    assert (launch.job_dir / ".attempt1.cancel").exists()


def test_cancel_of_a_finished_job_is_harmless(jobs: Jobs) -> None:
    launch = jobs.launch("quick", command="true")
    active = jobs.submit(launch)
    assert jobs.wait_end(active).state is JobState.DONE
    jobs.job_type.cancel([active])


def test_one_wsl_call_per_distribution_for_a_batch(standin: Any, tmp_path: Path) -> None:
    calls = tmp_path / "calls.txt"
    counting = tmp_path / "counting-wsl.exe"
    counting.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {standin.exe} "$@"\n')
    counting.chmod(0o755)
    jobs = Jobs(standin, standin.job_type(exe=str(counting)))
    active = [jobs.submit(jobs.launch(f"u{i}", command="sleep 30")) for i in range(3)]
    active += [jobs.submit(jobs.launch(f"d{i}", command="sleep 30", options={"distribution": "Debian"}))
               for i in range(2)]
    calls.write_text("")
    assert jobs.job_type.check(active) == []
    lines = calls.read_text().splitlines()
    assert sorted(lines) == ["-d Debian -- bash -s", "-d Ubuntu-22.04 -- bash -s"]
    calls.write_text("")
    jobs.job_type.cancel(active)
    assert len(calls.read_text().splitlines()) == 2
    ends = {u.key: u.state for a in active for u in [jobs.wait_end(a)]}
    assert set(ends.values()) == {JobState.KILLED}


def test_a_job_lost_when_wsl_shuts_down(jobs: Jobs, wait_for: Callable[..., Any]) -> None:
    launch = jobs.launch("victim", command="sleep 300")
    active = jobs.submit(launch)
    assert jobs.job_type.check([active]) == []
    assert jobs.standin.run("--shutdown").returncode == 0
    end = jobs.wait_end(active)
    assert end.state is JobState.FAILED and end.reason is not None and end.reason.startswith("lost")


def test_a_job_found_again_after_the_runner_died(jobs: Jobs) -> None:
    launch = jobs.launch("orphan", command="sleep 1; exit 4")
    jobs.submit(launch)
    other = jobs.standin.job_type()
    handle = other.find(launch)
    assert handle is not None and handle["found"]
    active = ActiveJob(launch.key, 1, handle, launch.job, launch.job_dir, launch.log_path)
    end = jobs.wait_end(active, other)
    assert (end.state, end.exit_code) == (JobState.FAILED, 4)
    assert other.find(jobs.launch("never-started", command="true")) is None


def test_missing_distribution_is_a_clear_error(jobs: Jobs) -> None:
    launch = jobs.launch("elsewhere", command="true", options={"distribution": "Ubuntu-24.04"})
    with pytest.raises(JobTypeError) as caught:
        jobs.job_type.submit(launch)
    message = str(caught.value)
    assert "'Ubuntu-24.04' is not installed (installed: Ubuntu-22.04, Debian)" in message
    assert "job 'elsewhere'" in message
    problems = jobs.job_type.validate(launch.job, jobs.workflow_dir)
    assert problems == ["the WSL distribution 'Ubuntu-24.04' is not installed (installed: Ubuntu-22.04, Debian)"]


def test_missing_wsl_is_a_clear_error(standin: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    job_type = WSLJobType(standin.job_type().context)
    launch = Jobs(standin, job_type).launch("nowsl", command="true")
    with pytest.raises(JobTypeError, match="WSL is not installed here"):
        job_type.submit(launch)
    assert any("WSL is not installed here" in p for p in job_type.validate(launch.job, tmp_path))
    assert job_type.describe()["error"].startswith("WSL is not installed here")


def test_unknown_user_is_a_clear_error(jobs: Jobs) -> None:
    with pytest.raises(JobTypeError, match="user 'nobody-like-this' does not exist in WSL distribution 'Debian'"):
        jobs.job_type.submit(jobs.launch("who", command="id", user="nobody-like-this",
                                         options={"distribution": "Debian"}))
    import getpass

    end, log = jobs.run("me", command="id -un", options={"user": getpass.getuser()})
    assert end.state is JobState.DONE and log.strip() == getpass.getuser()


def test_validate(jobs: Jobs) -> None:
    job_type = jobs.job_type
    assert job_type.validate(JobSpec(name="a", kind="wsl", script="~/bin/inside.sh"), jobs.workflow_dir) == []
    assert job_type.validate(JobSpec(name="b", kind="wsl", script="/opt/tools/run.sh"), jobs.workflow_dir) == []
    problems = job_type.validate(JobSpec(name="c", kind="wsl", script="missing.sh", options={"distro": "x"},
                                         env={"BAD-NAME": "1"}), jobs.workflow_dir)
    assert any("missing.sh" in p for p in problems)
    assert any("unknown option distro" in p and "distribution, user" in p for p in problems)
    assert any("BAD-NAME" in p for p in problems)


def test_describe_lists_the_distributions(jobs: Jobs) -> None:
    described = jobs.job_type.describe()
    assert described["default"] == "Ubuntu-22.04"
    assert [d["name"] for d in described["distributions"]] == ["Ubuntu-22.04", "Debian"]
    assert described["wsl.exe"].endswith("wsl.exe")


def test_show_script_and_wrapper_line_ends(jobs: Jobs) -> None:
    launch = jobs.launch("shown", command="echo hi", options={"distribution": "Debian", "user": "me"})
    text = jobs.job_type.show_script(launch)
    assert text is not None
    first = text.splitlines()[0]
    assert first == 'wsl.exe -d Debian -u me --cd /mnt/c/Users/me/cc/runs/7/shown -- bash -lc "bash .attempt1.wsl.sh"'
    assert "setsid nohup" in text and "bash -c 'echo hi'" in text
    jobs.submit(jobs.launch("lf", command="true"))
    assert b"\r\n" not in (jobs.run_dir / "lf" / ".attempt1.wsl.sh").read_bytes()


def test_a_path_wsl_cannot_see_is_refused(jobs: Jobs, tmp_path: Path) -> None:
    launch = jobs.launch("outside", command="true")
    outside = Launch(run_id=7, workflow="mixed", job=launch.job, attempt=1, job_dir=tmp_path / "elsewhere",
                     workflow_dir=jobs.workflow_dir, log_path=tmp_path / "elsewhere" / "x.log", env={})
    with pytest.raises(JobTypeError, match="cannot run in WSL"):
        jobs.job_type.submit(outside)


def test_automount_root_of_the_distribution(jobs: Jobs) -> None:
    """A distribution whose /etc/wsl.conf mounts drives at / sees C: at /c."""
    launch = jobs.launch("rooted", script="run.sh", options={"automount_root": "/"})
    text = jobs.job_type.show_script(launch)
    assert text is not None and "--cd /c/Users/me/cc/runs/7/rooted" in text.splitlines()[0]
    assert "bash /c/Users/me/project/run.sh" in text
    problems = jobs.job_type.validate(JobSpec(name="x", kind="wsl", command="true",
                                              options={"automount_root": "mnt"}), jobs.workflow_dir)
    assert problems == ["option automount_root must be a Linux folder such as /mnt/ or /, not 'mnt'"]


def test_python_of_a_venv_and_a_linux_python(jobs: Jobs) -> None:
    text = jobs.job_type.show_script(jobs.launch("v1", script="fit.py", venv="venv"))
    assert text is not None and "/mnt/c/Users/me/project/venv/bin/python /mnt/c/Users/me/project/fit.py" in text
    text = jobs.job_type.show_script(jobs.launch("v2", script="fit.py", python="~/conda/bin/python"))
    assert text is not None and '"$HOME"/conda/bin/python /mnt/c/Users/me/project/fit.py' in text
    text = jobs.job_type.show_script(jobs.launch("v3", script="/opt/tools/fit.py", python="python3.12"))
    assert text is not None and "python3.12 /opt/tools/fit.py" in text


def _live() -> set[int]:
    """Pids of processes that are there and not zombies."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except (OSError, ValueError):
            continue
        if stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z":
            found.add(int(entry))
    return found


def _named(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except (OSError, ValueError):
            continue
        if cmdline.startswith(marker.encode()) and stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z":
            found.append(int(entry))
    return found


def test_cancel_ends_processes_that_left_the_session(jobs: Jobs, wait_for: Callable[..., Any]) -> None:
    marker = f"cc-wsl-escaped-{uuid.uuid4().hex[:8]}"
    launch = jobs.launch("escapes", command=(
        f"(setsid bash -c 'exec -a {marker}-setsid sleep 300' &); "
        f"bash -c 'exec -a {marker}-main sleep 300'"))
    active = jobs.submit(launch)
    wait_for(lambda: len(_named(marker)) == 2, what="the job's processes")
    try:
        jobs.job_type.cancel([active])
        assert jobs.wait_end(active).state is JobState.KILLED
        wait_for(lambda: not _named(marker), timeout=15, what="every process of the job to end")
    finally:
        for pid in _named(marker):
            os.kill(pid, 9)


def test_what_a_job_leaves_behind_ends_with_it_unless_it_keeps_it(jobs: Jobs, wait_for: Callable[..., Any]) -> None:
    marker = f"cc-wsl-left-{uuid.uuid4().hex[:8]}"
    left = jobs.submit(jobs.launch("leaves", command=f"(setsid bash -c 'exec -a {marker}-ended sleep 300' &)"))
    kept = jobs.submit(jobs.launch("keeps", command=f"(setsid bash -c 'exec -a {marker}-kept sleep 300' &)",
                                   keep_orphans=True))
    try:
        assert jobs.wait_end(left).state is JobState.DONE and jobs.wait_end(kept).state is JobState.DONE
        wait_for(lambda: not _named(marker + "-ended"), timeout=15, what="what 'leaves' left behind to end")
        wait_for(lambda: len(_named(marker + "-kept")) == 1, what="what 'keeps' left behind, still there")
    finally:
        for pid in _named(marker):
            os.kill(pid, 9)


def test_a_script_with_windows_line_ends_is_warned_about(jobs: Jobs, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from cc_core.workflow.model import JobSpec

    caplog.set_level(logging.WARNING)
    jobs.workflow_dir.mkdir(parents=True, exist_ok=True)
    (jobs.workflow_dir / "crlf.sh").write_bytes(b"echo hi\r\n")
    (jobs.workflow_dir / "lf.sh").write_bytes(b"echo hi\n")
    for name in ("crlf.sh", "lf.sh"):
        assert jobs.job_type.validate(JobSpec(name=name.split(".")[0], kind="wsl", script=name),
                                      jobs.workflow_dir) == []
    warned = [r.getMessage() for r in caplog.records if "Windows line ends" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("warning: job 'crlf': script crlf.sh has Windows line ends")
