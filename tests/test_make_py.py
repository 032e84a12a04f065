"""make.py: the set-up commands on Linux, macOS and Windows (picking a Python >= 3.10, the venv's layout)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _make_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cc_make", ROOT / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stand_in(folder: Path, name: str, version: str) -> None:
    """A program on PATH that answers make.py's version probe like a Python of ``version`` (only one CPython
    exists on these machines)."""
    path = folder / name
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)


def test_an_old_python_finds_the_newest_python_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make = _make_py()
    _stand_in(tmp_path, "python3", "3.9")
    _stand_in(tmp_path, "python3.11", "3.11")
    _stand_in(tmp_path, "python3.12", "3.12")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert make.version_of(["python3"]) == (3, 9)
    assert make.find_python(current=(3, 9), platform="darwin") == ["python3.12"]
    (tmp_path / "python3.12").unlink()
    (tmp_path / "python3.11").unlink()
    assert make.find_python(current=(3, 9), platform="darwin") is None
    assert make.find_python(current=(3, 11)) == [sys.executable]


def test_windows_asks_the_py_launcher_and_uses_scripts(tmp_path: Path) -> None:
    make = _make_py()
    assert make.candidates("win32")[0] == ["py", "-3.14"]
    seen = []

    def probe(command: list[str]) -> tuple[int, int] | None:
        seen.append(command)
        return (3, 12) if command == ["py", "-3.12"] else None

    assert make.find_python(current=(3, 8), platform="win32", probe=probe) == ["py", "-3.12"]
    assert seen[:3] == [["py", "-3.14"], ["py", "-3.13"], ["py", "-3.12"]]
    assert make.venv_program("python", tmp_path / ".venv", "win32") == tmp_path / ".venv" / "Scripts" / "python.exe"
    assert make.venv_program("python", tmp_path / ".venv", "darwin") == tmp_path / ".venv" / "bin" / "python"


def test_usage_and_unknown_commands() -> None:
    shown = subprocess.run([sys.executable, str(ROOT / "make.py"), "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "demo" in shown.stdout and "test" in shown.stdout
    wrong = subprocess.run([sys.executable, str(ROOT / "make.py"), "dmeo"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "usage: python make.py" in wrong.stdout
    assert make_distributions_cover_every_pyproject()


def make_distributions_cover_every_pyproject() -> bool:
    dists = set(_make_py().distributions())
    wanted = {"."} | {str(p.parent.relative_to(ROOT)) for p in ROOT.glob("*/pyproject.toml")} | {
        str(p.parent.relative_to(ROOT)) for p in ROOT.glob("plugins/*/pyproject.toml")}
    return dists == wanted
