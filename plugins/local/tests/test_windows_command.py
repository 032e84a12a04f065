"""Windows command lines, executed by Wine's cmd.exe: every argument reaches the program exactly, a command job
runs as cmd syntax, and the exit code lands in the exit file.

What this proves: the lines cc builds survive cmd.exe's parsing (as Wine implements it) and the C runtime's
argument splitting (mingw-w64's, the same CommandLineToArgvW rules as Microsoft's), started by CreateProcessW as
``subprocess.Popen(str)`` does. What it does not prove: Microsoft's own cmd.exe (Wine's follows it closely, not
exactly) or anything about processes, consoles and Job Objects on Windows (see docs/platforms.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from cc_local.launch import plan_process, windows_bash
from cc_local.windows_command import command_in_own_shell, escape_for_cmd, program_line, quote_argument, wrapped_line

HERE = Path(__file__).resolve().parent / "windows"
HARD = ["a b", 'say "hi"', '{"precision": 3, "name": "a b"}', "héllo ünï 日本", "50%", "%PATH%", "%CC_EXIT_FILE%",
        "a&b|c<d>e^f(g)!", "C:\\path with\\trailing\\", "", 'x\\"y', "tab\there", "^", "&&"]


class Wine:
    def __init__(self, wine: str, folder: Path) -> None:
        self.wine = wine
        self.folder = folder
        self.env = {**os.environ, "WINEPREFIX": str(folder / "prefix"), "WINEDEBUG": "-all"}

    def windows_path(self, path: Path) -> str:
        return "Z:" + str(path).replace("/", "\\")

    def run_line(self, line: str, exit_file: Path) -> tuple[int, list[str]]:
        """Start ``line`` with CreateProcessW (launch.exe) and return its exit code and argv.exe's arguments."""
        script = self.folder / "line.txt"
        script.write_text(line, encoding="utf-8")
        env = {**self.env, "CC_EXIT_FILE": self.windows_path(exit_file), "CC_JOB": "stats"}
        done = subprocess.run([self.wine, str(self.folder / "launch.exe"), self.windows_path(script)], env=env,
                              capture_output=True, timeout=120)
        lines = done.stdout.decode("utf-8", "replace").replace("\r\n", "\n").splitlines()
        return done.returncode, [line[1:-1] for line in lines if line.startswith("[") and line.endswith("]")]


def _find_wine() -> str | None:
    for name in ("wine", "wine64", "/usr/lib/wine/wine64"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    program, compiler = _find_wine(), shutil.which("x86_64-w64-mingw32-gcc")
    if program is None or compiler is None:
        reason = "Wine (wine64) and mingw-w64 (gcc-mingw-w64-x86-64-win32) are needed to run Windows command lines"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI installs them)")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("wine")
    for name in ("argv", "launch"):
        subprocess.run([compiler, "-municode", "-O1", "-o", str(folder / f"{name}.exe"), str(HERE / f"{name}.c")],
                       check=True, capture_output=True)
    tool = Wine(program, folder)
    server = shutil.which("wineserver") or "/usr/lib/wine/wineserver"
    subprocess.run([server, "-p"], env=tool.env, check=False)     # one server for every test: each start is quicker
    try:
        yield tool
    finally:
        subprocess.run([server, "-k"], env=tool.env, check=False, capture_output=True)


def test_every_argument_reaches_the_program_exactly(wine: Wine) -> None:
    exit_file = wine.folder / "exit code 1.txt"
    line = wrapped_line(program_line([wine.windows_path(wine.folder / "argv.exe"), *HARD]))
    _, seen = wine.run_line(line, exit_file)
    assert seen == HARD
    assert exit_file.read_text().strip() == "7"        # argv.exe exits 7 when given arguments: the wrapper kept it


def test_a_command_job_runs_as_cmd_syntax_and_its_exit_code_is_kept(wine: Wine) -> None:
    exit_file = wine.folder / "exit 2.txt"
    program = wine.windows_path(wine.folder / "argv.exe")
    line = wrapped_line(command_in_own_shell(f'echo [hi there]& {program} "x y" %%CC_JOB%% & exit /b 3'))
    _, seen = wine.run_line(line, exit_file)
    assert seen == ["hi there", "x y", "%stats%"]
    assert exit_file.read_text().strip() == "3"
    zero = wine.folder / "exit 3.txt"
    wine.run_line(wrapped_line(f"{program}"), zero)
    assert zero.read_text().strip() == "0"             # "echo 0>file" would have written nothing


def test_the_plan_of_a_windows_job_is_that_line(tmp_path: Path) -> None:
    from cc_core.plugins.jobtype import Launch
    from cc_core.workflow.model import JobSpec

    (tmp_path / "wf").mkdir()
    job = JobSpec(name="stats", script="tool.exe", args=["C:\\data dir\\in.csv", '{"precision": 3}'])
    launch = Launch(run_id=1, workflow="w", job=job, attempt=1, job_dir=tmp_path / "job",
                    log_path=tmp_path / "job" / "stats.log", workflow_dir=tmp_path / "wf", env={})
    plan = plan_process(launch, base_env={}, platform="win32")
    assert plan.command_line == wrapped_line(program_line([str(tmp_path / "wf" / "tool.exe"), *job.args]))
    assert '^"{^"^"precision^"^": 3}^"' not in plan.command_line       # quotes inside JSON are \", then ^-escaped
    assert quote_argument('{"precision": 3}') == '"{\\"precision\\": 3}"'
    assert escape_for_cmd('"a&b"') == '^"a^&b^"'


def test_sh_jobs_use_git_bash_not_the_wsl_launcher() -> None:
    files = {r"C:\Program Files\Git\bin\bash.exe", r"C:\Windows\System32\bash.exe", r"D:\tools\bash.exe"}
    env = {"ProgramFiles": r"C:\Program Files", "SystemRoot": r"C:\Windows", "PATH": r"C:\Windows\System32;D:\tools"}
    assert windows_bash(env, files.__contains__) == r"C:\Program Files\Git\bin\bash.exe"
    no_git = {r"C:\Windows\System32\bash.exe", r"D:\tools\bash.exe"}
    assert windows_bash(env, no_git.__contains__) == r"D:\tools\bash.exe"
    assert windows_bash(env, {r"C:\Windows\System32\bash.exe"}.__contains__) is None
    assert windows_bash({**env, "CC_BASH": r"E:\msys\bash.exe"}, lambda _: False) == r"E:\msys\bash.exe"
