"""The job and run state machines (documented for users in docs/states.md)."""

from __future__ import annotations

from enum import Enum


class JobState(str, Enum):
    """Where a job is in its life.

    ``ready`` → (``preparing``) → ``queued`` → ``running`` → one of ``done`` / ``failed`` / ``killed``. A job
    whose ancestor failed or was killed becomes ``skipped`` without running. A failed attempt with retries left
    becomes ``retrying`` and then ``queued`` (or ``preparing``) again with the next attempt number.
    """

    READY = "ready"          # defined; waits for its parents, a free slot, or an environment another job builds
    PREPARING = "preparing"  # its environment is being built or checked on its host; holds a slot
    QUEUED = "queued"        # handed to its job type; not running yet (e.g. SLURM pending)
    RUNNING = "running"
    RETRYING = "retrying"    # an attempt failed, the next one waits for its retry delay
    DONE = "done"            # exit code 0, or carried / cached (the record's origin says from where)
    FAILED = "failed"        # non-zero exit code, could not start, timeout, or lost
    KILLED = "killed"        # cancelled by a user
    SKIPPED = "skipped"      # an ancestor failed or was killed; never ran

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATES

    @property
    def is_active(self) -> bool:
        return self in (JobState.QUEUED, JobState.RUNNING)

    @property
    def holds_slot(self) -> bool:
        """Preparing, queued or running: the job takes one slot of its host and job type."""
        return self in (JobState.PREPARING, JobState.QUEUED, JobState.RUNNING)

    @property
    def rank(self) -> int:
        """Order within one attempt: a job's (attempt, rank) only ever grows."""
        return _RANK[self]


FINAL_JOB_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.KILLED, JobState.SKIPPED})
_RANK = {
    JobState.READY: 0,
    JobState.PREPARING: 1,
    JobState.QUEUED: 2,
    JobState.RUNNING: 3,
    JobState.RETRYING: 4,
    JobState.DONE: 5,
    JobState.FAILED: 5,
    JobState.KILLED: 5,
    JobState.SKIPPED: 5,
}

# Allowed transitions. A job never leaves a final state within a run.
JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.READY: frozenset({JobState.PREPARING, JobState.QUEUED, JobState.RUNNING, JobState.FAILED,
                               JobState.KILLED, JobState.SKIPPED, JobState.DONE}),   # done: cached, never ran here
    JobState.PREPARING: frozenset({JobState.QUEUED, JobState.FAILED, JobState.KILLED, JobState.SKIPPED,
                                   JobState.RETRYING}),
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.DONE, JobState.FAILED, JobState.KILLED,
                                JobState.RETRYING, JobState.SKIPPED}),  # skipped: handed over early, parent failed
    JobState.RUNNING: frozenset({JobState.DONE, JobState.FAILED, JobState.KILLED, JobState.RETRYING}),
    JobState.RETRYING: frozenset({JobState.PREPARING, JobState.QUEUED, JobState.KILLED, JobState.SKIPPED,
                                  JobState.FAILED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.KILLED: frozenset(),
    JobState.SKIPPED: frozenset(),
}


def can_move(old: JobState, new: JobState) -> bool:
    return new in JOB_TRANSITIONS[old]


class RunState(str, Enum):
    """Where a run is. ``interrupted`` is what readers see when the process driving a run died; ``ccw run
    --resume`` continues it."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    KILLED = "killed"
    DETACHED = "detached"       # the runner left on purpose; jobs go on, resume follows them again
    INTERRUPTED = "interrupted"

    @property
    def is_final(self) -> bool:
        return self in (RunState.DONE, RunState.FAILED, RunState.KILLED)
