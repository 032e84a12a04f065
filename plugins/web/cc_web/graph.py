"""A workflow's graph for drawing: the layout the GUI draws from (cached, it only changes with the jobs and
dependencies) and the SVG export."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Optional, Sequence

from cc_core.workflow.model import WorkflowSpec
from cc_core.store.base import JobRecord

_CACHE_SIZE = 32
_cache: "OrderedDict[int, str]" = OrderedDict()
_lock = threading.Lock()


def layout_json(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> str:
    """``cc_core.drawing.layout.layout_graph(nodes, edges).to_json()`` as JSON text, remembered for the same graph (a
    thousand jobs with all their edges take a few tenths of a second to lay out and megabytes to encode)."""
    import json

    from cc_core.drawing.layout import layout_graph

    key = hash((tuple(nodes), tuple(edges)))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    data = json.dumps(layout_graph(list(nodes), list(edges)).to_json(), separators=(",", ":"))
    with _lock:
        _cache[key] = data
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return data


def definition_graph(definition: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """Nodes and edges of a run's recorded definition (:meth:`WorkflowSpec.to_data`)."""
    jobs: dict[str, Any] = definition.get("jobs") or {}
    nodes = list(jobs)
    edges = [(str(parent), name) for name, fields in jobs.items() for parent in (fields or {}).get("depends") or []]
    return nodes, edges


def workflow_svg(spec: WorkflowSpec, jobs: Optional[Sequence[JobRecord]] = None) -> str:
    from cc_core.drawing.svg import workflow_svg as draw

    return draw(spec, list(jobs or []))
