"""``ccw envs``: the environments in each host's cache (size, last use, what they hold), and pruning them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from cc_core.environments.host import EnvironmentHost
from cc_core.errors import CCError

LIST_TIMEOUT = 120.0


@dataclass(frozen=True)
class EnvironmentInfo:
    host: str
    name: str
    folder: str
    size: Optional[int]          # bytes
    last_used: Optional[float]   # seconds since 1970
    complete: bool               # False: a folder left by a build that did not finish (never used; pruned)
    python: Optional[str]
    installer: Optional[str]
    requirements: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ask(host: EnvironmentHost, params: dict[str, Any]) -> dict[str, Any]:
    answer, output = host.call(params, timeout=LIST_TIMEOUT)
    if answer.get("error"):
        raise CCError(f"host '{host.label}': {answer['error']}", hint=output.strip()[-500:] or None)
    return answer


def list_environments(host: EnvironmentHost) -> list[EnvironmentInfo]:
    """Every environment in ``host``'s cache."""
    answer = _ask(host, {"action": "list"})
    return [EnvironmentInfo(host.label, e["name"], e["folder"], e.get("size"), e.get("last_used"),
                            bool(e.get("complete")), e.get("python"), e.get("installer"), e.get("requirements") or "")
            for e in answer.get("environments", [])]


def prune_environments(host: EnvironmentHost, days: float) -> list[str]:
    """Remove the environments of ``host`` not used for ``days`` days (and unfinished ones); their names."""
    if days < 0:
        raise CCError("--days cannot be negative")
    return list(_ask(host, {"action": "prune", "days": days}).get("removed", []))
