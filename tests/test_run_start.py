"""What ``ccw run`` of a local workflow loads: what running it needs, not the web service, the environment builder,
psutil (on Linux) or the live table's terminal library, which only other commands and workflows use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cc_core.testing.polling import ccw_command

# Modules other commands or other workflows need; a local workflow of shell commands run with -q needs none.
NOT_NEEDED = {
    "starlette", "fastapi", "uvicorn", "cc_web.security", "cc_web.app",          # ccw serve
    "cc_core.environments.prepare", "cc_core.environments.host",                   # jobs with requirements:/conda:
    "cc_core.functions.job", "cc_core.functions.catalog",                         # function jobs
    "networkx", "cc_core.drawing.svg", "cc_core.drawing.layout",                  # drawing and analysis
    "rich",                                                                      # the live table (a terminal)
}
if sys.platform.startswith("linux"):
    NOT_NEEDED.add("psutil")   # Linux reads /proc itself


def imported_modules(stderr: str) -> set[str]:
    """The modules a Python started with ``-X importtime`` imported, from its report on stderr."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_ccw_run_of_a_local_workflow_loads_only_what_it_runs(tmp_path: Path, cc_home: Path) -> None:
    workflow = tmp_path / "two.yaml"
    workflow.write_text('name: two\njobs:\n  first:\n    command: "echo one"\n'
                        '  second:\n    command: "echo two"\n    depends: [first]\n')
    command = ccw_command("run", str(workflow), "-q")
    result = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "CC_HOME": str(cc_home)}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    imported = imported_modules(result.stderr)
    # The report is complete: it names what a run does need.
    assert {"yaml", "sqlite3", "cc_core.running.engine", "cc_local.jobtype"} <= imported
    assert sorted(imported & NOT_NEEDED) == []
    status = subprocess.run(ccw_command("status", "two", "--json"), capture_output=True, text=True, timeout=60,
                            env={**os.environ, "CC_HOME": str(cc_home)})
    assert '"state": "done"' in status.stdout, status.stdout + status.stderr
