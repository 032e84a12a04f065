"""A full disk under CC_HOME: the runner stops, and jobs that end while nothing can be written keep their real
outcome (a real, small filesystem: a tmpfs mounted for the test; mounting needs root)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from cc_core.errors import RunNotFoundError
from cc_core.running.control import run_status
from cc_core.testing.polling import ccw_command, wait_for


@pytest.fixture
def small_disk(cc_home: Path) -> Iterator[Path]:
    """CC_HOME on a filesystem of its own, 16 MB."""
    cc_home.mkdir(parents=True)
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(cc_home)], capture_output=True).returncode == 0
    if not mounted:
        if os.environ.get("CI") == "true":
            pytest.fail("this test mounts a small tmpfs: under CI it must run as root, allowed to mount")
        pytest.skip("mounting a small filesystem needs root (and the right to mount)")
    try:
        yield cc_home
    finally:
        subprocess.run(["umount", "-l", str(cc_home)], check=False)


def fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to the last byte."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 12, 1):
            while True:
                try:
                    handle.write(b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    return filler


def processes_mentioning(text: str) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if text.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    count += 1
            except OSError:
                pass
    return count


def states(run: str) -> dict[str, str]:
    try:
        return {j["name"]: j["state"] for j in run_status(run)["jobs"]}
    except RunNotFoundError:
        return {}


def test_jobs_ending_on_a_full_disk_keep_their_real_outcome(small_disk: Path, tmp_path: Path,
                                                            write_workflow: Callable[..., Path]) -> None:
    gate, go = tmp_path / "gate", tmp_path / "go"
    path = write_workflow(f"""
        name: fulldisk
        jobs:
          gated: {{command: "while [ ! -e {gate} ]; do sleep 0.05; done"}}
          after: {{command: "echo after > after.txt", depends: [gated]}}
          trigger: {{command: "while [ ! -e {go} ]; do sleep 0.05; done"}}
    """)
    env = {**os.environ, "CC_HOME": str(small_disk)}
    runner = subprocess.Popen(ccw_command("run", str(path), "--quiet"), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: states("fulldisk").get("gated") == "running" and states("fulldisk").get("trigger")
                 == "running", what="jobs running")
        filler = fill(small_disk)
        go.touch()  # 'trigger' ends: the runner cannot record it and stops
        out, err = runner.communicate(timeout=60)
        assert runner.returncode == 2, out + err
        assert "could not be written" in err
        gate.touch()  # 'gated' ends with exit code 0 while the disk is still full and nobody watches
        wait_for(lambda: processes_mentioning(str(gate)) == 0, what="gated job ended")
    finally:
        if runner.poll() is None:
            runner.kill()
    filler.unlink()
    result = subprocess.run(ccw_command("run", "--resume", "fulldisk", "--json"), env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {j["name"]: j for j in json.loads(result.stdout)["jobs"]}
    assert {name: (job["state"], job["exit_code"]) for name, job in jobs.items()} == {
        "gated": ("done", 0), "after": ("done", 0), "trigger": ("done", 0)}
    assert (Path(run_status("fulldisk")["run_dir"]) / "after" / "after.txt").read_text() == "after\n"
