"""The dependency graph of a workflow: checks (unknown dependency, cycle) and order.

The checks and the order are plain Python over the job table because they run before every run and must stay
fast for ten thousand jobs; :func:`to_networkx` gives the graph as a networkx ``DiGraph`` for analysis and layout.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from cc_core.errors import Problem

if TYPE_CHECKING:
    import networkx as nx

    from cc_core.workflow.model import JobSpec, WorkflowSpec
    from cc_core.workflow.file import Locations


def dependency_problems(jobs: Mapping[str, "JobSpec"], locations: "Locations | None" = None,
                        known: Iterable[str] = ()) -> list[Problem]:
    """Unknown dependencies, self-dependencies and cycles, each located at its job's ``depends`` line. ``known``
    names jobs that exist but are left out of ``jobs`` (their definition has problems of its own)."""
    known = set(known)
    problems: list[Problem] = []

    def problem(message: str, job: str) -> Problem:
        if locations is not None:
            return locations.problem(message, job=job, field_name="depends")
        return Problem(message, job=job, field="depends")

    for job in jobs.values():
        for parent in job.depends:
            if parent == job.name:
                problems.append(problem("depends on itself", job.name))
            elif parent not in jobs and parent not in known:
                near = _close_names(parent, jobs)
                hint = f" (did you mean {near}?)" if near else ""
                problems.append(problem(f"depends on '{parent}', which is not a job of this workflow{hint}", job.name))
    cycle = find_cycle({name: job.depends for name, job in jobs.items()})
    if cycle:
        problems.append(problem("dependency cycle: " + " -> ".join(cycle + [cycle[0]]), cycle[0]))
    return problems


def _close_names(name: str, jobs: Iterable[str]) -> str:
    import difflib

    near = difflib.get_close_matches(name, list(jobs), n=3, cutoff=0.6)
    return ", ".join(f"'{n}'" for n in near)


def find_cycle(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """One cycle as a list of job names in dependency order (parent before child), or ``[]``."""
    order = topological_order(parents)
    if len(order) == len(parents):
        return []
    placed = set(order)
    left = {n for n in parents if n not in placed}
    # Walk parent links inside what is left; every node left has a parent left, so the walk must close a loop.
    start = next(iter(sorted(left)))
    seen: dict[str, int] = {}
    path: list[str] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(p for p in parents[node] if p in left)
    loop = path[seen[node]:]
    loop.reverse()  # parent → child order
    return loop


def topological_order(parents: Mapping[str, Sequence[str]]) -> list[str]:
    """Jobs in an order where every job comes after its parents; stable in definition order. Jobs on a cycle
    are left out (so ``len(result) < len(parents)`` tells a cycle)."""
    waiting = {name: 0 for name in parents}
    children: dict[str, list[str]] = {name: [] for name in parents}
    for name, ps in parents.items():
        for p in ps:
            if p in children:
                children[p].append(name)
                waiting[name] += 1
    ready = deque(name for name in parents if waiting[name] == 0)
    order: list[str] = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for child in children[name]:   # in definition order already: appended walking ``parents`` in order
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return order


def to_networkx(spec: "WorkflowSpec") -> "nx.DiGraph":
    """The workflow as a networkx ``DiGraph``: nodes are job names with the job spec as ``job`` attribute,
    edges go parent → child."""
    import networkx as nx

    graph = nx.DiGraph(name=spec.name)
    for name, job in spec.jobs.items():
        graph.add_node(name, job=job)
    graph.add_edges_from(spec.edges())
    return graph
