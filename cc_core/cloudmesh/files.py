"""Reading the nodes, edges and colours of a cloudmesh-cc workflow file as plain data (for the compatibility
``Workflow``; running a file goes through :func:`cc_core.workflow.file.load_workflow`, which checks it fully)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cc_core.errors import CCError, Problem, WorkflowError
from cc_core.workflow.file import parse_yaml, _plain


def read_cloudmesh_file(path: Path) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str]], dict[str, Any]]:
    """``(nodes, edges, colors)`` of a file in cloudmesh-cc's shape (or cc's own: its jobs become nodes)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CCError(f"cannot read the workflow file {path}: {exc.strerror or exc}") from None
    root, problems = parse_yaml(text, path)
    if problems:
        raise WorkflowError(problems)
    data = _plain(root) or {}
    if not isinstance(data, dict):
        raise WorkflowError([Problem("a workflow file is a mapping with 'workflow: nodes:'", file=path)])
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []
    if "workflow" in data and isinstance(data["workflow"], dict):
        for key, node in (data["workflow"].get("nodes") or {}).items():
            node = dict(node or {})
            nodes[str(node.get("name") or key)] = node
        edges = _edges(data["workflow"].get("dependencies"))
    elif isinstance(data.get("jobs"), dict):   # cc's own format
        for name, job in data["jobs"].items():
            job = dict(job or {})
            depends = job.pop("depends", []) or []
            nodes[str(name)] = job
            edges.extend((str(parent), str(name)) for parent in depends)
    else:
        raise WorkflowError([Problem("no 'workflow: nodes:' (nor 'jobs:') in this file", file=path)])
    colors = data.get("colors") if isinstance(data.get("colors"), dict) else {}
    return nodes, edges, colors


def _edges(dependencies: Any) -> list[tuple[str, str]]:
    edges: list[tuple[str, str]] = []
    if isinstance(dependencies, dict):
        for entry in dependencies.values():
            if isinstance(entry, dict) and "source" in entry and "destination" in entry:
                edges.append((str(entry["source"]), str(entry["destination"])))
    elif isinstance(dependencies, (list, str)):
        chains = dependencies if isinstance(dependencies, list) else [dependencies]
        for chain in chains:
            names = [n.strip() for n in str(chain).split(",") if n.strip()]
            edges.extend(zip(names, names[1:]))
    return edges
