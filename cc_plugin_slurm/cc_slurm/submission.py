"""Handing one attempt to ``sbatch``, through short outages, without ever submitting it twice.

A submission that fails because SLURM or the login host could not be reached is tried again, with a growing pause,
for as long as the slurm option ``reconnect_window`` allows, but only when it is certain the job was not accepted:

* nothing reached the login host (no connection could be made), or ``sbatch`` itself says it could not connect to
  the controller (``Unable to contact slurm controller (connect failure)``): the job surely does not exist;
* otherwise (the connection dropped while ``sbatch`` ran, a timeout, a lost answer) the job may exist: it is looked
  up by its unique SLURM job name, user and folder first, and submitted again only when SLURM says it is not there.
"""

from __future__ import annotations

import logging
import shlex
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cc_core.errors import JobTypeError
from cc_core.workflow.model import JobSpec
from cc_slurm.batch_script import JobFiles
from cc_slurm.login_host import LoginHost, shell_path
from cc_slurm.options import SlurmOptions
from cc_slurm.queue import ControllerUnreachable, SlurmQueue

log = logging.getLogger(__name__)
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 10.0
# What sbatch (and friends) say when they could not talk to slurmctld; sbatch's own retries are over by then.
UNREACHABLE = ("Unable to contact slurm controller", "Socket timed out on send/recv operation",
               "Zero Bytes were transmitted or received", "Slurm controller not responding",
               "Communication connection failure")
NEVER_CONNECTED = "connect failure"


def controller_unreachable(text: str) -> bool:
    """Whether a SLURM command's error output says slurmctld could not be reached (a passing outage)."""
    return any(marker in text for marker in UNREACHABLE)


def may_pass(exc: JobTypeError) -> bool:
    """Whether trying again later may help: the controller or the login host was away (not refused, not a
    missing command or a bad option)."""
    if getattr(exc, "permanent", False):
        return False
    return isinstance(exc, ControllerUnreachable) or hasattr(exc, "nothing_sent")


def nothing_sent(exc: JobTypeError) -> bool:
    """Whether the command surely never reached the login host (no connection could be made)."""
    return bool(getattr(exc, "nothing_sent", False))


@dataclass
class Submission:
    """One attempt's ``sbatch`` on its login host."""

    host: LoginHost
    options: SlurmOptions
    calls: Counter[str]
    job: JobSpec
    files: JobFiles
    name: str
    local_batch: Path
    workflow_dir: Path

    def submit(self) -> tuple[str, str]:
        """Stage (on a remote login host) and run ``sbatch``; the SLURM job id and the folder it ran in."""
        started = time.monotonic()
        pause = FIRST_PAUSE
        staged = self.host.is_local
        look_first = False
        while True:
            try:
                if not staged:
                    self.host.stage(self.files.folder, [(self.local_batch, self.files.batch),
                                                        *((Path(a), b) for a, b in self.files.staged)],
                                    self.job, self.workflow_dir)
                    staged = True
                if look_first:
                    found = SlurmQueue(self.host, self.calls, self.options.command_timeout).find_by_name(
                        self.name, self.options.slurm_env, self.files.folder)
                    if found is not None:
                        log.info("job '%s': SLURM job %s was accepted after all", self.job.name, found)
                        return found, self.files.folder
                    look_first = False
                return self._sbatch()
            except _Passing as passing:
                problem: JobTypeError = passing.error
                look_first = look_first or not passing.surely_not_accepted
            except JobTypeError as exc:
                if not may_pass(exc):
                    raise
                problem = exc
                look_first = look_first or not nothing_sent(exc)
            waited = time.monotonic() - started
            remaining = self.options.reconnect_window - waited
            if remaining <= 0:
                if waited < 0.1:
                    raise problem
                raise JobTypeError(f"{problem.bare} (tried for {waited:.0f} s)", job=self.job.name,
                                   host=self.host.label, hint=problem.hint)
            log.warning("job '%s' on %s: %s; trying again in %.1f s%s", self.job.name, self.host.label,
                        problem.bare, min(pause, remaining),
                        " (after looking whether SLURM has it)" if look_first else "")
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, LONGEST_PAUSE)
            self.host.retry_now()

    def _sbatch(self) -> tuple[str, str]:
        command = f"cd {shell_path(self.files.folder)} && sbatch --parsable {shlex.quote(self.files.batch)} && pwd"
        self.calls["sbatch"] += 1
        try:
            result = self.host.run(command, env=self.options.slurm_env, timeout=self.options.command_timeout)
        except JobTypeError as exc:
            if not may_pass(exc):
                raise
            raise _Passing(exc, surely_not_accepted=nothing_sent(exc)) from None
        lines = result.stdout.strip().splitlines()
        if result.exit_code == 0 and len(lines) >= 2 and lines[0].split(";")[0].strip().isdigit():
            return lines[0].split(";")[0].strip(), lines[-1].strip()
        said = sbatch_said(result.stderr or result.stdout)
        if result.exit_code != 0 and controller_unreachable(said):
            raise _Passing(JobTypeError(f"sbatch could not reach SLURM: {said}", job=self.job.name,
                                        host=self.host.label),
                           surely_not_accepted=NEVER_CONNECTED in said)
        raise JobTypeError(f"sbatch refused the job: {said}", job=self.job.name, host=self.host.label,
                           hint=f"the batch script is {self.local_batch}; `ccw show-script` prints it")


class _Passing(Exception):
    """A failure that may pass (SLURM or the login host away for now)."""

    def __init__(self, error: JobTypeError, surely_not_accepted: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.surely_not_accepted = surely_not_accepted



def sbatch_said(text: str) -> str:
    lines = [line.removeprefix("sbatch: ").removeprefix("error: ").strip() for line in text.strip().splitlines()]
    said = "; ".join(line for line in lines if line)
    return said[:600] or "no message"
