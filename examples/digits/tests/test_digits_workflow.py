"""The whole digits workflow on this machine, with real PyTorch and quick settings (2 epochs, 600 images)."""

from __future__ import annotations

import json
from pathlib import Path

from typing import Any


def test_whole_workflow_locally(digits: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    EPOCHS, TRAINED = digits.epochs, digits.trained
    result = digits.ccw("run", str(digits.workflow), "--no-live", *digits.quick, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    status = digits.status(home)
    assert status["state"] == "done"
    jobs = {job["name"]: job for job in status["jobs"]}
    assert set(jobs) == {"prepare", *TRAINED, "compare"}
    run_dir = Path(status["run_dir"])
    for name in TRAINED:
        metrics = json.loads((run_dir / name / "metrics.json").read_text())
        assert (run_dir / name / "model.pt").stat().st_size > 1000
        assert metrics["epochs"] == EPOCHS and len(metrics["history"]) == EPOCHS
        assert 0.0 <= metrics["test_acc"] <= 1.0 and metrics["parameters"] > 1000
        assert metrics["threads"] == 1, "cpus: 1 reached torch"
        # One progress line per epoch, read by cc from the log; the job's last progress is in the store.
        log = Path(jobs[name]["log_path"]).read_text()
        lines = digits.epoch_lines(log)
        assert [line.split('msg="epoch ')[1].split()[0] for line in lines] == [f"{e}/{EPOCHS}"
                                                                            for e in range(1, EPOCHS + 1)], log
        assert jobs[name]["progress"] == 100 and jobs[name]["message"].startswith("test_acc=")
    distributed = json.loads((run_dir / "distributed" / "metrics.json").read_text())
    assert distributed["world_size"] == 2 and [r["rank"] for r in distributed["ranks"]] == [0, 1]
    assert len({r["pid"] for r in distributed["ranks"]}) == 2
    log = Path(jobs["distributed"]["log_path"]).read_text()
    for rank in (0, 1):
        assert f"[rank {rank}] epoch {EPOCHS}/{EPOCHS}" in log, log
    compare = run_dir / "compare"
    report = (compare / "report.md").read_text()
    winner = json.loads((compare / "winner.json").read_text())
    assert f"**Winner: {winner['model']}**" in report
    for name in ("mlp", "cnn", "lstm", "gru", "autoencoder", "cnn-distributed"):
        assert f"| {name} |" in report
    assert "<table>" in (compare / "report.html").read_text()
    assert (compare / "val_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
