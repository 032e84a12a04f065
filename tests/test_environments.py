"""Environments built on this machine: real ``ccw run`` processes, real venv + pip (and uv), wheels made here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from cc_core.testing.polling import ccw_command
from cc_core.testing.sshd import missing_component
from cc_core.testing.wheels import make_wheel, offline_requirements

Ccw = Callable[..., "subprocess.CompletedProcess[str]"]
PRINT = "python -c \"import sys, ccdemo; print('ccdemo', ccdemo.VERSION, sys.prefix)\""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    make_wheel(folder, "ccdemo", "1.0")
    make_wheel(folder, "ccdemo", "2.0")
    return folder


@pytest.fixture(autouse=True)
def _pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_ENV_INSTALLER", "pip")   # uv has a test of its own


def workflow(folder: Path, name: str, requirements: list[str], jobs: int = 10, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"name: {name}", "defaults:", f"  requirements: {json.dumps(requirements)}", "jobs:"]
    lines += [f"  job{i}: {{command: {json.dumps(PRINT)}}}" for i in range(jobs)]
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def builds(home: Path) -> list[str]:
    log = home / "envs" / "builds.log"
    return log.read_text().splitlines() if log.exists() else []


def environments(home: Path) -> list[Path]:
    root = home / "envs"
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.exists() else []


def history(ccw: Ccw, run: str) -> dict[str, list[str]]:
    data = json.loads(ccw("status", run, "--history", "--json", check=True).stdout)
    states: dict[str, list[str]] = {}
    for change in data["history"]:
        states.setdefault(change["job"], []).append(change["state"])
    return states


def test_ten_jobs_share_one_build_the_next_run_none_and_a_changed_requirement_a_new_one(
        ccw: Ccw, cc_home: Path, tmp_path: Path, wheels: Path) -> None:
    path = workflow(tmp_path / "wf", "shared", offline_requirements(wheels, "ccdemo==1.0"),
                    extra="  plain: {command: 'echo no environment'}\n"
                          "  script: {script: show.py, requirements: "
                          + json.dumps(offline_requirements(wheels, "ccdemo==1.0")) + "}\n")
    (tmp_path / "wf" / "show.py").write_text("import sys, ccdemo\nprint('script', ccdemo.VERSION, sys.executable)\n")
    result = ccw("run", str(path), "-j", "4", "--no-live", timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr

    # The cache's own record: one environment, built once, by pip, with exactly the requirements asked for.
    assert len(builds(cc_home)) == 1, builds(cc_home)
    [env] = environments(cc_home)
    record = json.loads((env / "cc-env.json").read_text())
    assert record["installer"] == "pip" and "ccdemo==1.0" in record["requirements"]
    assert "Successfully installed ccdemo-1.0" in (env / "cc-build.log").read_text()
    run_dir = cc_home / "runs" / "1"
    for i in range(10):
        assert (run_dir / f"job{i}" / f"job{i}.log").read_text() == f"ccdemo 1.0 {env}\n"
    assert (run_dir / "script" / "script.log").read_text() == f"script 1.0 {env}/bin/python\n"
    assert (run_dir / "plain" / "plain.log").read_text() == "no environment\n"
    # One job prepared (built) the environment; the others waited without a slot, then went straight to queued.
    states = history(ccw, "1")
    preparing = [job for job, seen in states.items() if "preparing" in seen]
    assert len(preparing) == 1, states
    assert states[preparing[0]] == ["preparing", "queued", "running", "done"]
    assert all(seen == ["queued", "running", "done"] for job, seen in states.items() if job != preparing[0])
    installer_log = (run_dir / preparing[0] / "environment.log").read_text()
    assert "Successfully installed ccdemo-1.0" in installer_log

    again = ccw("run", str(path), "--no-live", timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(builds(cc_home)) == 1
    assert not any("preparing" in seen for seen in history(ccw, "2").values())

    changed = workflow(tmp_path / "wf", "shared", offline_requirements(wheels, "ccdemo==2.0"), jobs=3)
    third = ccw("run", str(changed), "--no-live", timeout=120)
    assert third.returncode == 0, third.stdout + third.stderr
    assert len(builds(cc_home)) == 2 and len(environments(cc_home)) == 2
    new = next(e for e in environments(cc_home) if e != env)
    assert (cc_home / "runs" / "3" / "job0" / "job0.log").read_text() == f"ccdemo 2.0 {new}\n"


def test_two_ccw_run_processes_at_once_build_once(cc_home: Path, tmp_path: Path, wheels: Path) -> None:
    path = workflow(tmp_path / "wf", "twice", offline_requirements(wheels, "ccdemo==1.0"), jobs=5)
    env = {**os.environ, "CC_HOME": str(cc_home)}
    runs = [subprocess.Popen(ccw_command("run", str(path), "--no-live"), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(builds(cc_home)) == 1, builds(cc_home)
    [folder] = environments(cc_home)
    for run_id in ("1", "2"):
        assert (cc_home / "runs" / run_id / "job0" / "job0.log").read_text() == f"ccdemo 1.0 {folder}\n"


def test_a_failing_requirement_fails_the_job_and_its_waiters_with_pips_message(
        ccw: Ccw, cc_home: Path, tmp_path: Path, wheels: Path) -> None:
    path = workflow(tmp_path / "wf", "broken", offline_requirements(wheels, "ccdemo==9.9"), jobs=3,
                    extra="  after: {command: 'echo never', depends: [job0], requirements: []}\n")
    result = ccw("run", str(path), "--no-live", timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    status = json.loads(ccw("status", "broken", "--json", check=True).stdout)
    jobs = {job["name"]: job for job in status["jobs"]}
    assert jobs["after"]["state"] == "skipped"
    for name in ("job0", "job1", "job2"):
        assert jobs[name]["state"] == "failed"
        assert jobs[name]["reason"].startswith("environment "), jobs[name]["reason"]
        assert "could not be built on localhost: pip could not install the requirements" in jobs[name]["reason"]
    builder = next(n for n in ("job0", "job1", "job2")
                   if (cc_home / "runs" / "1" / n / "environment.log").exists())
    log = ccw("logs", "broken", builder, check=True).stdout
    assert "No matching distribution found for ccdemo==9.9" in log
    # Nothing half-built is left to be reused.
    assert environments(cc_home) == [] and builds(cc_home) == []


def test_conda_environments_by_name_and_by_folder(ccw: Ccw, cc_home: Path, tmp_path: Path) -> None:
    """A folder laid out as a conda installation (``envs/NAME/bin/python``, a link to a real Python): conda itself
    cannot be installed on the test machines."""
    conda = tmp_path / "miniforge3"
    for name in ("science", "other"):
        (conda / "envs" / name / "bin").mkdir(parents=True)
        (conda / "envs" / name / "bin" / "python").symlink_to(sys.executable)
    show = "python -c 'import sys; print(sys.executable)'"
    path = tmp_path / "conda.yaml"
    path.write_text(f"""
name: conda
defaults:
  options: {{conda_root: {conda}}}
jobs:
  by_name: {{command: "{show}", conda: science}}
  by_folder: {{command: "{show}", conda: {conda}/envs/other}}
  script: {{script: show.py, conda: science}}
  missing: {{command: "{show}", conda: nope}}
  from_file: {{command: "{show}", conda: environment.yml}}
""")
    (tmp_path / "environment.yml").write_text("name: x\ndependencies: [python=3.11]\n")
    (tmp_path / "show.py").write_text("import os, sys\nprint(sys.executable, os.environ['CC_ENVIRONMENT'])\n")
    result = ccw("run", str(path), "--no-live", timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    run_dir = cc_home / "runs" / "1"
    assert (run_dir / "by_name" / "by_name.log").read_text() == f"{conda}/envs/science/bin/python\n"
    assert (run_dir / "by_folder" / "by_folder.log").read_text() == f"{conda}/envs/other/bin/python\n"
    assert (run_dir / "script" / "script.log").read_text() == f"{conda}/envs/science/bin/python science\n"
    jobs = json.loads(ccw("status", "conda", "--json", check=True).stdout)["jobs"]
    missing = next(job for job in jobs if job["name"] == "missing")
    assert missing["state"] == "failed"
    assert f"there is no conda environment 'nope' here (looked in {conda}/envs" in missing["reason"]
    from_file = next(job for job in jobs if job["name"] == "from_file")
    if not any(shutil.which(tool) for tool in ("micromamba", "mamba", "conda")):
        assert from_file["state"] == "failed"
        assert "needs micromamba, mamba or conda on PATH here; none was found" in from_file["reason"]
        assert environments(cc_home) == []   # nothing was built


def test_uv_builds_the_environment_where_the_host_has_it(ccw: Ccw, cc_home: Path, tmp_path: Path, wheels: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if not (Path(sys.executable).parent / "uv").exists():
        missing_component("uv is not installed in this Python environment (pip install uv)")
    monkeypatch.setenv("CC_ENV_INSTALLER", "uv")
    path = workflow(tmp_path / "wf", "fast", offline_requirements(wheels, "ccdemo==2.0"), jobs=3)
    result = ccw("run", str(path), "--no-live", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    [env] = environments(cc_home)
    assert json.loads((env / "cc-env.json").read_text())["installer"] == "uv"
    assert (cc_home / "runs" / "1" / "job2" / "job2.log").read_text() == f"ccdemo 2.0 {env}\n"


def test_ccw_envs_lists_sizes_and_last_use_and_prunes_unused(ccw: Ccw, cc_home: Path, tmp_path: Path,
                                                             wheels: Path) -> None:
    path = workflow(tmp_path / "wf", "listed", offline_requirements(wheels, "ccdemo==1.0"), jobs=1)
    assert ccw("run", str(path), "--no-live", timeout=120).returncode == 0
    [listed] = json.loads(ccw("envs", "--json", check=True).stdout)
    assert listed["host"] == "localhost" and listed["complete"] and listed["size"] > 1000
    assert time.time() - listed["last_used"] < 120
    assert [e["name"] for e in json.loads(ccw("envs", "-w", str(path), "--json", check=True).stdout)] == \
        [listed["name"]]
    table = ccw("envs", check=True).stdout
    assert listed["name"] in table and "ccdemo==1.0" in table and "just now" in table
    assert "removed 0 environments" in ccw("envs", "prune", "--days", "30", check=True).stdout
    old = time.time() - 40 * 86400
    os.utime(Path(listed["folder"]) / "cc-env.used", (old, old))
    pruned = ccw("envs", "prune", "--days", "30", check=True).stdout
    assert f"removed 1 environment: {listed['name']}" in pruned
    assert environments(cc_home) == []
    assert ccw("envs", "prune").returncode == 2   # --days is needed


@pytest.mark.parametrize("text, expected", [
    ("python: '3.11'", "asks for a Python version"),
    ("requirements: missing.txt", "requirements file 'missing.txt' does not exist"),
    ("notebook: n.ipynb\n    requirements: [six]", "a notebook runs in its kernel"),
    ("requirements: [six]\n    conda: base", "give either requirements:"),
])
def test_environment_fields_are_checked_before_anything_runs(ccw: Ccw, tmp_path: Path, text: str,
                                                             expected: str) -> None:
    (tmp_path / "n.ipynb").write_text("{}")
    body = text if "notebook" in text else "command: echo hi\n    " + text
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\njobs:\n  one:\n    {body}\n")
    result = ccw("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stdout + result.stderr and "one" in result.stdout + result.stderr


def test_a_requirements_file_a_python_version_and_the_hosts_pip_settings(
        ccw: Ccw, cc_home: Path, tmp_path: Path, wheels: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The requirements file names only the package: where to find it comes from the host's own pip settings."""
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "requirements.txt").write_text("# what the jobs need\nccdemo==1.0   # the demo package\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    version = "%d.%d" % sys.version_info[:2]
    (folder / "file.yaml").write_text(f"""
name: from-file
jobs:
  one: {{command: {json.dumps(PRINT)}, requirements: requirements.txt, python: "{version}"}}
""")
    result = ccw("run", str(folder / "file.yaml"), "--no-live", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    [env] = environments(cc_home)
    assert f"-py{version}-" in env.name
    assert (cc_home / "runs" / "1" / "one" / "one.log").read_text() == f"ccdemo 1.0 {env}\n"


def test_killing_a_job_while_its_environment_is_built_ends_the_run_and_the_build(
        cc_home: Path, tmp_path: Path, wheels: Path) -> None:
    from cc_core.api import Workflow
    from cc_core.testing.polling import wait_for

    marker = tmp_path / "slow-python.pid"
    slow = tmp_path / "slow-python"
    slow.write_text(f"#!/bin/sh\necho $$ > {marker}\nsleep 60\nexec {sys.executable} \"$@\"\n")
    slow.chmod(0o755)
    wf = Workflow("slow-build", directory=tmp_path)
    wf.add_job("builder", command="true", requirements=offline_requirements(wheels, "ccdemo==1.0"),
               python=str(slow))
    wf.add_job("waiter", command="true", requirements=offline_requirements(wheels, "ccdemo==1.0"),
               python=str(slow))
    wf.add_job("after", command="true", depends=["builder"])
    run = wf.start(max_parallel=4)
    states = lambda: {job.name: (job.state.value, job.message) for job in run.jobs()}  # noqa: E731
    seen = wait_for(lambda: marker.exists() and states(), timeout=30, what="the build to start")
    builder = next(name for name, (state, _) in seen.items() if state == "preparing")
    waiter = "waiter" if builder == "builder" else "builder"
    assert seen[waiter] == ("ready", f"waiting for environment "
                                     f"{seen[waiter][1].split()[3]} on localhost"), seen
    started = time.monotonic()
    run.kill()
    assert run.wait(timeout=20).value == "killed"
    assert time.monotonic() - started < 10
    final = states()
    assert final[builder][0] == "killed" and final[waiter][0] == "killed" and final["after"][0] in ("killed",
                                                                                                    "skipped")
    pid = int(marker.read_text())
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=10, what="the build to be stopped")
    assert builds(cc_home) == []


def test_a_run_whose_runner_died_while_preparing_resumes_and_builds_once(ccw: Ccw, cc_home: Path, tmp_path: Path,
                                                                         wheels: Path) -> None:
    from cc_core.testing.polling import wait_for

    started = tmp_path / "build-started"
    slow = tmp_path / "slow-python"   # the first build waits a little, so the runner can die during it
    slow.write_text(f"#!/bin/sh\n[ -e {started} ] || {{ touch {started}; sleep 3; }}\nexec {sys.executable} \"$@\"\n")
    slow.chmod(0o755)
    path = workflow(tmp_path / "wf", "resumed", offline_requirements(wheels, "ccdemo==1.0"), jobs=3,
                    extra="  last: {command: 'echo last', depends: [job0, job1, job2]}\n")
    path.write_text(path.read_text().replace("defaults:\n", f"defaults:\n  python: {slow}\n"))
    runner = subprocess.Popen(ccw_command("run", str(path), "--no-live"), env={**os.environ, "CC_HOME": str(cc_home)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: started.exists(), timeout=30, what="the build to start")
    runner.kill()
    runner.wait(timeout=10)
    result = ccw("run", "--resume", "1", "--no-live", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(builds(cc_home)) == 1
    [env] = environments(cc_home)
    assert (cc_home / "runs" / "1" / "job1" / "job1.log").read_text() == f"ccdemo 1.0 {env}\n"
