"""cloudmesh-cc's ``Graph``: the nodes and edges of a workflow as plain dictionaries, drawn by cc."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml

from cc_core.errors import CCError


def edge_name(source: str, destination: str) -> str:
    return f"{source}-{destination}"


class Graph:
    """``nodes`` (name → fields) and ``edges`` (``"a-b"`` → ``{source, destination, name}``), as cloudmesh-cc
    keeps them; ``save`` draws the graph with cc's own SVG export."""

    def __init__(self, name: str = "graph", filename: Optional[str] = None, clear: bool = True) -> None:
        self.name = name
        self.filename = filename
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[str, dict[str, Any]] = {}
        self.colors: dict[str, Any] = {}
        self.workflow: Any = None    # the compatibility Workflow that owns this graph, for drawing with its run

    def clear(self) -> None:
        self.nodes = {}
        self.edges = {}
        self.colors = {}

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.nodes[name]

    def __str__(self) -> str:
        data = {"workflow": {"nodes": self.nodes, "dependencies": self.edges}}
        if self.colors:
            data["colors"] = self.colors
        return yaml.safe_dump(_plain(data), sort_keys=False, indent=2)

    def add_node(self, name: str, **data: Any) -> None:
        node = {"name": name, **data}
        node.setdefault("parent", [])
        self.nodes[name] = node

    def add_edge(self, source: str, destination: str, **data: Any) -> None:
        key = edge_name(source, destination)
        self.edges[key] = {"source": source, "destination": destination, "name": key, **data}
        parents = self.nodes.get(destination, {}).setdefault("parent", [])
        if source not in parents:
            parents.append(source)

    def delete_edge(self, source: str, destination: str) -> None:
        self.edges.pop(edge_name(source, destination), None)
        parents = self.nodes.get(destination, {}).get("parent", [])
        if source in parents:
            parents.remove(source)

    def delete_node(self, name: str) -> None:
        self.nodes.pop(name, None)
        for key in [k for k, e in self.edges.items() if name in (e["source"], e["destination"])]:
            del self.edges[key]

    def add_dependency(self, source: str, destination: str) -> None:
        for name in (source, destination):
            if name not in self.nodes:
                raise CCError(f"the dependency {source} -> {destination} names '{name}', which is not a job",
                              hint="add the job first with add_job(name=...)")
        self.add_edge(source, destination)

    def add_dependencies(self, dependency: str, nodedata: Any = None, edgedata: Any = None) -> None:
        """``"a,b,c"``: a → b → c."""
        names = [n.strip() for n in str(dependency).split(",") if n.strip()]
        for source, destination in zip(names, names[1:]):
            self.add_dependency(source, destination)

    def set_status(self, name: str, status: str) -> None:
        self.nodes[name]["status"] = status

    def get_status(self, name: str) -> str:
        return str(self.nodes[name]["status"])

    def done(self, parent: str) -> None:
        """``parent`` is done: it is no longer a parent that any job waits for (cloudmesh-cc's bookkeeping)."""
        for node in self.nodes.values():
            if parent in node.get("parent", []):
                node["parent"].remove(parent)

    def todo(self) -> list[str]:
        return [name for name, node in self.nodes.items() if not node.get("parent") and node.get("status") == "ready"]

    def load(self, filename: Optional[str] = None) -> None:
        from cc_core.cloudmesh.files import read_cloudmesh_file

        nodes, edges, colors = read_cloudmesh_file(Path(filename or self.filename or ""))
        self.clear()
        for name, node in nodes.items():
            self.add_node(name, **{k: v for k, v in node.items() if k not in ("name", "parent")})
        for edge in edges:
            self.add_edge(*edge)
        self.colors = colors

    def save_to_yaml(self, filename: str, exclude: Any = None) -> None:
        target = Path(filename).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(str(self), encoding="utf-8")

    def save(self, filename: str = "test.svg", colors: Any = None, layout: Any = None, engine: str = "dot") -> None:
        """Draw the graph, coloured by each job's status, into ``filename`` (SVG; cc draws it itself, so no graphviz
        is needed and ``layout``/``engine`` are ignored)."""
        suffix = Path(filename).suffix.lower()
        if suffix != ".svg":
            raise CCError(f"cc draws workflows as SVG, not '{suffix or filename}'",
                          hint=f"save to {Path(filename).with_suffix('.svg').name} and convert it if you need "
                               f"another format (e.g. rsvg-convert or Inkscape)")
        from cc_core.drawing.svg import render_svg, job_labels

        states = {name: str(node.get("status") or "ready") for name, node in self.nodes.items()}
        progress = {name: float(node.get("progress") or 0) for name, node in self.nodes.items()}
        labels: dict[str, str] = {}
        if self.workflow is not None:
            spec, records = self.workflow.spec_and_records()
            labels = job_labels(spec, records)
        edges = [(e["source"], e["destination"]) for e in self.edges.values()]
        palette = self.colors.get("status") if isinstance(self.colors.get("status"), dict) else None
        svg = render_svg(list(self.nodes), edges, states=states, progress=progress, labels=labels,
                         colors=palette, title=self.name)
        target = Path(filename).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(svg, encoding="utf-8")

    def export(self, filename: str = "show,a.png,a.svg,a.pdf") -> None:
        for name in [n.strip() for n in filename.split(",") if n.strip() and n.strip() != "show"]:
            self.save(filename=name)


def _plain(value: Any) -> Any:
    """Data safe_dump can write (a job's ``instance`` and other live objects as text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
