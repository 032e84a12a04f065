"""cc's error hierarchy.

Every error a user can meet is a :class:`CCError`. Its message says what was wrong, where (file, line, job,
host) and, where there is one, the way out. The CLI prints the message and exits non-zero; the REST service turns
it into a 4xx response.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CCError(Exception):
    """Base class of every error cc reports to a user."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow, located as precisely as cc can."""

    message: str
    file: Path | None = None
    line: int | None = None
    job: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        shown = self.job if self.job is None or self.job.isprintable() else repr(self.job)[1:-1]
        who = f"job '{shown}': " if self.job else ""
        return f"{where}{who}{self.message}"


class WorkflowError(CCError):
    """The workflow is not valid; nothing was run. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        head = "workflow is not valid" if len(problems) != 1 else "workflow is not valid:"
        if len(problems) == 1:
            message = f"{head} {problems[0]}"
        else:
            message = head + f" ({len(problems)} problems):\n" + "\n".join(f"  - {p}" for p in problems)
        super().__init__(message)


class PluginError(CCError):
    """A plugin could not be loaded or two plugins claim the same name."""


class UnknownNameError(CCError):
    """A job type, scheduler, status store or progress parser name that no installed plugin provides."""


class RunNotFoundError(CCError):
    """No run matches the id or workflow name given."""


class WorkflowNotFoundError(RunNotFoundError):
    """No stored workflow has that name (the REST service starts runs of stored workflows only)."""


class JobNotFoundError(CCError):
    """The run has no job of that name."""


class RunLockedError(CCError):
    """Another process is already driving this run."""


class RunEndedError(CCError):
    """What was asked needs a run that goes on (or whose runner died), and this one has ended."""


class RunNotEndedError(CCError):
    """What was asked needs a run that has ended (a rerun), and this one has not."""


class StoreError(CCError):
    """The status store could not be read or written; what it had recorded is unchanged."""


class JobTypeError(CCError):
    """A job type could not submit, check or cancel a job (host unreachable, command missing, ...)."""

    def __init__(self, message: str, *, job: str | None = None, host: str | None = None,
                 hint: str | None = None) -> None:
        self.job = job
        self.host = host
        parts = []
        if job:
            parts.append(f"job '{job}'")
        if host:
            parts.append(f"host '{host}'")
        prefix = (", ".join(parts) + ": ") if parts else ""
        self.reason = message
        super().__init__(prefix + message, hint=hint)

    @property
    def bare(self) -> str:
        """The message without its ``job '...', host '...': `` prefix and without a connection's "next try" note,
        for a message that says it again in other words (``... (tried for 60 s)``)."""
        return self.reason.split(" (next try in ")[0]
