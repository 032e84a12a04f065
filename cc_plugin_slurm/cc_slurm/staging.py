"""A remote slurm job's files: its script and ``inputs:`` copied to the login host before ``sbatch``, its
``outputs:`` copied back into the job's local folder once it ended, by the rules of :mod:`cc_core.workflow.staging`.

An input is a file or folder on this machine, relative to the workflow file (a glob like ``data/*.csv`` works); it
keeps its relative path in the remote job folder (an absolute one lands under its own name). An output is a path on
the cluster, relative to the job's working folder; its last part may be a glob. It lands in the job's local folder
under the same relative path. When cc runs on the login node itself, nothing is copied: the cluster sees the files.
"""

from __future__ import annotations

from cc_core.workflow.model import JobSpec


def workdir_there(job: JobSpec, folder: str) -> str:
    """The job's working folder on the login host (``workdir:`` is relative to the job folder there)."""
    if not job.workdir:
        return folder
    if job.workdir.startswith(("/", "~")):
        return job.workdir
    return f"{folder}/{job.workdir}"
