"""The options every job type understands, cpus and tasks; inputs that name files of earlier jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from cc_core import Workflow
from cc_core.running.control import run_status
from cc_core.states import RunState
from cc_core.workflow.file import load_workflow
from cc_core.workflow.model import JobSpec
from cc_core.workflow.resources import resource_environment, resource_problems
from cc_core.workflow.staging import missing_inputs, with_run_paths


def test_cpus_and_tasks_reach_a_local_job(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: threads
        defaults: {options: {cpus: 2}}
        jobs:
          show:
            command: echo "$OMP_NUM_THREADS $MKL_NUM_THREADS $CC_CPUS $CC_TASKS" > seen.txt
            options: {tasks: 3}
          own:
            command: echo "$OMP_NUM_THREADS $CC_CPUS" > seen.txt
            env: {OMP_NUM_THREADS: "7"}
    """)
    assert Workflow.load(path).run(timeout=60) is RunState.DONE
    run_dir = Path(run_status("threads")["run_dir"])
    assert (run_dir / "show" / "seen.txt").read_text().split() == ["2", "2", "2", "3"]
    assert (run_dir / "own" / "seen.txt").read_text().split() == ["7", "2"]   # the job's own env wins


def test_bad_resources_are_named(ccw: Callable[..., object], write_workflow: Callable[..., Path]) -> None:
    assert resource_problems({"cpus": 0, "tasks": "two"}) == [
        "option 'cpus' must be a whole number of at least 1, not 0",
        "option 'tasks' must be a whole number of at least 1, not 'two'"]
    assert resource_problems({"cpus": True}) and resource_environment({"cpus": 4, "other": 1})["CC_CPUS"] == "4"
    path = write_workflow("jobs:\n  a: {command: 'true', options: {cpus: -1}}\n")
    result = ccw("validate", str(path))
    assert result.returncode == 2 and "job 'a': option 'cpus' must be a whole number" in result.stderr


def test_slurm_and_ssh_take_cpus_and_tasks() -> None:
    slurm = pytest.importorskip("cc_slurm.options")
    options = slurm.parse_options({"cpus": 2, "tasks": 4})
    assert "#SBATCH --ntasks=4" in options.directive_lines() and "#SBATCH --cpus-per-task=2" in options.directive_lines()
    assert slurm.parse_options({"cpus": 2, "cpus_per_task": 2}).cpus_per_task == 2
    with pytest.raises(ValueError, match="'cpus: 2' and 'cpus_per_task: 3' disagree"):
        slurm.parse_options({"cpus": 2, "cpus-per-task": 3})
    with pytest.raises(ValueError, match="option 'tasks' must be a whole number"):
        slurm.parse_options({"tasks": 0})
    ssh = pytest.importorskip("cc_ssh.settings")
    assert ssh.settings_for({"cpus": 2, "tasks": 2, "connect_timeout": 5}).connect_timeout == 5
    with pytest.raises(ValueError, match="option 'cpus'"):
        ssh.settings_for({"cpus": "many"})


def test_inputs_may_name_files_of_earlier_jobs(tmp_path: Path) -> None:
    job = JobSpec(name="train", command="true", inputs=["$CC_RUN_DIR/prepare/data.npz", "${CC_RUN_DIR}/a/*.csv",
                                                          "local.csv", "$HOME/x"])
    expanded = with_run_paths(job, {"CC_RUN_DIR": "/runs/7"})
    assert expanded.inputs == ["/runs/7/prepare/data.npz", "/runs/7/a/*.csv", "local.csv", "$HOME/x"]
    assert job.inputs[0] == "$CC_RUN_DIR/prepare/data.npz"        # the job itself is unchanged
    plain = JobSpec(name="p", command="true", inputs=["x.csv"])
    assert with_run_paths(plain, {"CC_RUN_DIR": "/r"}) is plain
    # Known only when the job starts: not reported missing before the run, but after expansion.
    assert missing_inputs(job, tmp_path) == [
        f"input 'local.csv' does not exist (looked for {tmp_path / 'local.csv'})",
        f"input '$HOME/x' does not exist (looked for {tmp_path / '$HOME/x'})"]
    assert "input '/runs/7/prepare/data.npz' does not exist" in missing_inputs(expanded, tmp_path)[0]
