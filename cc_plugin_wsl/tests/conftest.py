"""Fixtures: the stand-in ``wsl``/``wsl.exe`` on PATH, with a folder standing for drive C:."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from cc_core.plugins.jobtype import JobTypeContext
from cc_wsl.jobtype import WSLJobType

STANDIN = Path(__file__).resolve().parent / "standin"
DISTRIBUTIONS = [{"name": "Ubuntu-22.04", "version": 2, "default": True}, {"name": "Debian", "version": 2}]


def missing(reason: str) -> None:
    """Skip for a missing component, but fail under CI=true: there the component must be present."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Standin:
    """The stand-in WSL of one test: ``drive`` is drive C: (``/mnt/c`` inside), ``exe`` the ``wsl.exe`` to run."""

    root: Path
    drive: Path
    config: Path
    exe: str
    instance: str
    env: dict[str, str]

    def run(self, *args: str, stdin: Optional[bytes] = None, cwd: Optional[Path] = None,
            exe: Optional[str] = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([exe or self.exe, *args], input=stdin, capture_output=True, timeout=60,
                              env=self.env, cwd=cwd or self.drive,
                              stdin=None if stdin is not None else subprocess.DEVNULL)

    def job_type(self, **options: Any) -> WSLJobType:
        return WSLJobType(JobTypeContext(home=self.root / "cc-home",
                                         options={"drive_root": str(self.drive), "kill_grace": 1, **options}))

    def processes(self) -> list[int]:
        """Live processes started through this stand-in (they carry its instance token)."""
        token = f"WSL_STANDIN_INSTANCE={self.instance}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as handle:
                    environ = handle.read().split(b"\0")
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            if token in environ and stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z":
                found.append(int(entry))
        return found


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Standin]:
    if shutil.which("unshare") is None or shutil.which("bash") is None:
        missing("the WSL stand-in needs unshare (util-linux) and bash")
    root = tmp_path / "wsl"
    drive = root / "C"
    drive.mkdir(parents=True)
    instance = uuid.uuid4().hex
    config = root / "standin.json"
    config.write_text(json.dumps({"distributions": DISTRIBUTIONS, "drives": {"c": str(drive)},
                                  "state_dir": str(root / "state"), "instance": instance,
                                  "path": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}))
    monkeypatch.setenv("WSL_STANDIN_CONFIG", str(config))
    monkeypatch.setenv("WSL_STANDIN_PYTHON", sys.executable)
    monkeypatch.setenv("PATH", f"{STANDIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("CC_WSL_EXE", raising=False)
    monkeypatch.delenv("CC_WSL_DRIVE_ROOT", raising=False)
    env = dict(os.environ)
    found = shutil.which("wsl.exe")
    assert found is not None and Path(found).parent == STANDIN
    stand = Standin(root, drive, config, found, instance, env)
    probe = stand.run("--", "test", "-d", "/mnt/c")
    if probe.returncode != 0:
        missing("the WSL stand-in cannot show a folder at /mnt/c (no mount namespaces here?): "
                f"{probe.stdout!r} {probe.stderr!r}")
    stand.run("--shutdown")  # every distribution stopped, as after a fresh start of Windows
    yield stand
    stand.run("--shutdown")


@pytest.fixture
def component_missing() -> Callable[[str], None]:
    """``component_missing(reason)``: skip the test, or fail it under CI=true."""
    return missing


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """Poll ``predicate`` until it returns something true (returned) or the deadline passes (AssertionError)."""
    import time

    def wait(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "the condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.05)
    return wait
