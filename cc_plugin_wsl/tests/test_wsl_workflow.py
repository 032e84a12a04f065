"""A workflow mixing local jobs and wsl jobs, run by cc's engine through the Python API (stand-in WSL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from cc_core.api import Workflow
from cc_core.running.control import run_status
from cc_core.plugins.registry import reset_registry
from cc_core.states import RunState

WORKFLOW = """\
name: mixed
jobs:
  fetch:
    kind: local
    command: echo "3 4 5" > "$CC_RUN_DIR/numbers.txt"
  analyse:
    kind: wsl
    script: analyse.sh
    options:
      distribution: Debian
    depends: [fetch]
  summarise:
    kind: wsl
    script: summarise.py
    depends: [analyse]
  report:
    kind: local
    command: cat "$CC_RUN_DIR/sum.txt" "$CC_RUN_DIR/summary.txt" > report.txt
    depends: [summarise]
"""

ANALYSE = """\
#!/bin/bash
echo "# cc status=running progress=10 msg=\\"reading\\""
echo "running in $PWD on $WSL_DISTRO_NAME"
total=0
for n in $(cat "$CC_RUN_DIR/numbers.txt"); do total=$((total + n)); done
echo "$total" > "$CC_RUN_DIR/sum.txt"
echo "# cc status=running progress=100"
"""

SUMMARISE = """\
import os
total = int(open(os.path.join(os.environ["CC_RUN_DIR"], "sum.txt")).read())
print('# cc status=running progress=50 msg="summed"')
run_dir = os.environ["CC_RUN_DIR"]
open(os.path.join(run_dir, "summary.txt"), "w").write(f"sum {total} from {run_dir}\\n")
"""


@pytest.fixture
def mixed(standin: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cc's home and the workflow on drive C:, the wsl job type told which folder that is."""
    monkeypatch.setenv("CC_HOME", str(standin.drive / "Users" / "me" / ".cc"))
    monkeypatch.setenv("CC_WSL_DRIVE_ROOT", str(standin.drive))
    reset_registry()
    folder = standin.drive / "Users" / "me" / "project"
    folder.mkdir(parents=True)
    (folder / "workflow.yaml").write_text(WORKFLOW)
    (folder / "analyse.sh").write_text(ANALYSE)
    (folder / "summarise.py").write_text(SUMMARISE)
    yield folder
    reset_registry()


def test_local_and_wsl_jobs_in_one_workflow(mixed: Path) -> None:
    wf = Workflow.load(mixed / "workflow.yaml")
    assert wf.run(timeout=90) is RunState.DONE
    status = run_status(wf.run_id)
    jobs = {j["name"]: j for j in status["jobs"]}
    assert {name: (j["state"], j["exit_code"]) for name, j in jobs.items()} == {
        name: ("done", 0) for name in ("fetch", "analyse", "summarise", "report")}
    # the progress lines were read from the logs as the jobs wrote them in WSL
    assert (jobs["analyse"]["message"], jobs["summarise"]["message"]) == ("reading", "summed")
    run_dir = Path(status["run_dir"])
    wsl_run_dir = "/mnt/c/" + str(run_dir.relative_to(mixed.parent.parent.parent))
    assert (run_dir / "report" / "report.txt").read_text() == f"12\nsum 12 from {wsl_run_dir}\n"
    log = (run_dir / "analyse" / "analyse.log").read_text()
    assert f"running in {wsl_run_dir}/analyse on Debian" in log


def test_killing_a_wsl_job_of_a_running_workflow(mixed: Path, standin: Any,
                                                 wait_for: Callable[..., Any]) -> None:
    wf = Workflow("killed", directory=mixed)
    wf.add_job("first", kind="local", command="true")
    wf.add_job("long", kind="wsl", command="echo started; sleep 300", depends=["first"])
    wf.add_job("after", kind="local", command="true", depends=["long"])
    controller = wf.start()

    def long_state() -> str:
        return {j["name"]: j["state"] for j in run_status(controller.run_id)["jobs"]}["long"]

    wait_for(lambda: long_state() == "running", timeout=30, what="the wsl job to run")
    wait_for(lambda: standin.processes(), what="the job's processes in WSL")
    controller.kill("long")
    assert controller.wait(60) in (RunState.KILLED, RunState.FAILED)
    states = {j["name"]: j["state"] for j in run_status(controller.run_id)["jobs"]}
    assert states == {"first": "done", "long": "killed", "after": "skipped"}
    wait_for(lambda: not standin.processes(), timeout=15, what="no process left in WSL")
