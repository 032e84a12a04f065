"""cloudmesh-cc's ``Workflow`` API, driving cc's engine.

A cloudmesh-cc program keeps working with one changed import::

    from cc_core.cloudmesh import Workflow      # was: from cloudmesh.cc.workflow import Workflow

    w = Workflow(name="workflow-local")
    w.add_job(name="start", kind="local", user=user, host="local")     # runs start.sh
    w.add_job(name="fetch", label="{name}\\nprogress={progress}")
    w.add_dependencies("start,fetch")
    w.run_topo(show=False)                      # or run_parallel(): cc's sequential or parallel scheduler
    print(w.table)

The jobs run through cc's engine (exit codes checked, every state in cc's store, ``ccw status`` and the GUI show
the run); afterwards each node's ``status`` and ``progress`` say how it ended, as cloudmesh-cc's do. Scripts are
looked for in the runtime folder (``~/.cloudmesh/workflow/NAME/runtime/``), then next to the last file loaded.
"""

from __future__ import annotations

import getpass
import json as json_module
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import yaml

from cc_core.cloudmesh.files import read_cloudmesh_file
from cc_core.cloudmesh.graph import Graph, _plain
from cc_core.errors import CCError, WorkflowError
from cc_core.states import RunState

_NOT_SAVED = ("instance",)


def _expand(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


class Workflow:
    """A workflow as cloudmesh-cc's ``Workflow`` shows it: ``graph.nodes`` and ``graph.edges`` dictionaries, run by
    cc's engine."""

    def __init__(self, name: Optional[str] = None, filename: Optional[str] = None, runtime_dir: Optional[str] = None,
                 user: Optional[str] = None, host: Optional[str] = None, load: bool = False,
                 clear_runtime_dir: bool = True, runtime: bool = False) -> None:
        if name is None and filename is not None:
            name = Path(filename).name.split(".")[0]
        self.name = name or "workflow"
        self.filename = str(_expand(filename or f"~/.cloudmesh/workflow/{self.name}/{self.name}.yaml"))
        if filename is not None:
            self.name = Path(self.filename).name.split(".")[0]
        self.runtime_dir = str(_expand(runtime_dir or f"~/.cloudmesh/workflow/{self.name}/runtime")) + "/"
        self.runtime_filename = f"{self.runtime_dir}{self.name}.yaml"
        Path(self.filename).parent.mkdir(parents=True, exist_ok=True)
        Path(self.runtime_dir).mkdir(parents=True, exist_ok=True)
        self.user = user
        self.host = host
        self.graph = Graph(name=self.name, filename=self.runtime_filename)
        self.graph.workflow = self
        self.run_id: Optional[int] = None
        self.state: Optional[RunState] = None
        self._loaded_from: Optional[Path] = None
        if not runtime and Path(self.filename).is_file():
            self.load(self.filename)

    # ---- what the workflow holds -------------------------------------------------------------------------------
    def __str__(self) -> str:
        return str(self.graph)

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        return self.graph.nodes

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.jobs[name]

    def job(self, name: str) -> dict[str, Any]:
        return self.jobs[name]

    @property
    def dependencies(self) -> dict[str, dict[str, Any]]:
        return self.graph.edges

    def predecessor(self, name: str) -> list[str]:
        return [e["source"] for e in self.graph.edges.values() if e["destination"] == name]

    def get_predecessors(self, name: str) -> Optional[list[str]]:
        parents = [p for p in self.predecessor(name) if self.job(p).get("progress") != 100]
        return parents or None

    def add_job(self, filename: Optional[str] = None, name: Optional[str] = None, user: Optional[str] = None,
                host: Optional[str] = None, label: Optional[str] = None, label_format: Optional[str] = None,
                kind: str = "local", status: str = "ready", progress: int = 0, script: Optional[str] = None,
                exec: Optional[str] = None, pid: Any = None, venv: Optional[str] = None, **kwargs: Any) -> None:
        """Add a job; as in cloudmesh-cc it runs the script named after it (``NAME.sh``)."""
        if not name:
            raise CCError("add_job needs a name", hint="add_job(name='fetch', ...) runs fetch.sh")
        now = str(datetime.now())
        self.graph.add_node(name, label=label or name, label_format=label_format or label or name, kind=kind,
                            user=user or self.user or getpass.getuser(), host=host or self.host or "localhost",
                            status=status, progress=progress, created=now, modified=now,
                            script=script or f"{name}.sh", exec=exec, venv=venv, instance=None, **kwargs)
        self.save(filename=filename)

    def add_dependency(self, source: str, destination: str) -> None:
        self.graph.add_dependency(source, destination)

    def add_dependencies(self, dependency: str) -> None:
        """``"a,b,c"``: a runs before b, b before c."""
        self.graph.add_dependencies(dependency=dependency)

    def remove_job(self, name: str, state: bool = False) -> None:
        if name not in self.jobs:
            raise CCError(f"no job '{name}' in workflow '{self.name}'")
        self.graph.delete_node(name)

    def update_status(self, name: str, status: str) -> None:
        self.graph[name]["status"] = status

    def set_progress(self, name: str, percent: float) -> None:
        self.graph[name]["progress"] = percent

    def update_progress(self, name: str) -> None:
        """Read the job's latest progress from cc's store (its log's progress lines)."""
        self._update_from_run()

    # ---- order -------------------------------------------------------------------------------------------------
    def sequential_order(self) -> list[str]:
        """The jobs in an order that runs every parent before its children."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self.jobs)
        graph.add_edges_from((e["source"], e["destination"]) for e in self.graph.edges.values())
        try:
            return list(nx.lexicographical_topological_sort(graph))
        except nx.NetworkXUnfeasible:
            cycle = " -> ".join(a for a, _ in nx.find_cycle(graph))
            raise CCError(f"dependency cycle: {cycle}") from None

    create_topological_order = sequential_order

    # ---- files -------------------------------------------------------------------------------------------------
    def load(self, filename: str, clear: bool = True) -> None:
        """Load a workflow file (cloudmesh-cc's shape or cc's) into THIS workflow."""
        path = _expand(filename)
        nodes, edges, colors = read_cloudmesh_file(path)
        if clear:
            self.graph.clear()
        now = str(datetime.now())
        for name, node in nodes.items():
            node = {k: v for k, v in node.items() if k not in ("name", "parent")}
            node.setdefault("label", name)
            node.setdefault("kind", "local")
            node.setdefault("host", "localhost")
            node.setdefault("status", "ready")
            node.setdefault("progress", 0)
            node.setdefault("script", f"{name}.sh")
            node.setdefault("created", now)
            node.setdefault("modified", now)
            self.graph.add_node(name, **node)
        for source, destination in edges:
            self.graph.add_edge(source, destination)
        self.graph.colors = colors
        self._loaded_from = path.parent

    def save(self, filename: Optional[str] = None) -> None:
        """Write the workflow (cloudmesh-cc's shape) to ``filename`` and to the runtime copy."""
        if filename:
            self.graph.save_to_yaml(str(_expand(filename)))
        self.graph.save_to_yaml(self.runtime_filename)

    def save_with_state(self, filename: str, stdout: bool = False) -> Optional[str]:
        text = self.yaml
        target = _expand(filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return text if stdout else None

    def load_with_state(self, filename: str) -> None:
        """Load a file written by :meth:`save_with_state`, keeping each node's status and progress."""
        self.load(filename)

    @property
    def yaml(self) -> str:
        return str(self.graph)

    def dict_of_workflow(self) -> dict[str, Any]:
        return yaml.safe_load(self.yaml)

    def json(self, filepath: Optional[str] = None) -> str:
        text = json_module.dumps(self.dict_of_workflow(), indent=2)
        if filepath:
            _expand(filepath).write_text(text, encoding="utf-8")
        return text

    def remove_workflow(self) -> None:
        import shutil

        shutil.rmtree(Path(self.filename).parent, ignore_errors=True)
        self.graph.clear()

    # ---- running -----------------------------------------------------------------------------------------------
    def spec(self) -> Any:
        """The workflow as cc's :class:`~cc_core.workflow.model.WorkflowSpec`, read as cc reads a cloudmesh-cc file
        (the script named after each job, from the runtime folder or the folder of the file last loaded)."""
        from cc_core.workflow.file import load_workflow_text

        text = yaml.safe_dump(_plain({"workflow": {
            "nodes": {n: {k: v for k, v in node.items() if k not in _NOT_SAVED} for n, node in self.jobs.items()},
            "dependencies": self.graph.edges}}), sort_keys=False)
        last_error: Optional[WorkflowError] = None
        for folder in self._script_folders():
            try:
                return load_workflow_text(text, name=self.name, directory=folder)
            except WorkflowError as exc:
                last_error = last_error or exc
        assert last_error is not None
        raise last_error

    def _script_folders(self) -> list[Path]:
        folders = [Path(self.runtime_dir)]
        if self._loaded_from is not None and self._loaded_from != folders[0]:
            folders.append(self._loaded_from)
        return folders

    def spec_and_records(self) -> tuple[Any, list[Any]]:
        from cc_core.home import open_store

        try:
            spec = self.spec()
        except WorkflowError:
            from cc_core.workflow.model import WorkflowSpec

            spec = WorkflowSpec(name=self.name)
        records = open_store().get_jobs(self.run_id) if self.run_id is not None else []
        return spec, records

    def _run(self, scheduler: str, dryrun: bool, show: bool, filename: Optional[str]) -> Optional[RunState]:
        if dryrun:
            return None
        from cc_core.api import start_run

        controller = start_run(self.spec(), scheduler=scheduler)
        self.run_id = controller.run_id
        for node in self.jobs.values():
            node["status"] = "ready"
        self.state = controller.wait()
        self._update_from_run()
        self.save()
        if show:
            self.graph.save(filename=filename or f"{self.runtime_dir}{self.name}.svg")
        return self.state

    def _update_from_run(self) -> None:
        if self.run_id is None:
            return
        from cc_core.home import open_store

        for record in open_store().get_jobs(self.run_id):
            node = self.jobs.get(record.name)
            if node is None:
                continue
            node["status"] = record.state.value
            node["progress"] = 100 if record.state.value == "done" else (record.progress or 0)
            node["modified"] = str(datetime.now())
            if record.state.value == "done":
                self.graph.done(record.name)

    def run_topo(self, order: Any = None, dryrun: bool = False, show: bool = True,
                 filename: Optional[str] = None) -> Optional[RunState]:
        """Run the jobs one at a time in topological order (cc's sequential scheduler)."""
        return self._run("sequential", dryrun, show, filename)

    def run_parallel(self, directory: str = "~/experiment", order: Any = None, dryrun: bool = False,
                     show: bool = True, period: float = 0.5, filename: Optional[str] = None) -> Optional[RunState]:
        """Run the jobs in parallel as their parents finish (cc's parallel scheduler)."""
        if directory not in ("~/experiment", None):
            raise CCError("cc runs every job in a folder of its own under $CC_HOME/runs/RUN/JOB",
                          hint="set CC_HOME to choose where runs go; 'directory' has no equivalent")
        return self._run("parallel", dryrun, show, filename)

    def display(self, filename: Optional[str] = None, name: str = "workflow", first: bool = True) -> None:
        raise CCError("cc does not open a viewer window",
                      hint="w.graph.save(filename='workflow.svg') writes the graph; 'ccw serve' shows it live")

    # ---- tables ------------------------------------------------------------------------------------------------
    @property
    def table(self) -> str:
        return self._table(with_label=False)

    def table2(self, with_label: bool = False) -> str:
        return self._table(with_label=with_label)

    def _table(self, with_label: bool) -> str:
        columns = ["name", "status", "progress", "kind", "host", "user", "script", "parent"]
        if with_label:
            columns.insert(1, "label")
        rows = [[str(node.get(c) if c != "parent" else ",".join(node.get("parent", []))) for c in columns]
                for node in self.jobs.values()]
        widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
        line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
        out = [line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out.extend(line(r) for r in rows)
        return "\n".join(out)

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state.value if self.state else None, "run": self.run_id,
                "jobs": {n: {"status": j.get("status"), "progress": j.get("progress")} for n, j in self.jobs.items()}}

    def analyze_states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.jobs.values():
            counts[str(node.get("status"))] = counts.get(str(node.get("status")), 0) + 1
        return counts
