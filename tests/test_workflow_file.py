"""Loading, validating and saving workflow files (cc's format and cloudmesh-cc's)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from cc_core.errors import WorkflowError
from cc_core.workflow.model import JobSpec, WorkflowSpec
from cc_core.workflow.validation import validate_workflow
from cc_core.workflow.file import warnings_of, dump_workflow, load_workflow, load_workflow_text, save_workflow


def problems_of(path: Path) -> list[str]:
    with pytest.raises(WorkflowError) as info:
        validate_workflow(load_workflow(path))
    return [str(p) for p in info.value.problems]


def test_native_file_loads_with_defaults_and_chains(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: analysis
        defaults: {retries: 2, env: {STAGE: test}}
        jobs:
          fetch-data: {command: echo fetch}
          clean.v2: {command: echo clean, env: {EXTRA: "1"}}
          report_final: {command: echo report, depends: clean.v2, retries: 0}
        dependencies:
          - fetch-data,clean.v2
    """)
    spec = load_workflow(path)
    assert list(spec.jobs) == ["fetch-data", "clean.v2", "report_final"]
    assert spec.jobs["clean.v2"].depends == ["fetch-data"]
    assert spec.jobs["report_final"].depends == ["clean.v2"]
    assert spec.jobs["fetch-data"].retries == 2 and spec.jobs["report_final"].retries == 0
    assert spec.jobs["clean.v2"].env == {"STAGE": "test", "EXTRA": "1"}
    assert spec.directory == path.parent.resolve()


def test_cycle_is_named(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: loop
        jobs:
          a: {command: "true", depends: [c]}
          b: {command: "true", depends: [a]}
          c: {command: "true", depends: [b]}
          d: {command: "true"}
    """)
    (problem,) = problems_of(path)
    assert "dependency cycle" in problem
    assert any(cycle in problem for cycle in ("a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"))
    assert str(path) in problem


def test_unknown_dependency_names_job_file_and_line(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: typo
        jobs:
          prepare: {command: "true"}
          train:
            command: "true"
            depends: [prepair]
    """)
    (problem,) = problems_of(path)
    assert f"{path}:7:" in problem
    assert "job 'train'" in problem and "'prepair'" in problem and "did you mean 'prepare'" in problem


def test_unknown_dependency_in_chain_names_line(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: chain
        jobs:
          a: {command: "true"}
          b: {command: "true"}
        dependencies:
          - a,b
          - b,missing
    """)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    (problem,) = info.value.problems
    assert problem.line == 8 and "'missing'" in str(problem) and str(path) in str(problem)


def test_duplicate_job_is_reported_with_both_lines(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: dup
        jobs:
          a: {command: "true"}
          b: {command: "true"}
          a: {command: "false"}
    """)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    text = str(info.value)
    assert f"{path}:6:" in text and "'a' is given twice (first at line 4)" in text


def test_missing_script_is_reported_before_anything_runs(write_workflow: Callable[..., Path],
                                                         cc_home: Path) -> None:
    path = write_workflow("""
        name: missing
        jobs:
          a: {script: does-not-exist.sh}
    """)
    (problem,) = problems_of(path)
    assert "does-not-exist.sh" in problem and "does not exist" in problem and f"{path}:4:" in problem
    assert not (cc_home / "runs").exists()


def test_unknown_kind_lists_installed_kinds(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: kinds
        jobs:
          a:
            command: "true"
            kind: quantum
    """)
    (problem,) = problems_of(path)
    assert "unknown job kind 'quantum'" in problem and "local" in problem and f"{path}:6:" in problem


def test_wrong_field_type_names_field_job_and_line(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: types
        jobs:
          a:
            command: "true"
            retries: many
          b:
            command: "true"
            colour: red
    """)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    problems = [str(p) for p in info.value.problems]
    assert any(f"{path}:6:" in p and "job 'a'" in p and "retries" in p for p in problems), problems
    assert any(f"{path}:9:" in p and "job 'b'" in p and "unknown field 'colour'" in p for p in problems), problems


def test_job_without_payload_and_with_two_payloads(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("""
        name: payload
        jobs:
          none: {host: localhost}
          two: {command: "true", script: x.sh}
    """)
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    text = str(info.value)
    assert "job 'none'" in text and "give one of script, notebook, command or function" in text
    assert "job 'two'" in text and "give only one of" in text


def test_bad_yaml_names_line(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow("name: x\njobs:\n  a: {command: [unclosed\n")
    with pytest.raises(WorkflowError) as info:
        load_workflow(path)
    assert "not valid YAML" in str(info.value) and str(path) in str(info.value)


def test_save_then_load_gives_the_same_workflow(tmp_path: Path) -> None:
    spec = WorkflowSpec(name="round-trip", description="all the fields", workflow_dir=str(tmp_path), jobs={
        "a": JobSpec(name="a", command="echo a", env={"X": "1"}, timeout=90, retries=2, retry_delay=1.5),
        "b-1": JobSpec(name="b-1", script="b.py", args=["--n", "3"], depends=["a"], options={"mem": "1G"}),
        "c.x": JobSpec(name="c.x", notebook="c.ipynb", parameters={"p": 1}, depends=["a", "b-1"], kind="ssh",
                       host="server1", inputs=["data.csv"], outputs=["out.csv"]),
    })
    path = save_workflow(spec, tmp_path / "saved.yaml")
    again = load_workflow(path)
    assert again.model_dump() == spec.model_dump()
    assert dump_workflow(again) == dump_workflow(spec)
    # loading twice never doubles anything
    assert load_workflow(save_workflow(again, tmp_path / "again.yaml")).model_dump() == spec.model_dump()


CLOUDMESH = """
workflow:
  nodes:
    start:
      name: start
      kind: local
      user: gregor
      host: local
      status: ready
      label: '{name}\\nprogress={progress}'
      script: start.sh
    fetch-data:
      name: fetch-data
      kind: local
      host: localhost
      exec: echo fetching
      shape: invhouse
    compute:
      name: compute
      kind: local
      host: local
      exec: compute.py
      number: 2
      progress: 0
      created: '2022-06-01 10:00:00'
    remote:
      name: remote
      kind: local
      host: red.example.org
      exec: hostname
    end:
      name: end
      kind: local
      host: local
      exec: analyse.ipynb
  dependencies:
    - start,fetch-data,compute,end
    - fetch-data,remote
colors:
  status: {ready: white, done: '#CCFFCC', failed: '#FFCCCC'}
"""


def test_cloudmesh_file_loads(write_workflow: Callable[..., Path]) -> None:
    path = write_workflow(CLOUDMESH, name="cloudmesh.yaml", start__sh="echo start\n", compute__py="print(1)\n",
                          analyse__ipynb="{}")
    spec = load_workflow(path)
    assert spec.name == "cloudmesh"
    assert spec.jobs["start"].script == "start.sh" and spec.jobs["start"].user == "gregor"
    # no fetch-data.sh, compute.sh, end.sh here: cc runs what exec says, and warns that cloudmesh-cc would not
    assert spec.jobs["fetch-data"].command == "echo fetching"
    assert spec.jobs["compute"].script == "compute.py"
    assert spec.jobs["end"].notebook == "analyse.ipynb"
    warned = {w.job for w in warnings_of(spec)}
    assert warned == {"fetch-data", "compute", "end", "remote"}
    assert all("cloudmesh-cc would run" in str(w) for w in warnings_of(spec))
    # kind: local with another host runs here: the host is only a label, as in cloudmesh-cc
    assert spec.jobs["remote"].kind == "local" and spec.jobs["remote"].host == "red.example.org"
    assert spec.jobs["fetch-data"].depends == ["start"]
    assert spec.jobs["compute"].depends == ["fetch-data"]
    assert spec.jobs["remote"].depends == ["fetch-data"]
    assert spec.jobs["end"].depends == ["compute"]
    assert spec.colors["done"] == "#CCFFCC"


def test_cloudmesh_saved_runtime_file_with_edge_mapping(tmp_path: Path) -> None:
    text = """
workflow:
  nodes:
    a-1: {name: a-1, kind: local, host: local, exec: echo a, number: 0, parent: [], progress: 100,
          instance: x, modified: y}
    b-1: {name: b-1, kind: local, host: local, exec: echo b}
    b: {name: b, kind: local, host: local, exec: echo b2}
  dependencies:
    a-1-b-1: {source: a-1, destination: b-1, name: a-1-b-1}
    a-1-b: {source: a-1, destination: b, name: a-1-b}
"""
    spec = load_workflow_text(text, name="saved", directory=tmp_path)
    assert spec.jobs["b-1"].depends == ["a-1"] and spec.jobs["b"].depends == ["a-1"]
    assert spec.jobs["a-1"].depends == []


def test_cloudmesh_chain_naming_undefined_node_is_an_error(tmp_path: Path) -> None:
    text = "workflow:\n  nodes:\n    a: {name: a, exec: echo a}\n  dependencies:\n    - a,ghost\n"
    with pytest.raises(WorkflowError) as info:
        load_workflow_text(text, name="bad", directory=tmp_path)
    (problem,) = info.value.problems
    assert "'ghost'" in str(problem) and problem.line == 5


def test_durations() -> None:
    job = JobSpec(name="t", command="true", timeout="1:30:00", retry_delay="500ms")
    assert job.timeout == 5400 and job.retry_delay == 0.5
    assert JobSpec(name="t", command="true", timeout="10m").timeout == 600
    with pytest.raises(ValueError):
        JobSpec(name="t", command="true", timeout="soon")


def test_alias_bombs_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    with pytest.raises(WorkflowError, match="aliases"):
        load_workflow_text(laughs, name="bomb", directory=tmp_path)
    path = tmp_path / "deep.yaml"
    path.write_text("jobs: " + "[" * 50000 + "]" * 50000)
    with pytest.raises(WorkflowError, match="nest") as info:
        load_workflow(path)
    assert str(path) in str(info.value)
    medium = tmp_path / "medium.yaml"
    medium.write_text("jobs: " + "[" * 200 + "]" * 200)
    with pytest.raises(WorkflowError, match="nests more than 64 levels"):
        load_workflow(medium)
