"""cc reads and writes its files as UTF-8, never in the locale's encoding (cp1252 on many Windows machines): a small
workflow, ``ccw validate``, ``ccw run``, ``ccw status`` and ``ccw export`` run with every default-encoding ``open``
turned into an error (``PYTHONWARNDEFAULTENCODING=1``, ``EncodingWarning`` as error, in every process cc starts)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cc_core.testing.polling import ccw_command

WORKFLOW = """\
name: utf8-files
jobs:
  greet:
    command: "echo 'grüße, ünïcode' > greeting.txt"
  step:
    script: step.py
    depends: [greet]
"""


def test_a_workflow_runs_with_default_encodings_forbidden(cc_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "workflow.yaml").write_text(WORKFLOW, encoding="utf-8")
    (folder / "step.py").write_text("print('naïve café')\n", encoding="utf-8")
    env = {**os.environ, "CC_HOME": str(cc_home), "PYTHONWARNDEFAULTENCODING": "1",
           "PYTHONWARNINGS": "error::EncodingWarning", "COLUMNS": "200"}

    def ccw(*args: str) -> str:
        done = subprocess.run(ccw_command(*args), env=env, capture_output=True, timeout=120, cwd=folder,
                              stdin=subprocess.DEVNULL)
        out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
        assert done.returncode == 0, f"ccw {' '.join(args)}: {out}{err}"
        assert "EncodingWarning" not in err and "did not start" not in err, err
        return out

    assert "is valid" in ccw("validate", "workflow.yaml")
    ccw("run", "workflow.yaml")
    assert "done" in ccw("status", "utf8-files")
    assert "grüße" in ccw("export", "utf8-files")
    assert "<svg" in ccw("export", "--format", "svg", "utf8-files")
    run_dir = next((cc_home / "runs").iterdir())
    assert (run_dir / "greet" / "greeting.txt").read_text(encoding="utf-8") == "grüße, ünïcode\n"
    assert "naïve café" in (run_dir / "step" / "step.log").read_text(encoding="utf-8")
    supervisor_log = run_dir / ".cc-supervisor" / "supervisor.log"
    if supervisor_log.exists():
        assert "Error" not in supervisor_log.read_text(encoding="utf-8")


def test_command_output_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    """What cc reads back from the commands it runs itself (environment checks and builds, SLURM's sbatch/squeue
    on this machine) is UTF-8 even when the locale says ASCII: a process started with LC_ALL=C and without UTF-8
    mode reads 'café' from both."""
    probe = f"""
import sys
from pathlib import Path
from cc_core.environments.host import LocalEnvironmentHost
from cc_slurm.login_host import login_host
assert sys.getfilesystemencoding() and __import__("locale").getpreferredencoding(False).lower() in ("ansi_x3.4-1968", "ascii", "us-ascii"), __import__("locale").getpreferredencoding(False)
print(LocalEnvironmentHost(Path({str(tmp_path)!r})).run("printf 'caf\\\\303\\\\251'", 30).stdout)
print(login_host(None, None, {{}}).run("printf 'caf\\\\303\\\\251'", env={{}}, timeout=30).stdout)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONUTF8", "PYTHONIOENCODING"))}
    env.update(LC_ALL="C", PYTHONUTF8="0", PYTHONIOENCODING="utf-8")
    done = subprocess.run([os.environ.get("CC_TEST_PYTHON") or __import__("sys").executable, "-c", probe], env=env,
                          capture_output=True, timeout=60)
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, err
    assert out.count("café") == 2, out
