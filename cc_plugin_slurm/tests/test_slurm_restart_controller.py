"""slurmctld going away and coming back while jobs run: the jobs end right, and nothing is guessed meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from cc_core.errors import JobTypeError
from cc_core.states import JobState
from cc_core.testing.contract import Harness
from cc_core.testing.slurm import SlurmCluster
from cc_slurm.jobtype import SlurmJobType

def test_controller_restart_mid_run(harness: Harness, job_type: SlurmJobType,
                                    slurm_cluster: SlurmCluster, follow: Any) -> None:
    launch = harness.launch("survivor", command="echo before; while [ ! -e go ]; do sleep 0.1; done; "
                                               "echo after; exit 5")
    active = harness.submit(launch)
    slurm_cluster.wait_for_state(active.handle["job_id"], {"RUNNING"})
    assert [u.state for u in job_type.check([active])] == [JobState.RUNNING]
    slurm_cluster.restart_controller()
    (launch.job_dir / "go").write_text("")
    end = follow(job_type, [active])["survivor"]
    assert (end.state, end.exit_code) == (JobState.FAILED, 5)
    assert harness.log(active).splitlines()[-1] == b"after"


def test_check_while_controller_is_down_changes_nothing(harness: Harness, job_type: SlurmJobType,
                                                        slurm_cluster: SlurmCluster, follow: Any) -> None:
    launch = harness.launch("waits", command="while [ ! -e go ]; do sleep 0.1; done")
    active = harness.submit(launch)
    slurm_cluster.wait_for_state(active.handle["job_id"], {"RUNNING"})
    slurm_cluster.stop_controller()
    try:
        # The engine retries a check that raised; the job's state is not guessed meanwhile.
        with pytest.raises(JobTypeError, match="squeue failed"):
            job_type.check([active])
    finally:
        slurm_cluster.start_controller()
    (launch.job_dir / "go").write_text("")
    assert follow(job_type, [active])["waits"].state is JobState.DONE
