"""cc's ``slurm`` job type: jobs of a workflow submitted with ``sbatch`` to a SLURM cluster, either from this
machine (cc runs on the login node) or through a login host over SSH."""

from __future__ import annotations

from cc_slurm.jobtype import SlurmJobType
from cc_slurm.options import SlurmOptions

__all__ = ["SlurmJobType", "SlurmOptions"]
