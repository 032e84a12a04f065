"""The user's settings: ``$CC_HOME/config.yaml`` (or the file ``CC_CONFIG`` names).

    job_types:
      local: {kill_grace: 10}                        # seconds between SIGTERM and SIGKILL on kill
      ssh:   {ssh_config: ~/.ssh/config.work, accept_new_host_keys: false}
      wsl:   {distribution: Ubuntu-22.04}

Each job type gets its own mapping as ``JobTypeContext.options``; a job's own ``options:`` in a workflow file
are separate and go with the job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from cc_core.errors import CCError
from cc_core.home import cc_home
from cc_core.plugins.jobtype import JobType, JobTypeContext

if TYPE_CHECKING:
    from cc_core.plugins.registry import Registry


def config_path(home: Optional[Path] = None) -> Path:
    explicit = os.environ.get("CC_CONFIG")
    return Path(explicit).expanduser() if explicit else (home or cc_home()) / "config.yaml"


def load_settings(home: Optional[Path] = None) -> dict[str, Any]:
    path = config_path(home)
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CCError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise CCError(f"{path}: the settings file is a mapping (e.g. 'job_types: {{local: {{kill_grace: 10}}}}')")
    job_types = data.get("job_types", {}) or {}
    if not isinstance(job_types, dict) or not all(isinstance(v, dict) for v in job_types.values()):
        raise CCError(f"{path}: 'job_types' maps a job kind to its options, e.g. 'local: {{kill_grace: 10}}'")
    return data


def job_type_context(kind: str, home: Optional[Path] = None) -> JobTypeContext:
    """The context a job type of ``kind`` is created with: CC_HOME and its options from the settings file."""
    home = home or cc_home()
    options = dict((load_settings(home).get("job_types") or {}).get(kind) or {})
    return JobTypeContext(home=home, options=options)


def make_job_type(registry: "Registry", kind: str, home: Optional[Path] = None) -> JobType:
    """A job type object of ``kind`` with the user's settings."""
    return registry.job_types.get(kind)(job_type_context(kind, home))
