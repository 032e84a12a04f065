"""How SLURM's job states map onto cc's (documented for users in docs/jobtypes/slurm.md).

=========================================  ===========================================================
SLURM                                      cc
=========================================  ===========================================================
PENDING, CONFIGURING, REQUEUED, ...        queued; the pending reason (Priority, Resources, ...) is the
                                           job's detail, shown by ``ccw status``
RUNNING, COMPLETING, SUSPENDED, ...        running
COMPLETED                                  done (exit code 0)
FAILED                                     failed, with the job's exit code (or the signal that ended it)
TIMEOUT                                    failed: "timeout (SLURM time limit)"
OUT_OF_MEMORY, NODE_FAIL, PREEMPTED,       failed, with that reason
BOOT_FAIL, DEADLINE, SPECIAL_EXIT, REVOKED
CANCELLED                                  killed (failed when SLURM cancelled it because a dependency
                                           can never be met)
=========================================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from cc_core.states import JobState
from cc_slurm.queue import SlurmJobState

ENDED_REASONS = {
    "TIMEOUT": "timeout (SLURM time limit)",
    "OUT_OF_MEMORY": "out of memory (SLURM OUT_OF_MEMORY)",
    "NODE_FAIL": "a node of the job failed (SLURM NODE_FAIL)",
    "PREEMPTED": "preempted by another job (SLURM PREEMPTED)",
    "BOOT_FAIL": "a node of the job could not boot (SLURM BOOT_FAIL)",
    "DEADLINE": "its deadline passed before it could end (SLURM DEADLINE)",
    "SPECIAL_EXIT": "ended in SLURM's SPECIAL_EXIT state",
    "REVOKED": "revoked by a federated cluster (SLURM REVOKED)",
}
NEVER_MET = ("DependencyNeverSatisfied", "InvalidDependency")


@dataclass(frozen=True)
class CCState:
    """cc's view of one SLURM job."""

    state: JobState
    exit_code: Optional[int] = None
    reason: Optional[str] = None
    detail: Optional[str] = None


def cc_state(slurm: SlurmJobState) -> CCState:
    """The cc state for what SLURM says of a job."""
    state = slurm.state
    if slurm.waiting:
        return CCState(JobState.QUEUED, detail=_pending_detail(slurm))
    if slurm.going:
        detail = None if state in ("RUNNING", "COMPLETING") else state.lower()
        return CCState(JobState.RUNNING, detail=detail)
    code = -slurm.signal if slurm.signal else slurm.exit_code
    array = f" ({slurm.tasks_failed} array task(s) did not complete)" if slurm.tasks > 1 and slurm.tasks_failed else ""
    if state == "COMPLETED":
        return CCState(JobState.DONE, exit_code=0)
    if state == "CANCELLED":
        if slurm.reason in NEVER_MET:
            return CCState(JobState.FAILED, code, "SLURM cancelled it: a job it depends on did not finish "
                                                  f"({slurm.reason}){array}")
        return CCState(JobState.KILLED, code, "cancelled (scancel)" + array)
    if state == "FAILED":
        reason = None
        if array:
            reason = f"exit code {code}{array}" if code is not None else f"failed{array}"
        elif code is None:
            reason = "failed (SLURM gives no exit code)"
        return CCState(JobState.FAILED, code, reason)
    if state in ENDED_REASONS:
        return CCState(JobState.FAILED, code, ENDED_REASONS[state] + array)
    # A state this version does not know: better running than a wrong verdict; the job ends later anyway.
    return CCState(JobState.RUNNING, detail=f"SLURM state {state}")


def _pending_detail(slurm: SlurmJobState) -> str:
    if slurm.state != "PENDING":
        return slurm.state.lower() + (f": {slurm.reason}" if slurm.reason else "")
    return slurm.reason or "pending"
