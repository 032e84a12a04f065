"""The digits competition as a Python program with analytics functions (compete.py): each model a call, best()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def test_compete_program(digits: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    program = digits.workflow.parent / "compete.py"
    result = subprocess.run([sys.executable, str(program), "--epochs", str(digits.epochs), "--subset", "600",
                             "--data", str(tmp_path / "data")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=240, env=dict(os.environ, CC_HOME=str(home)))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    winner = lines[-1]
    assert winner.startswith("winner: ") and "% test accuracy" in winner
    status = json.loads(subprocess.run([sys.executable, "-m", "cc_core", "status", "compete", "--json"],
                                       env=dict(os.environ, CC_HOME=str(home)), capture_output=True, text=True,
                                       timeout=60).stdout)
    assert status["state"] == "done"
    jobs = {job["name"]: job for job in status["jobs"]}
    assert sorted(jobs) == [f"fit-{n}" for n in range(1, 6)]
    accuracies = {}
    for name, job in jobs.items():
        assert job["state"] == "done" and job["progress"] == 100
        metrics = json.loads((Path(status["run_dir"]) / name / "metrics.json").read_text())
        assert metrics["threads"] == 1, "options: {cpus: 1} of the function reached torch"
        assert len(digits.epoch_lines(Path(job["log_path"]).read_text())) == digits.epochs
        accuracies[metrics["model"]] = metrics["test_acc"]
        assert f"{metrics['model']:12} test accuracy {100 * metrics['test_acc']:6.2f} %" in result.stdout
    assert sorted(accuracies) == ["autoencoder", "cnn", "gru", "lstm", "mlp"]
    best = max(accuracies, key=lambda model: accuracies[model])
    assert winner == f"winner: {best} with {100 * accuracies[best]:.2f} % test accuracy"
