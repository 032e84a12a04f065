"""cloudmesh-cc's workflow files (``workflow: nodes: ... dependencies: ...``), read as cloudmesh-cc 5 runs them.

cloudmesh-cc runs, for a node named ``name``, the script ``name.sh`` in the workflow's folder (or ``name`` itself
when the name ends in ``.sh``, ``.py`` or ``.ipynb``), whatever the node's ``script:`` or ``exec:`` says; a host
on a ``kind: local`` node is only a label; a name that appears only in ``dependencies:`` is a node too. cc does
the same, and says so in a warning where the file asks for something cloudmesh-cc ignores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from cc_core.errors import Problem
from cc_core.workflow.file import Locations, _add_chains, _Node, _plain, _split_names

SCRIPT_SUFFIXES = (".sh", ".py", ".ipynb")
_FIELD_FOR_SUFFIX = {".sh": "script", ".bash": "script", ".py": "script", ".ipynb": "notebook"}
_LOCAL_HOSTS = ("local", "localhost", "127.0.0.1", "")


def script_for(name: str) -> str:
    """The file cloudmesh-cc runs for a node: ``name.sh``, or the name itself when it ends in .sh/.py/.ipynb."""
    return name if name.endswith(SCRIPT_SUFFIXES) else f"{name}.sh"


def _runs(payload: str) -> dict[str, str]:
    """A job's ``script``/``notebook``/``command`` field for what an ``exec:``/``script:`` value asks to run."""
    head = payload.split()[0] if payload.split() else payload
    suffix = Path(head).suffix.lower()
    if suffix in _FIELD_FOR_SUFFIX and " " not in payload:
        return {_FIELD_FOR_SUFFIX[suffix]: payload}
    return {"command": payload}


def _payload_usable(payload: str, directory: Path) -> bool:
    runs = _runs(payload)
    if "command" in runs:
        return True
    return (directory / next(iter(runs.values()))).is_file()


def _job_from_node(name: str, raw: dict[str, Any], directory: Path, loc: Locations,
                   problems: list[Problem]) -> dict[str, Any]:
    job: dict[str, Any] = {}
    host = str(raw.get("host") or "localhost")
    job["kind"] = str(raw.get("kind") or "local")
    job["host"] = "localhost" if host == "local" else host  # with kind: local the host is a label, as in cloudmesh-cc
    for key in ("user", "label", "venv"):
        if raw.get(key):
            job[key] = str(raw[key])
    derived = script_for(name)
    asked: Optional[tuple[str, str]] = None
    for key in ("exec", "script"):
        value = raw.get(key)
        if value is not None and str(value).strip():
            asked = (key, str(value).strip())
            break
    # cloudmesh-cc's own Workflow.save writes script: NAME.sh for every node (b.sh.sh for a node b.sh)
    saved_default = asked is not None and asked[0] == "script" and asked[1] in (derived, f"{name}.sh")
    if (directory / derived).is_file():
        job.update(_runs(derived))
        if asked is not None and not saved_default and asked[1] != derived:
            loc.warnings.append(loc.problem(
                f"'{asked[0]}: {asked[1]}' is ignored, as cloudmesh-cc ignores it: the job runs {derived}, the "
                f"script named after the job (rename or remove one of them to make this plain)",
                job=name, field_name=asked[0]))
    elif asked is not None and not saved_default and _payload_usable(asked[1], directory):
        job.update(_runs(asked[1]))
        loc.warnings.append(loc.problem(
            f"cloudmesh-cc would run {derived}, the script named after the job, which is not in {directory}; "
            f"cc runs '{asked[0]}: {asked[1]}' instead", job=name, field_name=asked[0]))
    else:
        what = f"{derived} (cloudmesh-cc runs the script named after the job)"
        if asked is not None and not saved_default:
            what += f"; '{asked[0]}: {asked[1]}' does not exist either"
        problems.append(loc.problem(f"no script to run: {what} is not in {directory}", job=name,
                                    field_name=asked[0] if asked else None))
        job.update(_runs(derived))   # said once here, not again as a job that runs nothing
    return job


def _dependency_names(node: Optional[_Node]) -> list[tuple[str, int]]:
    """Every name the ``dependencies:`` section mentions, with its line, in order."""
    if node is None or node.value is None:
        return []
    found: list[tuple[str, int]] = []
    if isinstance(node.value, dict):
        for key, entry in node.value.items():
            value = _plain(entry)
            if isinstance(value, dict):
                found.extend((str(value[k]), node.key_lines[key]) for k in ("source", "destination") if k in value)
    elif isinstance(node.value, list):
        for item in node.value:
            found.extend((n, item.line) for n in _split_names(_plain(item)))
    else:
        found.extend((n, node.line) for n in _split_names(node.value))
    return found


def from_cloudmesh(root: _Node, loc: Locations, problems: list[Problem], directory: Path) -> dict[str, Any]:
    """The plain data of a cloudmesh-cc file in cc's terms (jobs with ``depends``, name, colors)."""
    wf = root.value["workflow"]
    nodes = wf.value.get("nodes")
    jobs: dict[str, dict[str, Any]] = {}
    alias: dict[str, str] = {}
    if nodes is not None and isinstance(nodes.value, dict):
        for key, node in nodes.value.items():
            fields = node.value if isinstance(node.value, dict) else {}
            raw = {k: _plain(v) for k, v in fields.items()}
            name = str(raw.get("name") or key)
            alias[str(key)] = name
            alias[name] = name
            loc.jobs[name] = nodes.key_lines[key]
            for field_name, line in getattr(node, "key_lines", {}).items():
                loc.fields[(name, field_name)] = line
            if name in jobs:
                problems.append(loc.problem(f"job '{name}' is defined twice", job=name))
            jobs[name] = _job_from_node(name, raw, directory, loc, problems)
    elif nodes is not None and nodes.value is not None:
        problems.append(loc.problem("'workflow: nodes:' must be a mapping", line=nodes.line))
    dependencies = wf.value.get("dependencies")
    for name, line in _dependency_names(dependencies):
        # cloudmesh-cc makes a node of a name that only a dependency mentions; it runs NAME.sh
        if name not in alias and (directory / script_for(name)).is_file():
            alias[name] = name
            loc.jobs[name] = line
            jobs[name] = {"kind": "local", "host": "localhost", **_runs(script_for(name))}
    _add_chains(dependencies, jobs, alias, loc, problems)
    data: dict[str, Any] = {"jobs": jobs}
    name_node = root.value.get("name") or wf.value.get("name")
    if name_node is not None:
        data["name"] = str(_plain(name_node))
    colors = root.value.get("colors")
    if colors is not None and isinstance(colors.value, dict):
        status = _plain(colors.value.get("status")) if "status" in colors.value else _plain(colors)
        if isinstance(status, dict):
            data["colors"] = {str(k): str(v) for k, v in status.items()}
    return data
