"""The user's settings file reaches each job type as its own options."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_core.errors import CCError
from cc_core.plugins.registry import build_registry
from cc_core.settings import job_type_context, make_job_type


def test_job_type_options_come_from_the_settings_file(cc_home: Path) -> None:
    cc_home.mkdir(parents=True)
    (cc_home / "config.yaml").write_text("job_types:\n  local: {kill_grace: 7}\n  ssh: {accept_new_host_keys: true}\n")
    local = make_job_type(build_registry(), "local")
    assert local.kill_grace == 7.0  # type: ignore[attr-defined]
    assert job_type_context("ssh").options == {"accept_new_host_keys": True}
    assert job_type_context("slurm").options == {}


def test_settings_file_named_by_cc_config(cc_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.yaml"
    other.write_text("job_types:\n  local: {kill_grace: 1.5}\n")
    monkeypatch.setenv("CC_CONFIG", str(other))
    assert make_job_type(build_registry(), "local").kill_grace == 1.5  # type: ignore[attr-defined]


def test_a_bad_settings_file_is_a_clear_error(cc_home: Path) -> None:
    cc_home.mkdir(parents=True)
    (cc_home / "config.yaml").write_text("job_types:\n  local: 3\n")
    with pytest.raises(CCError, match="config.yaml:2: 'job_types' maps a job kind to its settings"):
        job_type_context("local")
