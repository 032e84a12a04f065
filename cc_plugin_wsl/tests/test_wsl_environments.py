"""A wsl job's environment is built inside the distribution (stand-in WSL), in the distribution's cache folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from cc_core.api import Workflow
from cc_core.plugins.registry import reset_registry
from cc_core.states import RunState
from cc_core.testing.wheels import make_wheel, offline_requirements


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, standin: object) -> Iterator[Path]:
    monkeypatch.setenv("CC_HOME", str(tmp_path / "home"))
    reset_registry()
    yield tmp_path / "home"
    reset_registry()


def test_wsl_jobs_share_one_environment_built_inside_the_distribution(home: Path, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "ccdemo", "1.0")
    inside = tmp_path / "distribution-home" / ".cc" / "envs"
    wf = Workflow("wsl-env", directory=tmp_path)
    for i in range(3):
        wf.add_job(f"job{i}", kind="wsl", requirements=offline_requirements(wheels, "ccdemo==1.0"),
                   command="python -c 'import sys, ccdemo; print(ccdemo.VERSION, sys.prefix)'",
                   options={"distribution": "Debian", "environments": str(inside)})
    assert wf.run(timeout=120, max_parallel=3) is RunState.DONE, wf.status()
    assert len((inside / "builds.log").read_text().splitlines()) == 1
    [env] = [p for p in inside.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert json.loads((env / "cc-env.json").read_text())["kind"] == "pip"
    run_dir = Path(wf.status()["run_dir"])
    for i in range(3):
        assert (run_dir / f"job{i}" / f"job{i}.log").read_text() == f"1.0 {env}\n"
    assert not (home / "envs").exists()
