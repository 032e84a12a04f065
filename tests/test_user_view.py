"""What users see: exported files that run where they are written, progress messages, status tables."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Callable

from cc_core.testing.polling import ccw_command


def ccw(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ccw_command(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=dict(os.environ))


def test_exported_yaml_runs_the_same_scripts_where_it_is_written(write_workflow: Callable[..., Path],
                                                                 cc_home: Path, tmp_path: Path) -> None:
    path = write_workflow("""\
        name: moved
        jobs:
          hello: {script: scripts/hello.sh}
    """)
    (path.parent / "scripts").mkdir()
    (path.parent / "scripts" / "hello.sh").write_text("echo hello from the script > out.txt\n")
    assert ccw("run", "-q", str(path)).returncode == 0
    target = tmp_path / "elsewhere" / "deeper" / "x.yaml"
    result = ccw("export", "moved", "--format", "yaml", "-o", str(target))
    assert result.returncode == 0
    assert "relative paths start from ../../wf" in result.stderr
    from cc_core.workflow.file import load_workflow

    again = load_workflow(target)
    assert again.directory == path.parent.resolve()
    assert again.jobs["hello"].script == "scripts/hello.sh"
    run = ccw("run", "-q", str(target), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    printed = ccw("export", "moved", cwd=tmp_path)
    assert f"directory: {path.parent.resolve()}" in printed.stdout
    same_folder = ccw("export", "moved", "-o", str(path.parent / "copy.yaml"))
    assert "directory" not in (path.parent / "copy.yaml").read_text() and "relative paths" not in same_folder.stderr


PROGRESS_JOB = """\
    name: talk
    jobs:
      talk:
        command: |
          echo '# cc status=running progress=40 msg="reading the long input file named {long}"'
"""


def test_status_shows_message_and_duration_and_is_not_cut_when_piped(write_workflow: Callable[..., Path],
                                                                     cc_home: Path) -> None:
    long = "x" * 90
    path = write_workflow(PROGRESS_JOB.format(long=long))
    assert ccw("run", "-q", str(path)).returncode == 0
    result = ccw("status", "talk")
    assert result.returncode == 0
    header, row = result.stdout.splitlines()[1:3]
    assert "duration" in header
    assert f"reading the long input file named {long}" in row   # the whole message, past 80 columns
    import re

    assert re.search(r"\b\d+\.\ds\b", row)   # the job's duration


def test_python_status_prints_as_a_table_and_shows_in_notebooks(write_workflow: Callable[..., Path],
                                                                cc_home: Path) -> None:
    from cc_core import Workflow

    path = write_workflow(PROGRESS_JOB.format(long="file"))
    wf = Workflow.load(path)
    assert wf.run(timeout=60).value == "done"
    status = wf.status()
    assert status["jobs"][0]["state"] == "done"             # still the dict it was
    text = str(status)
    assert text.splitlines()[0] == f"run {status['id']} of talk: done"
    assert "reading the long input file named file" in text and len(text) < 600
    page = status._repr_html_()
    assert "<table>" in page and "<td style='text-align:left'>talk</td>" in page
    json.dumps(status)


def test_live_table_shows_the_progress_message(write_workflow: Callable[..., Path], cc_home: Path) -> None:
    import pty

    path = write_workflow(PROGRESS_JOB.format(long="file"))
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(ccw_command("run", str(path)), stdin=follower, stdout=follower,
                                   stderr=follower, env={**os.environ, "COLUMNS": "200"})
        os.close(follower)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:   # the terminal closed: ccw ended
                break
            if not chunk:
                break
            output += chunk
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    assert b"reading the long input file named file" in output


def test_runs_can_be_awaited_and_their_events_followed_from_asyncio(write_workflow: Callable[..., Path],
                                                                   cc_home: Path) -> None:
    import asyncio

    from cc_core import Workflow
    from cc_core.running.events import JobStateChanged, RunFinished

    path = write_workflow("""\
        name: aio
        jobs:
          a: {command: 'while [ ! -e "$CC_WORKFLOW_DIR/go" ]; do sleep 0.05; done'}
          b: {command: "exit 3", depends: [a]}
    """)

    async def main() -> tuple[str, list[str], list[str], str]:
        wf = Workflow.load(path)
        run = wf.start()
        seen: list[str] = []
        from_callback: list[str] = []

        async def on_event(event: object) -> None:
            if isinstance(event, JobStateChanged):
                from_callback.append(f"{event.job} {event.state.value}")

        run.subscribe(on_event)
        events = run.events()
        (path.parent / "go").write_text("")   # job a ends only once both subscriptions are in place
        async for event in events:
            if isinstance(event, JobStateChanged) and event.state.is_final:
                seen.append(f"{event.job} {event.state.value}")
            if isinstance(event, RunFinished):
                seen.append(f"run {event.state.value}")
        state = await run
        again = await wf.run_async()
        return state.value, seen, from_callback, again.value

    state, seen, from_callback, again = asyncio.run(main())
    assert state == "failed" and again == "failed"
    assert "a done" in seen and "b failed" in seen and seen[-1] == "run failed"
    assert "b failed" in from_callback


def test_end_of_run_log_hint_only_for_jobs_that_ran(write_workflow: Callable[..., Path], cc_home: Path,
                                                    tmp_path: Path) -> None:
    from cc_core.running.control import run_status
    from cc_core.testing.polling import wait_for

    gate = tmp_path / "gate"
    path = write_workflow(f"""\
        name: hint
        jobs:
          first: {{command: 'while [ ! -e {gate} ]; do sleep 0.05; done'}}
          second: {{command: 'true', depends: [first]}}
    """)
    runner = subprocess.Popen(ccw_command("run", "--no-live", str(path)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        def first_running() -> bool:
            try:
                return any(j["name"] == "first" and j["state"] == "running" for j in run_status("hint")["jobs"])
            except Exception:  # noqa: BLE001 - the run is not recorded yet
                return False

        wait_for(first_running, what="job first running")
        assert ccw("kill", "hint").returncode == 0
        out, _ = runner.communicate(timeout=60)
    finally:
        gate.touch()
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 3
    lines = {line.split(":")[0].strip(): line for line in out.splitlines() if line.startswith("  ")}
    assert "(ccw logs" in lines["first"]
    assert "killed" in lines["second"] and "ccw logs" not in lines["second"]


def test_load_only_some_plugins_keeps_the_schedulers_and_plugins_shows_descriptions(
        write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow("jobs:\n  a: {command: 'true'}\n")
    env = {**os.environ, "CC_LOAD_PLUGINS": "local"}
    run = subprocess.run(ccw_command("run", "-q", str(path)), env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    ssh = write_workflow("jobs:\n  a: {kind: ssh, host: nowhere, command: 'true'}\n", name="ssh.yaml")
    refused = subprocess.run(ccw_command("validate", str(ssh)), env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "leave out the installed plugins" in refused.stderr
    assert "ssh" in refused.stderr.split("leave out the installed plugins")[1]
    listing = ccw("plugins")
    assert "local: processes on this machine" in listing.stdout
