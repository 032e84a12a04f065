"""What the local job type executes, per platform: pure functions, so the Windows branch is tested here too."""

from __future__ import annotations

import sys
from pathlib import Path

from cc_core.plugins.jobtype import Launch
from cc_core.workflow.model import JobSpec
from cc_local.launch import direct_words, job_argv, plan_process


def launch(tmp_path: Path, **fields: object) -> Launch:
    job = JobSpec(name="j", **fields)  # type: ignore[arg-type]
    return Launch(run_id=1, workflow="w", job=job, attempt=2, job_dir=tmp_path / "run" / "j",
                  workflow_dir=tmp_path / "wf", log_path=tmp_path / "run" / "j" / "j.log", env={"CC_JOB": "j"})


def test_posix_command_runs_under_the_exit_code_wrapper(tmp_path: Path) -> None:
    plan = plan_process(launch(tmp_path, command="make all"), base_env={"PATH": "/bin"}, platform="linux")
    assert plan.argv[:2] == ["/bin/sh", "-c"]
    assert plan.argv[2].startswith("echo $$ >\"$CC_PID_FILE\"; trap 'printf \"%-15s\\n\" $? 1<>\"$CC_EXIT_FILE\"' EXIT\n")
    assert plan.argv[2].endswith("make all")
    assert plan.env["CC_EXIT_FILE"].endswith(".attempt2.exit") and plan.env["CC_JOB"] == "j"
    assert plan.cwd == str(tmp_path / "run" / "j") and plan.new_session


def test_posix_scripts_by_suffix(tmp_path: Path) -> None:
    sh = plan_process(launch(tmp_path, script="a.sh", args=["x y"]), base_env={}, platform="linux")
    assert sh.argv[-3:] == ["bash", str(tmp_path / "wf" / "a.sh"), "x y"]
    py = job_argv(launch(tmp_path, script="b.py", python="/opt/py/bin/python3"), platform="linux")
    assert py == ["/opt/py/bin/python3", str(tmp_path / "wf" / "b.py")]
    venv = job_argv(launch(tmp_path, script="b.py", venv="/opt/env"), platform="linux")
    assert venv[0] == "/opt/env/bin/python"
    other = job_argv(launch(tmp_path, script="tool.run"), platform="linux")
    assert other == [str(tmp_path / "wf" / "tool.run")]
    nb = job_argv(launch(tmp_path, notebook="n.ipynb", parameters={"k": 1}), platform="linux")
    assert nb[1:3] == ["-m", "cc_local.notebook"] and nb[-1] == '{"k": 1}'


def test_windows_command_and_scripts(tmp_path: Path) -> None:
    plan = plan_process(launch(tmp_path, command="dir /b"), base_env={"SystemRoot": r"C:\Windows"},
                        platform="win32")
    assert plan.argv[:4] == ["cmd.exe", "/d", "/s", "/c"]
    assert "dir /b" in plan.argv[4] and "%CC_EXIT_FILE%" in plan.argv[4] and "ERRORLEVEL" in plan.argv[4]
    assert plan.creation_flags == 0x08000200 and not plan.new_session  # CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW
    assert plan.program == plan.command_line
    assert plan.command_line.startswith('cmd.exe /d /s /c "cmd.exe /d /s /c ^"dir /b^" & ')
    venv = job_argv(launch(tmp_path, script="b.py", venv=r"C:\envs\sci"), platform="win32")
    assert venv[0].replace("\\", "/").endswith("envs/sci/Scripts/python.exe")
    bat = job_argv(launch(tmp_path, script="run.bat"), platform="win32")
    assert bat[:3] == ["cmd.exe", "/d", "/c"]
    ps1 = job_argv(launch(tmp_path, script="run.ps1"), platform="win32")
    assert ps1[0] == "powershell.exe" and "-File" in ps1


def test_relative_workdir_is_under_the_workflow_folder(tmp_path: Path) -> None:
    plan = plan_process(launch(tmp_path, command="true", workdir="data"), base_env={}, platform=sys.platform)
    assert plan.cwd == str(tmp_path / "wf" / "data")


def test_under_a_supervisor_a_plain_command_is_executed_directly(tmp_path: Path) -> None:
    plain = plan_process(launch(tmp_path, command="make -j2 all"), base_env={}, platform="linux", supervised=True)
    assert plain.argv == ["make", "-j2", "all"]
    script = plan_process(launch(tmp_path, script="a.sh", args=["x y"]), base_env={}, platform="linux",
                          supervised=True)
    assert script.argv == ["bash", str(tmp_path / "wf" / "a.sh"), "x y"]  # no wrapper: the supervisor writes the files


def test_a_command_that_needs_a_shell_gets_one() -> None:
    assert direct_words("true") == ["true"]
    assert direct_words("python3 -m pip install a==1.0 ./x.whl") == ["python3", "-m", "pip", "install", "a==1.0",
                                                                     "./x.whl"]
    for command in ["echo $HOME", "a | b", "a > out", "a; b", "a && b", "ls *.txt", "echo 'a b'", 'echo "a"',
                    "cd /tmp", "exit 3", "FOO=1 env", "echo ~", "a\nb", "export A=1", "", "   ", "(a)", "a &",
                    "echo `date`", "set -e", "test -f x", "[ -f x ]", ". ./env.sh", "if true"]:
        assert direct_words(command) is None, command
