"""The job and run state machines (documented for users in docs/states.md)."""

from __future__ import annotations

from enum import Enum


class JobState(str, Enum):
    """Where a job is in its life.

    ``ready`` → ``queued`` → ``running`` → one of ``done`` / ``failed`` / ``killed``. A job whose ancestor failed or
    was killed becomes ``skipped`` without running. A failed attempt with retries left becomes ``retrying`` and then
    ``queued`` again with the next attempt number.
    """

    READY = "ready"          # defined; waits for its parents (or for a free slot)
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
    def rank(self) -> int:
        """Order within one attempt: a job's (attempt, rank) only ever grows."""
        return _RANK[self]


FINAL_JOB_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.KILLED, JobState.SKIPPED})
_RANK = {
    JobState.READY: 0,
    JobState.QUEUED: 1,
    JobState.RUNNING: 2,
    JobState.RETRYING: 3,
    JobState.DONE: 4,
    JobState.FAILED: 4,
    JobState.KILLED: 4,
    JobState.SKIPPED: 4,
}

# Allowed transitions. A job never leaves a final state within a run.
JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.READY: frozenset({JobState.QUEUED, JobState.RUNNING, JobState.FAILED, JobState.KILLED,
                               JobState.SKIPPED, JobState.DONE}),   # done: cached, never ran here
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.DONE, JobState.FAILED, JobState.KILLED,
                                JobState.RETRYING, JobState.SKIPPED}),  # skipped: handed over early, parent failed
    JobState.RUNNING: frozenset({JobState.DONE, JobState.FAILED, JobState.KILLED, JobState.RETRYING}),
    JobState.RETRYING: frozenset({JobState.QUEUED, JobState.KILLED, JobState.SKIPPED, JobState.FAILED}),
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
