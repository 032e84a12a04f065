"""The batch script cc writes for a slurm job: resources, environment, how the job runs (no cluster needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cc_core.errors import JobTypeError
from cc_core.plugins.jobtype import JobTypeContext, Launch
from cc_core.workflow.model import JobSpec
from cc_slurm.jobtype import SlurmJobType
from cc_slurm.options import KNOWN_OPTIONS, parse_options


def make_launch(tmp_path: Path, **fields: object) -> Launch:
    job = JobSpec(name=str(fields.pop("name", "train")), kind="slurm", **fields)  # type: ignore[arg-type]
    job_dir = tmp_path / "run" / job.name
    return Launch(run_id=7, workflow="gpu", job=job, attempt=1, job_dir=job_dir, workflow_dir=tmp_path / "wf",
                  log_path=job_dir / f"{job.name}.log",
                  env={"CC_RUN_ID": "7", "CC_JOB": job.name, "CC_JOB_DIR": str(job_dir), **job.env})


@pytest.fixture
def slurm(tmp_path: Path) -> SlurmJobType:
    return SlurmJobType(JobTypeContext(home=tmp_path / "home"))


def test_every_resource_becomes_a_directive(tmp_path: Path, slurm: SlurmJobType) -> None:
    launch = make_launch(tmp_path, command="nvidia-smi", options={
        "partition": "gpu", "account": "proj42", "qos": "long", "time": "2:00:00", "nodes": 2, "ntasks": 8,
        "cpus-per-task": 4, "mem": "32G", "gres": "gpu:a100:2", "gpus": 2, "constraint": "a100",
        "array": "0-9%2", "directives": ["--mail-type=END", "#SBATCH --exclusive"],
        "setup": ["module load cuda/12"]})
    script = slurm.show_script(launch)
    assert script is not None
    lines = script.splitlines()
    expected = ["#SBATCH --partition=gpu", "#SBATCH --account=proj42", "#SBATCH --qos=long",
                "#SBATCH --time=2:00:00", "#SBATCH --nodes=2", "#SBATCH --ntasks=8", "#SBATCH --cpus-per-task=4",
                "#SBATCH --mem=32G", "#SBATCH --gres=gpu:a100:2", "#SBATCH --gpus=2", "#SBATCH --constraint=a100",
                "#SBATCH --array=0-9%2", "#SBATCH --mail-type=END", "#SBATCH --exclusive"]
    for line in expected:
        assert line in lines, f"{line!r} missing from:\n{script}"
    assert lines[0] == "#!/bin/bash"
    assert f"#SBATCH --output={launch.log_path}" in lines
    assert "#SBATCH --job-name=cc.7.train.1." in lines[1]
    # The setup runs before the job, in the job's folder.
    assert lines.index("module load cuda/12") < lines.index("sh -c nvidia-smi")
    assert "export CC_JOB=train" in lines
    # Every #SBATCH line comes before the first command, or sbatch ignores it.
    first_command = next(i for i, line in enumerate(lines) if line and not line.startswith("#"))
    assert all(i < first_command for i, line in enumerate(lines) if line.startswith("#SBATCH"))


def test_timeout_becomes_the_time_limit(tmp_path: Path, slurm: SlurmJobType) -> None:
    script = slurm.show_script(make_launch(tmp_path, command="true", timeout="90m"))
    assert "#SBATCH --time=01:30:00" in script.splitlines()  # type: ignore[union-attr]
    given = slurm.show_script(make_launch(tmp_path, command="true", timeout="90m", options={"time": 5}))
    assert "#SBATCH --time=5" in given.splitlines() and "--time=01:30:00" not in given  # type: ignore[union-attr]


@pytest.mark.parametrize("given, written", [("30", "30"), ("1-12:00:00", "1-12:00:00"), ("90s", "00:01:30"),
                                            ("2h", "02:00:00"), (45, "45"), ("UNLIMITED", "UNLIMITED")])
def test_time_forms(given: object, written: str) -> None:
    assert parse_options({"time": given}).time == written


def test_unknown_option_lists_the_known_ones(tmp_path: Path, slurm: SlurmJobType) -> None:
    problems = slurm.validate(JobSpec(name="t", kind="slurm", command="true", options={"partiton": "gpu"}),
                              tmp_path)
    assert len(problems) == 1
    assert "unknown slurm option 'partiton'" in problems[0]
    for name in ("partition", "cpus_per_task", "gres", "directives"):
        assert name in problems[0]
    assert set(KNOWN_OPTIONS) >= {"partition", "account", "qos", "time", "nodes", "ntasks", "cpus_per_task", "mem",
                                  "gres", "gpus", "constraint", "array", "directives"}


def test_bad_values_are_named(tmp_path: Path, slurm: SlurmJobType) -> None:
    problems = slurm.validate(JobSpec(name="t", kind="slurm", command="true",
                                      options={"time": "soon", "ntasks": 0}), tmp_path)
    assert "slurm option 'time'" in problems[0] and "'soon'" in problems[0]
    assert "slurm option 'ntasks'" in problems[0]
    with pytest.raises(JobTypeError) as caught:
        slurm.submit(make_launch(tmp_path, command="true", options={"nodez": 1}))
    assert "job 'train'" in str(caught.value) and "unknown slurm option 'nodez'" in str(caught.value)


def test_script_kinds(tmp_path: Path, slurm: SlurmJobType) -> None:
    wf = tmp_path / "wf"
    wf.mkdir()
    (wf / "prep.py").write_text("print('hi')\n")
    (wf / "run.sh").write_text("echo hi\n")
    (wf / "nb.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    py = slurm.show_script(make_launch(tmp_path, script="prep.py", args=["--n", "3"], python="/opt/py/bin/python"))
    assert f"/opt/py/bin/python {wf / 'prep.py'} --n 3" in py  # type: ignore[operator]
    sh = slurm.show_script(make_launch(tmp_path, script="run.sh"))
    assert f"bash {wf / 'run.sh'}" in sh  # type: ignore[operator]
    nb = slurm.show_script(make_launch(tmp_path, notebook="nb.ipynb"))
    assert "-m nbconvert --to notebook --execute" in nb  # type: ignore[operator]
    papermill = slurm.show_script(make_launch(tmp_path, notebook="nb.ipynb", parameters={"lr": 0.1}))
    assert "-m papermill -k python3 -l python" in papermill and '{"lr": 0.1}' in papermill  # type: ignore[operator]


def test_script_is_valid_bash(tmp_path: Path, slurm: SlurmJobType) -> None:
    script = slurm.show_script(make_launch(tmp_path, command="echo 'quoted $x' && exit 3",
                                           env={"ODD": "it's \"here\""}, workdir="sub dir"))
    path = tmp_path / "check.sbatch"
    path.write_text(script)  # type: ignore[arg-type]
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    assert "export ODD='it'\"'\"'s \"here\"'" in script  # type: ignore[operator]


def test_log_path_is_taken_literally(tmp_path: Path, slurm: SlurmJobType) -> None:
    launch = make_launch(tmp_path / "100% done", command="true")
    script = slurm.show_script(launch)
    assert f'#SBATCH --output="{str(launch.log_path).replace("%", "%%")}"' in script.splitlines()  # type: ignore[union-attr]
