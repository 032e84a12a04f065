"""What users see: exported files that run where they are written, progress messages, status tables."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Callable

from cc_core.testing.polling import ccw_command


def ccw(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(ccw_command(*args), capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=dict(os.environ))


def test_exported_yaml_runs_the_same_scripts_where_it_is_written(write_workflow: Callable[..., Path],
                                                                 cc_home: Path, tmp_path: Path) -> None:
    path = write_workflow("""\
        name: moved
        jobs:
          hello: {script: scripts/hello.sh}
    """)
    (path.parent / "scripts").mkdir()
    (path.parent / "scripts" / "hello.sh").write_text("echo hello from the script > out.txt\n")
    assert ccw("run", "-q", str(path)).returncode == 0
    target = tmp_path / "elsewhere" / "deeper" / "x.yaml"
    result = ccw("export", "moved", "--format", "yaml", "-o", str(target))
    assert result.returncode == 0
    assert "relative paths start from ../../wf" in result.stderr
    from cc_core.workflow.file import load_workflow

    again = load_workflow(target)
    assert again.directory == path.parent.resolve()
    assert again.jobs["hello"].script == "scripts/hello.sh"
    run = ccw("run", "-q", str(target), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    printed = ccw("export", "moved", cwd=tmp_path)
    assert f"directory: {path.parent.resolve()}" in printed.stdout
    same_folder = ccw("export", "moved", "-o", str(path.parent / "copy.yaml"))
    assert "directory" not in (path.parent / "copy.yaml").read_text() and "relative paths" not in same_folder.stderr
