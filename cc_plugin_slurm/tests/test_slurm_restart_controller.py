"""slurmctld going away and coming back while a job runs: nothing is guessed meanwhile, and the job ends right.

(This module runs after the others that need SLURM's periodic time-limit pass: a restart of slurmctld starts
that pass's 30 s clock again.)
"""

from __future__ import annotations

from typing import Any

import pytest

from cc_core.errors import JobTypeError
from cc_core.states import JobState
from cc_core.testing.contract import Harness
from cc_core.testing.slurm import SlurmCluster
from cc_slurm.jobtype import SlurmJobType


def test_controller_restart_mid_run(harness: Harness, job_type: SlurmJobType, slurm_cluster: SlurmCluster,
                                    follow: Any) -> None:
    launch = harness.launch("survivor", command="echo before; while [ ! -e go ]; do sleep 0.1; done; "
                                               "echo after; exit 5")
    active = harness.submit(launch)
    slurm_cluster.wait_for_state(active.handle["job_id"], {"RUNNING"})
    assert [u.state for u in job_type.check([active])] == [JobState.RUNNING]
    slurm_cluster.stop_controller()
    try:
        # squeue cannot answer: the check raises (the engine tries again on its next poll); no state is guessed.
        with pytest.raises(JobTypeError, match="squeue failed"):
            job_type.check([active])
    finally:
        slurm_cluster.start_controller()
    (launch.job_dir / "go").write_text("")
    end = follow(job_type, [active])["survivor"]
    assert (end.state, end.exit_code) == (JobState.FAILED, 5)
    assert harness.log(active).splitlines()[-1] == b"after"
