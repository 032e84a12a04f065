"""What ``ccw`` shows of the wsl job type (a new process, the stand-in WSL on PATH)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def ccw(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cc_core", *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=cwd)


def _wsl(rows: list[dict[str, Any]]) -> dict[str, Any]:
    row = next(r for r in rows if "wsl" in r["provides"].get("job types", []))
    return row["details"]["wsl"]


def test_ccw_plugins_lists_the_distributions(standin: Any, tmp_path: Path) -> None:
    env = {**standin.env, "CC_HOME": str(tmp_path / "home")}
    result = ccw("plugins", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    wsl = _wsl(json.loads(result.stdout))
    assert wsl["default"] == "Ubuntu-22.04"
    assert [(d["name"], d["state"], d["version"]) for d in wsl["distributions"]] == [
        ("Ubuntu-22.04", "Stopped", 2), ("Debian", "Stopped", 2)]


def test_ccw_plugins_without_wsl(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CC_WSL_EXE"}
    env["PATH"] = str(tmp_path / "nothing-here")
    env["CC_HOME"] = str(tmp_path / "home")
    result = ccw("plugins", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    wsl = _wsl(json.loads(result.stdout))
    assert wsl["error"].startswith("WSL is not installed here") and wsl["distributions"] == []


def test_ccw_validate_names_a_missing_distribution(standin: Any, tmp_path: Path) -> None:
    folder = standin.drive / "wf"
    folder.mkdir()
    (folder / "flow.yaml").write_text("jobs:\n  win:\n    command: echo on the host\n  linux:\n    kind: wsl\n"
                                      "    command: uname -a\n    options: {distribution: Arch}\n    depends: [win]\n")
    env = {**standin.env, "CC_HOME": str(tmp_path / "home"), "CC_WSL_DRIVE_ROOT": str(standin.drive)}
    result = ccw("validate", str(folder / "flow.yaml"), env=env, cwd=folder)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "flow.yaml:4" in output and "job 'linux'" in output
    assert "the WSL distribution 'Arch' is not installed (installed: Ubuntu-22.04, Debian)" in output


DOC = Path(__file__).resolve().parents[2] / "docs" / "jobtypes" / "wsl.md"


def test_the_documented_workflow_is_valid(standin: Any, tmp_path: Path) -> None:
    """The mixed workflow of docs/jobtypes/wsl.md passes ``ccw validate`` (its scripts made up here)."""
    text = DOC.read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    folder = standin.drive / "Users" / "ana" / "project"
    folder.mkdir(parents=True)
    (folder / "mixed.yaml").write_text(block)
    for name in ("fetch.ps1", "simulate.sh", "analyse.py", "plot.ipynb", "report.py"):
        (folder / name).write_text("\n")
    # on Windows a .ps1 runs with powershell; on this Linux machine the local job type runs it directly
    (folder / "fetch.ps1").chmod(0o755)
    env = {**standin.env, "CC_HOME": str(tmp_path / "home"), "CC_WSL_DRIVE_ROOT": str(standin.drive)}
    result = ccw("validate", str(folder / "mixed.yaml"), env=env, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    (folder / "simulate.sh").unlink()
    result = ccw("validate", str(folder / "mixed.yaml"), env=env, cwd=folder)
    assert result.returncode != 0 and "simulate.sh" in result.stdout + result.stderr
