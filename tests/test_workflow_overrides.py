"""ccw run/validate --set KEY.PATH=VALUE and --override FILE: the file changed as it is read, checked like the file."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

from cc_core.errors import CCError, WorkflowError
from cc_core.workflow.file import load_workflow
from cc_core.workflow.overrides import parse_setting, settings_from
from cc_core.workflow.validation import validate_workflow

WORKFLOW = """
    name: overridden
    defaults:
      env: {WHO: file, KEEP: kept}
      retries: 1
    jobs:
      greet:
        command: echo "$WHO $KEEP" > greeting.txt
        timeout: 60
      step.two:
        command: echo two
        depends: [greet]
"""
Ccw = Callable[..., subprocess.CompletedProcess[str]]


def test_set_changes_the_run(ccw: Ccw, write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow(WORKFLOW)
    result = ccw("run", str(path), "--no-live", "--set", "defaults.env.WHO=cli", "--set", "jobs.step.two.kind=local",
                 "--set", "jobs.greet.timeout=null")
    assert result.returncode == 0, result.stderr
    greeting = next((cc_home / "runs").glob("*/greet/greeting.txt"))
    assert greeting.read_text().strip() == "cli kept"   # one key of env changed, the other kept


def test_settings_values_and_order(write_workflow: Callable[..., Path], tmp_path: Path) -> None:
    path = write_workflow(WORKFLOW)
    override = tmp_path / "on-cluster.yaml"
    override.write_text("defaults: {retries: 3, env: {WHO: override}}\njobs: {greet: {args: [a]}, step.two: {label: Two}}\n")
    spec = load_workflow(path, settings_from(["defaults.retries=5", "jobs.step.two.retries=0",
                                              "limits.max_parallel=3", "jobs.greet.timeout=null",
                                              "description="], [str(override)]))
    greet, two = spec.jobs["greet"], spec.jobs["step.two"]
    assert greet.retries == 5 and two.retries == 0            # --set comes after the override file
    assert greet.env == {"WHO": "override", "KEEP": "kept"}   # mappings merge key by key
    assert greet.timeout is None and spec.limits.max_parallel == 3 and spec.description == ""
    assert greet.args == ["a"] and two.label == "Two" and two.command == "echo two"
    assert parse_setting("jobs.train.args=[--lr, '0.1']").value == ["--lr", "0.1"]


def test_bad_settings_are_named(ccw: Ccw, write_workflow: Callable[..., Path]) -> None:
    path = write_workflow(WORKFLOW)
    result = ccw("validate", str(path), "--set", "jobs.nope.kind=slurm", "--set", "defaults.retries.x=1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--set jobs.nope.kind=slurm: the workflow has no job 'nope' (jobs: greet, step.two)" in result.stderr
    assert "--set defaults.retries.x=1: 'defaults.retries' is not a mapping" in result.stderr
    result = ccw("validate", str(path), "--set", "defaults.retries=many")
    assert result.returncode == 2
    assert f"{path}:5: job 'greet': field 'retries'" in result.stderr   # the line of defaults.retries
    assert "hint: the file as changed by --set defaults.retries=many" in result.stderr
    for bad in ("novalue", "a..b=1", "=1"):
        result = ccw("run", str(path), "--set", bad)
        assert result.returncode == 2 and f"--set '{bad}' is not a setting" in result.stderr
    result = ccw("run", str(path), "--set", "jobs.greet.args=[a")
    assert result.returncode == 2 and "the value is not valid YAML" in result.stderr


def test_override_file_problems(tmp_path: Path) -> None:
    with pytest.raises(CCError, match="cannot read the override file"):
        settings_from([], [str(tmp_path / "missing.yaml")])
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(CCError, match="an override file is a mapping"):
        settings_from([], [str(tmp_path / "list.yaml")])
    (tmp_path / "broken.yaml").write_text("defaults: {kind: [\n")
    with pytest.raises(CCError, match="broken.yaml:2: not valid YAML"):
        settings_from([], [str(tmp_path / "broken.yaml")])


def test_settings_reach_validation(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow(WORKFLOW)
    with pytest.raises(WorkflowError) as caught:
        validate_workflow(load_workflow(path, settings_from(["jobs.step.two.depends=[nowhere]"])))
    assert "nowhere" in str(caught.value)


def test_rerun_reads_the_file_with_the_same_settings(ccw: Ccw, write_workflow: Callable[..., Path],
                                                     cc_home: Path) -> None:
    path = write_workflow("""
        name: again
        jobs:
          first:
            command: echo "$WHO" > who.txt
          second:
            command: test -f "$CC_RUN_DIR/../go" && echo "$WHO" > who.txt
            depends: [first]
    """)
    result = ccw("run", str(path), "--no-live", "--set", "defaults.env.WHO=cli")
    assert result.returncode == 1, result.stderr   # second fails until the file 'go' exists
    (cc_home / "runs" / "go").write_text("")
    result = ccw("rerun", "again", "--no-live")
    assert result.returncode == 0, result.stdout + result.stderr
    second = next((cc_home / "runs").glob("*/second/who.txt"))
    assert second.read_text().strip() == "cli"   # the rerun read the file again with --set defaults.env.WHO=cli
