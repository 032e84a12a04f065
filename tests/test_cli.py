"""ccw as a user runs it: real processes, exit codes, files written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from cc_core.testing.polling import ccw_command, wait_for


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"



COMMANDS = ["run", "rerun", "diff", "status", "list", "logs", "validate", "export", "plugins", "kill", "show-script", "add-job",
            "remove-job", "add-dependency", "remove-dependency"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_command(ccw: Callable[..., subprocess.CompletedProcess[str]], command: str) -> None:
    result = ccw(command, "--help")
    assert result.returncode == 0 and "usage: ccw " + command in result.stdout


def test_run_failing_workflow_exits_non_zero(ccw: Callable[..., subprocess.CompletedProcess[str]],
                                             write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: cli-fail
        jobs:
          ok: {command: echo ok}
          broken: {command: exit 9, depends: [ok]}
          never: {command: echo never, depends: [broken]}
    """)
    result = ccw("run", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "broken failed" in result.stdout and "never skipped" in result.stdout
    status = json.loads(ccw("status", "cli-fail", "--json", check=True).stdout)
    assert {j["name"]: (j["state"], j["exit_code"]) for j in status["jobs"]} == {
        "ok": ("done", 0), "broken": ("failed", 9), "never": ("skipped", None)}
    assert status["state"] == "failed"


def test_run_json_logs_list_and_export(ccw: Callable[..., subprocess.CompletedProcess[str]],
                                       write_workflow: Callable[..., Path], tmp_path: Path) -> None:
    path = write_workflow("""
        name: cli-ok
        jobs:
          hello: {command: 'echo "hello world"; echo "# cc status=running progress=50"'}
          bye: {command: echo bye, depends: [hello]}
    """)
    result = ccw("run", str(path), "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["state"] == "done" and [j["state"] for j in status["jobs"]] == ["done", "done"]
    run_id = str(status["id"])
    assert "hello world" in ccw("logs", run_id, "hello", check=True).stdout
    assert "hello world" in ccw("logs", "cli-ok", "hello", check=True).stdout
    runs = json.loads(ccw("list", "--json", check=True).stdout)
    assert runs[0]["workflow"] == "cli-ok" and runs[0]["state"] == "done"
    svg = tmp_path / "out.svg"
    ccw("export", "cli-ok", "--format", "svg", "-o", str(svg), check=True)
    text = svg.read_text()
    assert text.startswith("<svg") or text.startswith("<?xml")
    assert 'data-job="hello"' in text and "state-done" in text
    yaml_text = ccw("export", run_id, "--format", "yaml", check=True).stdout
    assert "hello:" in yaml_text and "depends:" in yaml_text
    history = json.loads(ccw("status", run_id, "--history", "--json", check=True).stdout)["history"]
    assert [t["state"] for t in history if t["job"] == "bye"] == ["queued", "running", "done"]


def test_validate_reports_problems_and_exit_codes(ccw: Callable[..., subprocess.CompletedProcess[str]],
                                                  write_workflow: Callable[..., Path]) -> None:
    good = write_workflow("name: v\njobs:\n  a: {command: 'true'}\n", name="good.yaml")
    result = ccw("validate", str(good))
    assert result.returncode == 0 and "is valid (1 jobs" in result.stdout
    bad = write_workflow("name: v\njobs:\n  a: {command: 'true', depends: [zz]}\n", name="bad.yaml")
    result = ccw("validate", str(bad))
    assert result.returncode == 2
    assert f"{bad}:3:" in result.stderr and "'zz'" in result.stderr
    problems = json.loads(ccw("validate", str(bad), "--json").stdout)["problems"]
    assert problems[0]["line"] == 3 and problems[0]["job"] == "a"


def test_unknown_run_is_a_clear_error(ccw: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    result = ccw("status", "nothing-like-this")
    assert result.returncode == 2 and "no run with id or workflow name 'nothing-like-this'" in result.stderr


def test_plugins_lists_builtins(ccw: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    plugins = json.loads(ccw("plugins", "--json", check=True).stdout)
    by_dist = {p["distribution"]: p for p in plugins}
    assert "local" in by_dist["cc-plugin-local"]["provides"]["job types"]
    assert {"parallel", "sequential"} <= set(by_dist["cc-plugin-schedulers"]["provides"]["schedulers"])
    provided = [p["provides"] for p in plugins if p["distribution"] == "cc-core"]
    assert {"sqlite"} == {n for p in provided for n in p.get("status stores", [])}
    assert all(p["version"] for p in plugins)


def test_store_is_read_by_a_second_process_mid_run(cc_home: Path, write_workflow: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    path = write_workflow(f"""
        name: watched
        jobs:
          first: {{command: "echo '# cc status=running progress=25'; while [ ! -e {gate} ]; do sleep 0.05; done"}}
          second: {{command: "true", depends: [first]}}
    """)
    env = {**os.environ, "CC_HOME": str(cc_home)}
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env)
    try:
        def status_from_another_process() -> dict[str, Any] | None:
            result = subprocess.run(ccw_command("status", "watched", "--json"), env=env, capture_output=True,
                                    text=True)
            if result.returncode != 0:
                return None
            status: dict[str, Any] = json.loads(result.stdout)
            first = status["jobs"][0]
            return status if first["state"] == "running" and first["progress"] == 25.0 else None

        seen = wait_for(status_from_another_process, what="the first job running at 25 % in ccw status",
                        interval=0.1)
        assert seen["state"] == "running"
        jobs = {j["name"]: j for j in seen["jobs"]}
        assert jobs["first"]["state"] == "running" and jobs["first"]["progress"] == 25.0
        assert jobs["second"]["state"] == "ready"
        gate.touch()
        assert runner.wait(20) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
    final = json.loads(subprocess.run(ccw_command("status", "watched", "--json"), env=env, capture_output=True,
                                      text=True).stdout)
    assert [j["state"] for j in final["jobs"]] == ["done", "done"]


def test_workflow_scripts_are_found_relative_to_the_file(ccw: Callable[..., subprocess.CompletedProcess[str]],
                                                         write_workflow: Callable[..., Path], tmp_path: Path) -> None:
    path = write_workflow("""
        name: relative
        jobs:
          shell: {script: scripts/step.sh}
          py: {script: step.py, depends: [shell]}
    """, step__py="print('python step ran')\n")
    (path.parent / "scripts").mkdir()
    (path.parent / "scripts" / "step.sh").write_text("echo shell step ran\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = ccw("run", str(path), cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "python step ran" in ccw("logs", "relative", "py", check=True).stdout


def test_cloudmesh_workflow_and_progress_lines_run(ccw: Callable[..., subprocess.CompletedProcess[str]],
                                                   write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        workflow:
          nodes:
            start: {name: start, kind: local, host: local, exec: start.sh}
            a: {name: a, kind: local, host: localhost, exec: 'echo "# cloudmesh status=running progress=42 pid=1"'}
            end: {name: end, kind: local, host: local, exec: end.py}
          dependencies:
            - start,a,end
    """, name="cm.yaml", start__sh="echo '# cloudmesh status=done progress=100 pid=$$'\n",
        end__py="print('# cloudmesh status=running progress=77 pid=2')\nraise SystemExit(0)\n")
    result = ccw("run", str(path), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {j["name"]: j for j in json.loads(result.stdout)["jobs"]}
    assert [jobs[n]["state"] for n in ("start", "a", "end")] == ["done", "done", "done"]
    history = json.loads(ccw("status", "cm", "--history", "--json", check=True).stdout)["history"]
    order = [t["job"] for t in history if t["state"] == "running"]
    assert order == ["start", "a", "end"]


def test_progress_parser_keeps_last_cloudmesh_value(cc_home: Path) -> None:
    from cc_core.api import Workflow
    from cc_core.running.control import run_status

    wf = Workflow("cm-progress")
    wf.add_job("p", command="echo '# cloudmesh status=running progress=42 pid=1'; sleep 1; exit 5")
    wf.run(timeout=30)
    (job,) = run_status(wf.run_id)["jobs"]
    assert job["state"] == "failed" and job["progress"] == 42.0 and job["exit_code"] == 5


def test_python_dash_m_works(cc_home: Path) -> None:
    result = subprocess.run(ccw_command("--version"), capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("ccw ")


def test_logs_follow_prints_as_the_job_writes_and_ends_with_it(cc_home: Path, write_workflow: Callable[..., Path],
                                                              tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    path = write_workflow(f"""
        name: follow
        jobs:
          talk: {{command: "echo first line; while [ ! -e {gate} ]; do sleep 0.05; done; echo last line"}}
    """)
    env = {**os.environ, "CC_HOME": str(cc_home)}
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env)
    follower = None
    try:
        def running() -> bool:
            probe = subprocess.run(ccw_command("status", "follow", "--json"), env=env, capture_output=True, text=True)
            return probe.returncode == 0 and json.loads(probe.stdout)["jobs"][0]["state"] == "running"

        wait_for(running, what="the job running")
        follower = subprocess.Popen(ccw_command("logs", "follow", "talk", "--follow"), env=env,
                                    stdout=subprocess.PIPE, text=True)
        assert follower.stdout is not None
        assert follower.stdout.readline().strip() == "first line"  # shown while the job still runs
        gate.touch()
        rest = follower.communicate(timeout=20)[0]
        assert "last line" in rest and follower.returncode == 0
        assert runner.wait(20) == 0
    finally:
        for process in (runner, follower):
            if process is not None and process.poll() is None:
                process.kill()
