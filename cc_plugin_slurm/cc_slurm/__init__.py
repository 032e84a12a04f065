"""cc's ``slurm`` job type: jobs of a workflow submitted with ``sbatch`` to a SLURM cluster, either from this
machine (cc runs on the login node) or through a login host over SSH."""

from __future__ import annotations

from typing import Any

__all__ = ["SlurmJobType", "SlurmOptions"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `ccw` loads every plugin package, and workflows without slurm jobs need none of this.
    if name == "SlurmJobType":
        from cc_slurm.jobtype import SlurmJobType

        return SlurmJobType
    if name == "SlurmOptions":
        from cc_slurm.options import SlurmOptions

        return SlurmOptions
    raise AttributeError(f"module 'cc_slurm' has no attribute '{name}'")
