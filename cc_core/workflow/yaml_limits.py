"""Limits on YAML before it is loaded: nesting depth and the size after expanding aliases.

YAML is always read with the safe loader (no Python objects), but a small document can still nest thousands of
levels deep or use aliases to expand into billions of values ("billion laughs"). Both are refused here, with a
:class:`WorkflowError` naming the line, before the workflow loader walks the document.
"""

from __future__ import annotations

from typing import Any

import yaml

from cc_core.errors import Problem, WorkflowError

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_DEPTH = 64
MAX_VALUES = 500_000

# Read as parser events, not scanner tokens: there are about half as many, and the parser keeps its own stack, so a
# document nested 50,000 levels deep is walked without recursion. A mapping or list opens one level.
_STEP = {yaml.MappingStartEvent: 1, yaml.SequenceStartEvent: 1, yaml.MappingEndEvent: -1,
         yaml.SequenceEndEvent: -1}


def check_yaml(text: str, file: Any = None) -> None:
    """Raise :class:`WorkflowError` when ``text`` nests deeper than :data:`MAX_DEPTH` or expands (through
    aliases) to more than :data:`MAX_VALUES` values. Syntax errors are left to the workflow loader."""
    depth = 0
    aliases = False
    step = _STEP.get
    alias = yaml.AliasEvent
    try:
        for event in yaml.parse(text, Loader=_Loader):
            change = step(type(event))
            if change is None:
                if type(event) is alias:
                    aliases = True
                continue
            depth += change
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1
                raise WorkflowError([Problem(f"the YAML nests more than {MAX_DEPTH} levels deep", file=file,
                                             line=line)])
    except yaml.YAMLError:
        return
    if not aliases:
        return
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return
    if root is not None and _expanded_size(root) > MAX_VALUES:
        raise WorkflowError([Problem(f"the YAML expands to more than {MAX_VALUES} values through its aliases "
                                     "(&anchor / *alias)", file=file, line=root.start_mark.line + 1)])


def _expanded_size(root: yaml.Node) -> int:
    """How many values the document has once every alias is expanded, counted without expanding."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done and id(node) in open_nodes:
            return MAX_VALUES + 1  # a node inside itself: infinite when expanded
        children = _children(node)
        if children_done or not children:
            total = 1 + sum(sizes.get(id(c), 0) for c in children)
            sizes[id(node)] = min(total, MAX_VALUES + 1)
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []
