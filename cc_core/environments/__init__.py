"""Environments built on the host where a job runs (``requirements:``, ``python: "3.11"``, ``conda:``).

One idea per module: :mod:`.spec` (what a job asks for and its hash), :mod:`.driver` (the stdlib-only program that
checks, builds, lists and prunes environments on a host, under a lock), :mod:`.host` (how cc reaches a host's shell:
the contract job types implement), :mod:`.prepare` (check or build one environment for one job, its log),
:mod:`.step` (the engine's seam: which job builds, which wait), :mod:`.listing` (``ccw envs``) and
:mod:`.functions` (what a function call's environment needs in addition). Documented in docs/environments.md.
"""

from __future__ import annotations

from cc_core.environments.spec import EnvironmentSpec, environment_hash
from cc_core.environments.functions import extra_requirements_for_functions

__all__ = ["EnvironmentSpec", "environment_hash", "extra_requirements_for_functions"]
