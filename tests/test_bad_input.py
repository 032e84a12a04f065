"""Bad input is a clear error with file and line, all problems at once: never a traceback, never a hang."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from cc_core.testing.polling import ccw_command


def ccw(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ccw_command(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, **(env or {})})


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


def test_validate_reports_every_problem_at_once(write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow("""\
        name: many
        limits:
          max_parallel: 0
          hosts: {localhost: -2}
          kinds: {local: 0, sssh: 2}
        jobs:
          a: {command: "true", depends: [c], retries: many}
          b: {command: "true", depends: [a, zz]}
          c: {command: "true", depends: [b], kind: sssh}
          d: {script: missing.sh, timeout: .nan, retry_delay: .inf}
          e: {script: folder}
          f: {script: plain.bin, depnds: [a]}
          g: {command: "true", env: {"BAD=KEY": x}}
          on: {command: "true"}
          null: {command: "true"}
          "h\\n": {command: "true"}
          i: {script: /dev/null}
    """, **{"plain__bin": "#!/bin/sh\necho hi\n"})
    (path.parent / "folder").mkdir()
    result = ccw("validate", str(path))
    no_traceback(result)
    assert result.returncode == 2
    err = result.stderr
    expected = [
        (3, "limits.max_parallel is 0"),
        (4, "limits.hosts.localhost is -2"),
        (5, "limits.kinds.local is 0"),
        (5, "'sssh' is not an installed job kind"),
        (7, "'many' is not a whole number"),
        (8, "depends on 'zz', which is not a job"),
        (8, "dependency cycle: "),
        (9, "unknown job kind 'sssh'"),
        (10, "field 'timeout': 'nan' is not a duration"),
        (10, "field 'retry_delay': 'inf' is not a duration"),
        (10, "script 'missing.sh' does not exist"),
        (11, "script 'folder' is a folder, not a file"),
        (12, "unknown field 'depnds' (did you mean 'depends'?)"),
        (12, "script 'plain.bin' is not executable"),
        (13, "'BAD=KEY' is not an environment variable name"),
        (15, "a key is empty"),
        (16, "is not a job name"),
        (17, "script '/dev/null' is not a regular file"),
    ]
    for line, text in expected:
        assert any(f"{path}:{line}:" in row and text in row for row in err.splitlines()), (line, text, err)
    assert "job 'on'" not in err   # 'on' is a name as written, not YAML's boolean


def test_validate_json_lists_the_same_problems(write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow("""\
        jobs:
          a: {command: "true", retries: -1}
          b: {command: "true", depends: [a, nope]}
    """)
    result = ccw("validate", "--json", str(path))
    import json

    data = json.loads(result.stdout)
    assert result.returncode == 2 and data["valid"] is False
    assert [(p["line"], p["job"]) for p in data["problems"]] == [(2, "a"), (3, "b")]


@pytest.mark.parametrize("names, text", [
    (["CON", "a"], "'CON' is not a job name: Windows reserves it"),
    (["nul.txt", "a"], "'nul.txt' is not a job name: Windows reserves it"),
    (["com1", "a"], "'com1' is not a job name"),
    (["fetch", "Fetch"], "job 'Fetch' and job 'fetch' differ only in upper/lower case"),
    (["data.", "a"], "may not end with '.'"),
])
def test_names_windows_cannot_hold_apart_are_refused(names: list[str], text: str,
                                                     write_workflow: Callable[..., Path], cc_home: Path) -> None:
    jobs = "".join(f"  {name}: {{command: 'true'}}\n" for name in names)
    path = write_workflow("jobs:\n" + jobs)
    result = ccw("validate", str(path))
    no_traceback(result)
    assert result.returncode == 2 and text in result.stderr
    bad_line = 3 if "Fetch" in names else 2
    assert f"{path}:{bad_line}:" in result.stderr


def test_a_workflow_named_after_a_device_is_refused(write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow("name: aux\njobs:\n  a: {command: 'true'}\n")
    result = ccw("validate", str(path))
    assert result.returncode == 2 and f"{path}:1: 'aux' is not a workflow name" in result.stderr


def test_files_that_are_not_workflows(tmp_path: Path, cc_home: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"jobs:\n  a: {command: 'echo caf\xe9'}\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"jobs:\n\x00\x01\x02")
    for path, text in [(latin1, f"{latin1}:2: is not UTF-8 text"), (binary, f"{binary}:2: is not a text file"),
                       (Path("/dev/zero"), "/dev/zero: the workflow file is larger than 32 MB")]:
        result = ccw("validate", str(path))
        no_traceback(result)
        assert result.returncode == 2 and text in result.stderr, result.stderr


def test_a_file_larger_than_the_cap_is_refused(tmp_path: Path, cc_home: Path) -> None:
    from cc_core.workflow.file import MAX_FILE_BYTES

    big = tmp_path / "big.yaml"
    with open(big, "wb") as stream:
        stream.truncate(MAX_FILE_BYTES + 10)   # sparse: no disk used
    result = ccw("validate", str(big))
    no_traceback(result)
    assert result.returncode == 2 and "is larger than 32 MB" in result.stderr


def test_merge_keys_work(write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow("""\
        x-base: &base {command: "true", retries: 2}
        jobs:
          a:
            <<: *base
            retries: 1
          b: {<<: *base}
    """)
    result = ccw("export", str(path))
    no_traceback(result)
    assert result.returncode == 0
    import yaml

    jobs = yaml.safe_load(result.stdout)["jobs"]
    assert jobs["a"]["retries"] == 1 and jobs["b"]["retries"] == 2 and jobs["b"]["command"] == "true"


def test_cc_home_that_is_a_file(tmp_path: Path, write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("jobs:\n  a: {command: 'true'}\n")
    plain = tmp_path / "plain-file"
    plain.write_text("")
    for home, text in [(plain, "is a file, not a folder"), (plain / "sub", f"lies under {plain}, which is a file")]:
        result = ccw("run", str(path), env={"CC_HOME": str(home)})
        no_traceback(result)
        assert result.returncode == 2 and text in result.stderr


def test_settings_file_problems_are_reported_with_line(write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow("jobs:\n  a: {command: 'true'}\n")
    cc_home.mkdir(parents=True)
    config = cc_home / "config.yaml"
    config.write_text("job_types:\n  local: {kill_grace: ten}\n")
    result = ccw("run", str(path))
    no_traceback(result)
    assert result.returncode == 2   # bad input, not "a job failed"
    assert f"{config}:2: job_types: local: kill_grace: 'ten' is not a number" in result.stderr
    config.write_text("job_types:\n  local:\n    kill_grce: 10\n  sssh: {}\n")
    result = ccw("validate", str(path))
    assert result.returncode == 2
    assert f"{config}:3: unknown setting 'kill_grce' of job type 'local'" in result.stderr
    assert f"{config}:4: job_types: 'sssh' is not an installed job kind" in result.stderr
    assert not (cc_home / "runs").exists() or not any((cc_home / "runs").iterdir())


@pytest.mark.parametrize("value", ["-3", "0", "x"])
def test_max_parallel_below_one_is_refused(value: str, write_workflow: Callable[..., Path], cc_home: Path) -> None:
    path = write_workflow("jobs:\n  a: {command: 'true'}\n")
    result = ccw("run", "-j", value, str(path), timeout=30)
    assert result.returncode == 2 and "--max-parallel/-j" in result.stderr


def test_python_api_refuses_max_parallel_zero(cc_home: Path, tmp_path: Path) -> None:
    from cc_core import CCError, Workflow

    wf = Workflow("zero", directory=tmp_path)
    wf.add_job("a", command="true")
    with pytest.raises(CCError, match="at least 1 job"):
        wf.run(max_parallel=0)
