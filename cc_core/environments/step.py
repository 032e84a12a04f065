"""The engine's environment step: before a job that needs an environment is submitted, its environment is checked
or built on its host.

The engine asks :meth:`EnvironmentStep.park` whether a job must wait (another job of the run is preparing the same
environment on the same host: it stays ``ready``, takes no slot, and says ``waiting for environment ENV on HOST``),
then :meth:`EnvironmentStep.begin`: either the environment is already known in this run (or found on this
machine's disk at once) and the launch comes back ready to submit, or the job is ``preparing`` while a background
thread checks or builds it and posts ``("prepared", Prepared)`` to the engine. :meth:`EnvironmentStep.finish`
then hands back the jobs that waited.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from cc_core.environments.spec import needs_environment
from cc_core.errors import CCError

if TYPE_CHECKING:   # checking and building are imported by the first job that needs an environment
    from cc_core.environments.host import EnvironmentHost
    from cc_core.environments.prepare import Environment
    from cc_core.environments.spec import EnvironmentSpec
    from cc_core.plugins.jobtype import JobType, Launch
    from cc_core.workflow.model import JobSpec

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Prepared:
    """A check or build that ended (posted to the engine)."""

    job: str
    attempt: int
    key: Key
    launch: Optional[Launch] = None       # ready to submit, or None when the environment could not be had
    reason: Optional[str] = None
    environment: Optional[Environment] = None


@dataclass
class _Pending:
    label: str
    waiting: list[str] = field(default_factory=list)


def _key(job: JobSpec) -> Key:
    requirements = job.requirements if isinstance(job.requirements, str) else tuple(job.requirements or ())
    return (job.kind, job.host, job.user, json.dumps(job.options, sort_keys=True, default=str), requirements,
            job.python, job.conda)


class EnvironmentStep:
    """Per run: which environments are known, which are being prepared and who waits for them."""

    def __init__(self, job_type_for: Callable[[JobSpec], JobType], workflow_dir: Path,
                 post: Callable[[tuple[Any, ...]], None]) -> None:
        self._job_type_for = job_type_for
        self._workflow_dir = workflow_dir
        self._post = post
        self._known: dict[Key, Environment] = {}
        self._pending: dict[Key, _Pending] = {}
        self._failed: dict[Key, str] = {}     # builds that failed in this run: why
        self._hosts: dict[tuple[str, str], EnvironmentHost] = {}

    needs = staticmethod(needs_environment)

    def waiting(self) -> list[str]:
        """The jobs waiting for an environment another job prepares."""
        return [name for pending in self._pending.values() for name in pending.waiting]

    def park(self, job: JobSpec) -> Optional[str]:
        """When another job prepares the environment ``job`` needs, remember ``job`` and say why it waits."""
        pending = self._pending.get(_key(job))
        if pending is None:
            return None
        if job.name not in pending.waiting:
            pending.waiting.append(job.name)
        return f"waiting for environment {pending.label}"

    def begin(self, launch: Launch) -> Optional[Launch]:
        """The launch to submit now, or ``None`` while the environment is prepared in the background."""
        from cc_core.environments.prepare import find_known, with_environment
        from cc_core.environments.spec import EnvironmentSpec

        key = _key(launch.job)
        known = self._known.get(key)
        if known is not None:
            return with_environment(launch, known)
        failed = self._failed.get(key)
        if failed is not None and launch.attempt <= 1:   # a retry tries the build again
            self._pending[key] = _Pending(launch.job.name)
            self._post(("prepared", Prepared(launch.key, launch.attempt, key, None, failed)))
            return None
        try:
            spec = EnvironmentSpec.of(launch.job, self._workflow_dir)
            host = self._job_type_for(launch.job).environment_host(launch.job)
        except CCError as exc:
            self._pending[key] = _Pending(launch.job.name)
            self._post(("prepared", Prepared(launch.key, launch.attempt, key, None, exc.message)))
            return None
        found = find_known(host, spec)
        if found is not None:
            self._known[key] = found
            return with_environment(launch, found)
        self._pending[key] = _Pending(f"{spec.short} on {host.label}")
        self._hosts[host.identity] = host
        # A daemon thread: a run that ends (killed) while a remote build goes on does not wait for it.
        threading.Thread(target=self._prepare, args=(launch, key, spec, host), name=f"cc-env-{launch.key}",
                         daemon=True).start()
        return None

    def _prepare(self, launch: Launch, key: Key, spec: EnvironmentSpec, host: EnvironmentHost) -> None:
        from cc_core.environments.prepare import Outcome, ensure, with_environment, write_log

        try:
            outcome = ensure(host, spec)
        except CCError as exc:
            outcome = Outcome(None, exc.message)
        except Exception as exc:  # noqa: BLE001 - a failure here fails the job, never the run
            outcome = Outcome(None, f"{type(exc).__name__}: {exc}")
        try:
            write_log(launch, outcome, spec)
        except OSError:
            pass
        if outcome.environment is None:
            reason = f"environment {spec.short} could not be built on {host.label}: {outcome.error}"
            self._post(("prepared", Prepared(launch.key, launch.attempt, key, None, reason)))
            return
        self._post(("prepared", Prepared(launch.key, launch.attempt, key,
                                         with_environment(launch, outcome.environment), None,
                                         outcome.environment)))

    def finish(self, prepared: Prepared) -> list[str]:
        """The jobs that waited for this environment (they go back to the scheduler, or fail with the same
        reason)."""
        if prepared.environment is not None:
            self._known[prepared.key] = prepared.environment
            self._failed.pop(prepared.key, None)
        elif prepared.reason:
            self._failed[prepared.key] = prepared.reason
        pending = self._pending.pop(prepared.key, None)
        return pending.waiting if pending is not None else []

    def close(self) -> None:
        """The run ended: stop the builds still going on this machine (nobody waits for them any more)."""
        if self._pending:
            for host in self._hosts.values():
                host.cancel()
