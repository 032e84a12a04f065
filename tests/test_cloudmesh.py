"""cloudmesh-cc users move over unchanged: its workflow files (as it ships and saves them), its Python API (through
cc_core.cloudmesh) and its progress lines. The expected states are those cloudmesh-cc 5.0.3 gives the same files:
every job whose script exists and exits 0 ends ``done`` with progress 100."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from cc_core.errors import CCError, WorkflowError
from cc_core.testing.polling import ccw_command
from cc_core.workflow.file import load_workflow, load_workflow_text, warnings_of

STEP = '#!/bin/sh\necho "# cloudmesh status=running progress=50 pid=$$"\necho "# cloudmesh status=done progress=100 pid=$$"\n'
LABEL = r"'''debug={cm.debug}\nhome={os.HOME}\n{name}\n{now.%m/%d/%Y, %H--%M--%S}\nprogress={progress}'''"

# tests/workflows/workflow.yaml of cloudmesh-cc: jobs named after their scripts, 'kind: local' on remote-looking hosts
SHIPPED = f"""
workflow:
  nodes:
    start: {{label: start, kind: local, user: grey, host: local, status: ready, script: start.sh, name: start}}
    end: {{label: end, kind: local, user: grey, host: local, status: ready, script: end.sh, name: end}}
    job-local-0: {{label: "{LABEL}", kind: local, user: grey, host: local, status: ready,
                  script: job-local-0.sh, name: job-local-0}}
    job-rivanna.hpc.virginia.edu-3: {{label: "{LABEL}", kind: local, user: thf2bn, host: rivanna.hpc.virginia.edu,
                  status: ready, script: job-rivanna.hpc.virginia.edu-3.sh, name: job-rivanna.hpc.virginia.edu-3}}
  dependencies:
      - start,job-local-0,end
      - start,job-rivanna.hpc.virginia.edu-3,end
colors:
  status: {{ready: white, undefined: '#DBFF33', done: '#CCFFCC', failed: '#FFCCCC', running: '#CCE5FF'}}
"""


def _scripts(folder: Path, *names: str, body: str = STEP) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / name
        path.write_text(body)
        path.chmod(0o755)


def _ccw(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ccw_command(*args), capture_output=True, text=True, cwd=cwd, timeout=120)


def test_shipped_file_runs_every_job_here_with_labels_filled(cc_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "workflows"
    _scripts(folder, "start.sh", "end.sh", "job-local-0.sh", "job-rivanna.hpc.virginia.edu-3.sh")
    (folder / "workflow.yaml").write_text(SHIPPED)
    validated = _ccw("validate", str(folder / "workflow.yaml"))
    assert validated.returncode == 0, validated.stderr
    assert "warning" not in validated.stderr   # the scripts are the ones cloudmesh-cc runs: nothing to warn about
    result = _ccw("run", str(folder / "workflow.yaml"), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {j["name"]: j for j in json.loads(result.stdout)["jobs"]}
    assert {n: (j["state"], j["progress"]) for n, j in jobs.items()} == {
        n: ("done", 100.0) for n in ("start", "end", "job-local-0", "job-rivanna.hpc.virginia.edu-3")}
    assert jobs["job-rivanna.hpc.virginia.edu-3"]["kind"] == "local"
    svg = _ccw("export", "workflow", "--format", "svg").stdout
    assert "{name}" not in svg and "progress={progress}" not in svg
    # '{now.%m/%d/%Y, %H--%M--%S}' is a time with ':' for '--'; line breaks show as ' · ' in the box
    assert re.search(r"home=\S* · job-local-0 · \d\d/\d\d/\d{4}, \d\d:\d\d:\d\d · progress=100", svg)


def test_example_file_with_exec_runs_the_named_scripts_and_warns(cc_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "workflow-example"
    _scripts(folder, "start.sh", "fetch-data.sh", "end.sh")
    (folder / "workflow-example.yaml").write_text(textwrap.dedent("""
        workflow:
          nodes:
            start: {label: 'start\\nElapsed={dt0.%M--%S}', kind: local, host: local, exec: 'echo hello', name: start,
                    shape: invhouse, style: ''}
            fetch-data: {label: '{name}\\nProgress={progress}', kind: local, host: local, exec: 'echo hello',
                         name: fetch-data}
            end: {label: end, kind: local, host: local, exec: 'echo hello', name: end, shape: house}
          dependencies:
              - start,fetch-data,end
    """))
    spec = load_workflow(folder / "workflow-example.yaml")
    assert {n: j.script for n, j in spec.jobs.items()} == {"start": "start.sh", "fetch-data": "fetch-data.sh",
                                                            "end": "end.sh"}
    warned = warnings_of(spec)
    assert {w.job for w in warned} == {"start", "fetch-data", "end"}
    assert all("'exec: echo hello' is ignored" in str(w) and w.line for w in warned)
    result = _ccw("run", str(folder / "workflow-example.yaml"), "--json")
    assert result.returncode == 0 and "warning:" in result.stderr and "exec: echo hello" in result.stderr
    assert [j["state"] for j in json.loads(result.stdout)["jobs"]] == ["done"] * 3


def test_nodes_made_by_dependencies_and_saved_files(cc_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    _scripts(folder, "a.sh", "b.sh", "c.sh", "d.sh")
    # the shape cloudmesh-cc's Workflow.save writes: edge mapping, status, progress, parent, created, instance
    (folder / "saved.yaml").write_text(textwrap.dedent("""
        workflow:
          nodes:
            a: {name: a, kind: local, host: local, status: done, progress: 100, parent: [], script: a.sh,
                created: '2022-06-01 10:00:00', modified: '2022-06-01 10:00:00', instance: null, label: a}
            b: {name: b, kind: local, host: local, status: ready, progress: 0, parent: [a], script: b.sh}
          dependencies:
            a-b: {source: a, destination: b, name: a-b}
    """))
    spec = load_workflow(folder / "saved.yaml")
    assert spec.jobs["b"].depends == ["a"] and not warnings_of(spec)
    # a name only a chain mentions is a job that runs NAME.sh, as in cloudmesh-cc
    made = load_workflow_text("workflow:\n  nodes:\n    a: {name: a}\n  dependencies:\n    - a,c,d\n",
                              name="made", directory=folder)
    assert made.jobs["c"].script == "c.sh" and made.jobs["d"].depends == ["c"] and made.jobs["a"].script == "a.sh"
    with pytest.raises(WorkflowError) as info:
        load_workflow_text("workflow:\n  nodes:\n    a: {name: a}\n  dependencies:\n    - a,ghost\n",
                           name="ghost", directory=folder)
    assert any("'ghost'" in str(p) and p.line == 5 for p in info.value.problems)
    # a node with only a name and no script of its name: the error names job, file and line
    path = folder / "missing.yaml"
    path.write_text("workflow:\n  nodes:\n    nope: {name: nope}\n")
    with pytest.raises(WorkflowError) as missing:
        load_workflow(path)
    (problem,) = missing.value.problems
    assert problem.job == "nope" and problem.line == 3 and "nope.sh" in str(problem) and str(path) in str(problem)


def test_script_named_b_sh_runs_b_sh_and_python_and_notebook_names(tmp_path: Path) -> None:
    folder = tmp_path / "clean"
    _scripts(folder, "b.sh")
    (folder / "c.py").write_text("print('c')\n")
    (folder / "d.ipynb").write_text("{}")
    # cloudmesh-cc's save writes script: b.sh.sh for a node named b.sh; it runs b.sh
    spec = load_workflow_text(textwrap.dedent("""
        workflow:
          nodes:
            b.sh: {name: b.sh, script: b.sh.sh}
            c.py: {name: c.py, script: c.py.sh}
            d.ipynb: {name: d.ipynb, script: d.ipynb.sh}
          dependencies:
            - b.sh,c.py,d.ipynb
    """), name="clean", directory=folder)
    assert (spec.jobs["b.sh"].script, spec.jobs["c.py"].script, spec.jobs["d.ipynb"].notebook) == (
        "b.sh", "c.py", "d.ipynb")
    assert not warnings_of(spec)


def test_really_remote_jobs_still_fail_validation_naming_the_host(tmp_path: Path) -> None:
    folder = tmp_path / "remote"
    _scripts(folder, "r.sh")
    (folder / "remote.yaml").write_text(
        "workflow:\n  nodes:\n    r: {name: r, kind: ssh, host: nowhere.invalid, script: r.sh}\n")
    result = _ccw("validate", str(folder / "remote.yaml"))
    assert result.returncode == 2 and "nowhere.invalid" in result.stderr + result.stdout


NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {}, "outputs": [],
               "source": ["print('# cloudmesh status=running progress=70 pid=1')"]}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.mark.parametrize("run", ["run_topo", "run_parallel"])
def test_131_program_through_the_compatibility_module(run: str, cc_home: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """test_131_workflow_local.py of cloudmesh-cc, ported: its calls, with a shell script, a Python script and a
    notebook, under both schedulers."""
    from cc_core.cloudmesh import Workflow

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    w = Workflow(name="workflow-local", load=False)
    runtime = Path(w.runtime_dir)
    assert runtime == (tmp_path / "home" / ".cloudmesh/workflow/workflow-local/runtime").resolve()
    _scripts(runtime, "start.sh", "end.sh", "job-local-0.sh", "job-rivanna.hpc.virginia.edu-1.sh")
    (runtime / "prep.py").write_text("print('# cloudmesh status=running progress=40 pid=1')\n")
    (runtime / "report.ipynb").write_text(json.dumps(NOTEBOOK))
    w.add_job(name="start", kind="local", user="me", host="local")
    w.add_job(name="end", kind="local", user="me", host="local")
    label = r"debug={cm.debug}\nhome={os.HOME}\n{name}\n{now.%m/%d/%Y, %H--%M--%S}\nprogress={progress}"
    w.add_job(name="job-local-0", label=label, kind="local", user="me", host="local")
    w.add_job(name="job-rivanna.hpc.virginia.edu-1", label=label, kind="local", user="u",
              host="rivanna.hpc.virginia.edu")
    w.add_job(name="prep.py", kind="local", host="local")
    w.add_job(name="report.ipynb", kind="local", host="local")
    w.add_dependencies("start,job-local-0,prep.py,report.ipynb,end")
    w.add_dependencies("start,job-rivanna.hpc.virginia.edu-1,end")
    w.save(filename=str(tmp_path / "workflow-local.yaml"))
    g = str(w.graph)
    assert "name: start" in g and "start-job-rivanna.hpc.virginia.edu-1:" in g and "host: local" in g
    assert w["start"] == w.job("start") and w["start"]["name"] == "start"
    assert "| progress |" in w.table and "job-rivanna.hpc.virginia.edu-1" in w.table
    order = w.sequential_order()
    assert len(order) == len(w.jobs) and order[0] == "start" and order[-1] == "end"
    state = getattr(w, run)(show=True)
    assert state is not None and state.value == "done"
    for name, node in w.jobs.items():
        assert (node["status"], node["progress"], node["parent"]) == ("done", 100, []), name
    svg = (runtime / "workflow-local.svg").read_text()
    assert "progress=100" in svg and "{name}" not in svg
    # the same file loads into another instance: load() fills THIS workflow
    w2 = Workflow(name="other", load=False)
    w2.load(filename=str(tmp_path / "workflow-local.yaml"))
    assert set(w2.jobs) == set(w.jobs) and w2.predecessor("end") == ["report.ipynb", "job-rivanna.hpc.virginia.edu-1"]
    with pytest.raises(CCError, match="SVG"):
        w.graph.save(filename=str(tmp_path / "g.png"))


def test_cc_workflow_load_on_an_instance_fills_it(tmp_path: Path) -> None:
    from cc_core import Workflow

    path = tmp_path / "wf.yaml"
    path.write_text("name: wf\njobs:\n  a: {command: 'true'}\n")
    w = Workflow("empty")
    w.load(path)
    assert w.name == "wf" and list(w.jobs) == ["a"]
    assert list(Workflow.load(path).jobs) == ["a"]


def test_ccw_progress_prints_the_progress_line(cc_home: Path, write_workflow: Callable[..., Path]) -> None:
    line = _ccw("progress", "40", "--msg", "epoch 2/5").stdout
    assert line.strip() == '# cc status=running progress=40 msg="epoch 2/5"'
    path = write_workflow("""
        name: reporting
        jobs:
          step: {script: step.sh}
    """, step__sh=f"#!/bin/sh\n{' '.join(ccw_command())} progress 55 --msg 'half way'\nsleep 0.2\n")
    result = _ccw("run", str(path), "--json")
    (job,) = json.loads(result.stdout)["jobs"]
    assert job["state"] == "done" and job["message"] == "half way"
    assert "# cc status=running progress=55 msg=\"half way\"" in _ccw("logs", "reporting", "step").stdout


def test_exec_all_mnist_and_slurm_shapes_run(cc_home: Path, tmp_path: Path) -> None:
    """tests/workflow-exec/source-exec-all.yaml, tests/mnist/mnist.yaml and tests/workflow-slurm's file of
    cloudmesh-cc: nodes without 'name:', a chain through a node only the chain names, 'dependencies: {}', a chain
    of one name, and 'kind: local' on host rivanna."""
    folder = tmp_path / "exec"
    _scripts(folder, "c.sh", "example_mlp_mnist.sh")
    _scripts(tmp_path / "slurm", "slurm.sh")
    (folder / "b.py").write_text("print('# cloudmesh status=running progress=60 pid=1')\n")
    (folder / "a.ipynb").write_text(json.dumps(NOTEBOOK))
    (folder / "exec.yaml").write_text(textwrap.dedent("""
        workflow:
          nodes:
            start: {label: start, kind: local, host: local, exec: "echo start"}
            a: {label: a.ipynb, kind: local, host: local, exec: a.ipynb}
            b: {label: b.py, kind: local, host: local, exec: b.py}
            c: {label: c.sh, kind: local, host: local, exec: c.sh}
            end: {label: end, kind:  local, host: local, exec: "echo end"}
          dependencies:
            - start,example_mlp_mnist,end
    """))
    (folder / "mnist.yaml").write_text(textwrap.dedent("""
        workflow:
          nodes:
            start: {label: start, kind: local, host: local, exec: echo start, name: start}
            end: {label: stop, kind: local, host: local, exec: echo end, name: end}
          dependencies: {}
    """))
    (tmp_path / "slurm" / "slurm.yaml").write_text(
        "workflow:\n  nodes:\n    c:\n      {name: c, user: jp, host: rivanna, kind: local, status: ready, "
        "label: job-1-label, script: slurm.sh}\n  dependencies:\n    - c\n")
    expected = {"exec": {"start": "done", "a": "done", "b": "done", "c": "done", "end": "done",
                         "example_mlp_mnist": "done"},
                "mnist": {"start": "done", "end": "done"},
                "slurm": {"c": "done"}}
    for name, states in expected.items():
        result = _ccw("run", str((tmp_path / "slurm" if name == "slurm" else folder) / f"{name}.yaml"), "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        assert {j["name"]: j["state"] for j in json.loads(result.stdout)["jobs"]} == states
    spec = load_workflow(folder / "exec.yaml")
    assert spec.jobs["example_mlp_mnist"].script == "example_mlp_mnist.sh"
    assert spec.jobs["end"].depends == ["example_mlp_mnist"] and spec.jobs["a"].notebook == "a.ipynb"
    # no c.sh beside it: cloudmesh-cc would fail; cc runs the script the file names, with a warning
    slurm = load_workflow(tmp_path / "slurm" / "slurm.yaml")
    assert slurm.jobs["c"].script == "slurm.sh" and slurm.jobs["c"].host == "rivanna" and warnings_of(slurm)


def test_notebook_in_a_venv_without_the_runner_is_found_by_validate(tmp_path: Path) -> None:
    import venv

    bare = tmp_path / "ENV3"
    venv.EnvBuilder(with_pip=False).create(bare)
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "d.ipynb").write_text(json.dumps(NOTEBOOK))
    (folder / "flow.yaml").write_text(f"workflow:\n  nodes:\n    d.ipynb: {{name: d.ipynb, venv: {bare}}}\n")
    result = _ccw("validate", str(folder / "flow.yaml"))
    assert result.returncode == 2
    assert "lacks cc's notebook runner" in result.stderr and f"{bare}/bin/pip install" in result.stderr
    assert "flow.yaml:3" in result.stderr and "d.ipynb" in result.stderr
