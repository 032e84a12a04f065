"""cloudmesh-cc compatibility: its ``Workflow`` and ``Graph`` API, driving cc's engine.

``from cc_core.cloudmesh import Workflow`` in place of ``from cloudmesh.cc.workflow import Workflow``; docs/cloudmesh.md
lists every cloudmesh-cc field, call, command and REST path with its cc equivalent.
"""

from cc_core.cloudmesh.graph import Graph
from cc_core.cloudmesh.workflow import Workflow

__all__ = ["Graph", "Workflow"]
