"""The test-cluster helper itself: a missing SLURM is a skip, except under CI where it is a failure."""

from __future__ import annotations

import pytest

from cc_core.testing.slurm import SlurmCluster, SlurmUnavailable, find_binaries


def test_missing_binaries_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SlurmUnavailable) as caught:
        find_binaries()
    assert "sbatch" in str(caught.value) and "apt-get install" in str(caught.value)


def test_missing_slurm_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        SlurmCluster().start()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="SLURM is not installed"):
        SlurmCluster().start()
