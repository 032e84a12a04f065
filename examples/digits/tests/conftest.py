"""Fixtures of the digits example's tests: the example's requirements (a missing one fails the test under CI=true),
and a helper that runs ``ccw`` on the example's workflow with quick settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cc_core.testing.sshd import missing_component

EXAMPLE = Path(__file__).resolve().parents[1]
WORKFLOW = EXAMPLE / "workflow.yaml"
TRAINED = ("mlp", "cnn", "lstm", "gru", "autoencoder", "distributed")
EPOCHS = 2
# Two epochs on 600 images: every job runs its real code in a few seconds.
QUICK = ["--set", f"defaults.env.DIGITS_EPOCHS={EPOCHS}", "--set", "defaults.env.DIGITS_SUBSET=600"]


@pytest.fixture(scope="session")
def requirements() -> None:
    """torch, mlxtend, matplotlib and numpy (examples/digits/requirements.txt; `make test` installs them)."""
    for name in ("torch", "mlxtend", "matplotlib", "numpy"):
        try:
            __import__(name)
        except ImportError:
            missing_component(f"the digits example needs {name}: pip install -r examples/digits/requirements.txt")


class Digits:
    """What the tests of the example share (pytest imports conftest files by path, so they come as a fixture)."""

    workflow = WORKFLOW
    trained = TRAINED
    epochs = EPOCHS
    quick = QUICK

    @staticmethod
    def ccw(*args: str, home: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return ccw(*args, home=home, timeout=timeout)

    @staticmethod
    def status(home: Path) -> dict[str, Any]:
        return run_status(home)

    @staticmethod
    def epoch_lines(log: str) -> list[str]:
        return epoch_lines(log)


@pytest.fixture
def digits(requirements: None) -> Digits:
    return Digits()


def ccw(*args: str, home: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CC_HOME=str(home))
    env.pop("CC_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "cc_core", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def run_status(home: Path) -> dict[str, Any]:
    result = ccw("status", "digits", "--json", home=home, timeout=60)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def epoch_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("# cc status=running") and "epoch " in line]
