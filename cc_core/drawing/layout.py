"""Layered drawing of a workflow's graph, in pure Python so an SVG export needs no system packages.

The layout follows Sugiyama's four steps: break cycles (a workflow has none once validated, but a drawing must
never hang on one), put every job on a layer by its longest path from the jobs that start first, order each layer
by a few barycenter sweeps down and up (keeping the order with the fewest crossings), and place the jobs of each
layer as close to their neighbours as their widths allow. Edges spanning several layers pass through dummy
positions, so their polylines run between jobs rather than through them.

The result, :class:`GraphLayout`, holds plain numbers and names; :meth:`GraphLayout.to_json` is what the browser
GUI draws from.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

Point = tuple[float, float]
Direction = Literal["TB", "LR"]

_SWEEPS = 8              # at most this many down+up barycenter rounds
_PATIENCE = 2            # stop after this many rounds without fewer crossings
_PLACEMENT_ROUNDS = 4    # down/up rounds of coordinate placement
_PROGRESS = 0.99         # a round must leave fewer than this share of the crossings to count as progress
# Adjacent swaps and sifting find crossings barycenters miss but cost more; they run only while their estimated
# work per round (pairs of edges compared) stays below these limits, which keeps small graphs tidy and large fast.
_TRANSPOSE_WORK = 12_000
_SIFT_WORK = 60_000
_DUMMY_WEIGHT = 4.0      # how strongly a long edge's bends pull towards a straight line
_LOOSE_WEIGHT = 0.05     # how weakly a job without neighbours on the reference side holds its place


@dataclass
class GraphLayout:
    """Where each job goes: ``positions`` are node centres, ``edge_paths`` polylines from parent to child.

    ``layers`` lists the jobs of each layer (a row for ``TB``, a column for ``LR``) in drawing order.
    """

    positions: dict[str, Point]
    width: float
    height: float
    layers: list[list[str]]
    edge_paths: dict[tuple[str, str], list[Point]]
    node_width: float = 160.0
    node_height: float = 40.0
    direction: str = "TB"
    crossings: int = 0
    layer_of: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data for JSON, numbers rounded to 0.1 px::

            {"width", "height", "direction", "node_width", "node_height", "crossings",
             "layers": [[name, ...], ...],
             "nodes": [{"name", "x", "y", "layer"}, ...],            # x, y: the job's centre
             "edges": [{"source", "target", "points": [[x, y], ...]}, ...]}
        """
        return {
            "width": _r(self.width),
            "height": _r(self.height),
            "direction": self.direction,
            "node_width": _r(self.node_width),
            "node_height": _r(self.node_height),
            "crossings": self.crossings,
            "layers": [list(layer) for layer in self.layers],
            "nodes": [
                {"name": name, "x": _r(x), "y": _r(y), "layer": self.layer_of.get(name, 0)}
                for name, (x, y) in self.positions.items()
            ],
            "edges": [
                {"source": s, "target": t, "points": [[_r(x), _r(y)] for x, y in points]}
                for (s, t), points in self.edge_paths.items()
            ],
        }


def _r(value: float) -> float:
    return round(value, 1)


def layout_graph(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    *,
    node_width: float = 160.0,
    node_height: float = 40.0,
    direction: Direction = "TB",
    node_gap: float = 24.0,
    layer_gap: float = 56.0,
    margin: float = 16.0,
) -> GraphLayout:
    """Lay out a directed graph in layers, parents before children (above for ``TB``, left of them for ``LR``).

    Names used in ``edges`` but missing from ``nodes`` are added; repeated edges are drawn once. A cycle is
    broken by drawing one of its edges backwards rather than looping.
    """
    if direction not in ("TB", "LR"):
        raise ValueError(f"direction must be 'TB' or 'LR', not {direction!r}")
    graph = _Graph.build(nodes, edges)
    # Work in (breadth, depth): breadth runs along a layer, depth across layers.
    breadth, depth = (node_width, node_height) if direction == "TB" else (node_height, node_width)

    oriented = graph.acyclic_edges()
    forward = list(dict.fromkeys(oriented))
    layer = _longest_path_layers(graph.n, forward)
    chains = _Chains.build(graph.n, forward, layer, budget=max(50_000, 4 * (graph.n + len(forward))))
    connected = [False] * graph.n
    for a, b in forward:
        connected[a] = connected[b] = True
    layers = _initial_layers(chains, layer, connected)
    crossings = _order_layers(layers, chains)
    _add_isolated_jobs(layers, layer, connected, chains)

    sizes = [breadth if v < graph.n else 0.0 for v in range(chains.count)]
    x = _place_in_layers(layers, chains, sizes, node_gap, graph.n)

    left = min((x[v] - sizes[v] / 2 for row in layers for v in row), default=0.0)
    shift = margin - left
    for v in range(chains.count):
        x[v] += shift
    right = max((x[v] + sizes[v] / 2 for row in layers for v in row), default=0.0)
    band = [margin + i * (depth + layer_gap) + depth / 2 for i in range(len(layers))]
    total_breadth = max(right + margin, 2 * margin)
    total_depth = margin * 2 + len(layers) * depth + max(len(layers) - 1, 0) * layer_gap if layers else 2 * margin

    def at(b: float, d: float) -> Point:
        return (b, d) if direction == "TB" else (d, b)

    positions = {graph.names[v]: at(x[v], band[layer[v]]) for v in range(graph.n)}
    paths = _edge_paths(graph, oriented, chains, layer, x, band, breadth, depth, at)
    if direction == "TB":
        width, height = total_breadth, total_depth
    else:
        width, height = total_depth, total_breadth
    return GraphLayout(
        positions=positions,
        width=width,
        height=height,
        layers=[[graph.names[v] for v in row if v < graph.n] for row in layers],
        edge_paths=paths,
        node_width=node_width,
        node_height=node_height,
        direction=direction,
        crossings=crossings,
        layer_of={graph.names[v]: layer[v] for v in range(graph.n)},
    )


@dataclass
class _Graph:
    names: list[str]
    edges: list[tuple[int, int]]       # distinct, no self-loops, in given order
    loops: list[int]                   # nodes with an edge to themselves

    @property
    def n(self) -> int:
        return len(self.names)

    @classmethod
    def build(cls, nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> "_Graph":
        names = list(dict.fromkeys(nodes))
        index = {name: i for i, name in enumerate(names)}
        pairs: dict[tuple[int, int], None] = {}
        loops: dict[int, None] = {}
        for source, target in edges:
            for name in (source, target):
                if name not in index:
                    index[name] = len(names)
                    names.append(name)
            a, b = index[source], index[target]
            if a == b:
                loops[a] = None
            else:
                pairs[(a, b)] = None
        return cls(names, list(pairs), list(loops))

    def acyclic_edges(self) -> list[tuple[int, int]]:
        """Each edge as (upper, lower) in a topological order: an edge closing a cycle comes out reversed."""
        n = self.n
        out: list[list[int]] = [[] for _ in range(n)]
        waiting = [0] * n
        for a, b in self.edges:
            out[a].append(b)
            waiting[b] += 1
        rank = [-1] * n
        ready = deque(v for v in range(n) if waiting[v] == 0)
        placed = 0
        scan = 0
        while placed < n:
            if not ready:
                # Only cycles are left: take the first unplaced node as if its remaining parents came later.
                while rank[scan] != -1:
                    scan += 1
                waiting[scan] = 0
                ready.append(scan)
            v = ready.popleft()
            if rank[v] != -1:
                continue
            rank[v] = placed
            placed += 1
            for w in out[v]:
                waiting[w] -= 1
                if waiting[w] == 0 and rank[w] == -1:
                    ready.append(w)
        return [(a, b) if rank[a] < rank[b] else (b, a) for a, b in self.edges]


def _longest_path_layers(n: int, forward: list[tuple[int, int]]) -> list[int]:
    """Each node's layer: the length of the longest path reaching it from a node without parents."""
    out: list[list[int]] = [[] for _ in range(n)]
    waiting = [0] * n
    for a, b in forward:
        out[a].append(b)
        waiting[b] += 1
    layer = [0] * n
    ready = deque(v for v in range(n) if waiting[v] == 0)
    while ready:
        v = ready.popleft()
        below = layer[v] + 1
        for w in out[v]:
            if layer[w] < below:
                layer[w] = below
            waiting[w] -= 1
            if waiting[w] == 0:
                ready.append(w)
    return layer


@dataclass
class _Chains:
    """Nodes plus dummy vertices: an edge spanning k layers becomes a chain through k-1 dummies.

    Vertices ``0..n-1`` are the graph's nodes, the rest dummies. ``up``/``down`` link each vertex to its
    neighbours one layer above/below; an edge too long for the dummy budget has no chain and no links.
    """

    count: int
    up: list[list[int]]
    down: list[list[int]]
    vertex_layer: list[int]
    route: dict[tuple[int, int], list[int]]   # forward edge -> its dummies, top to bottom

    @classmethod
    def build(cls, n: int, forward: list[tuple[int, int]], layer: list[int], budget: int) -> "_Chains":
        up: list[list[int]] = [[] for _ in range(n)]
        down: list[list[int]] = [[] for _ in range(n)]
        vertex_layer = list(layer)
        route: dict[tuple[int, int], list[int]] = {}
        spans = sorted(range(len(forward)), key=lambda i: layer[forward[i][1]] - layer[forward[i][0]])
        used = 0
        for i in spans:
            a, b = forward[i]
            span = layer[b] - layer[a]
            if span > 1 and used + span - 1 > budget:
                route[(a, b)] = []
                continue
            dummies: list[int] = []
            previous = a
            for depth in range(layer[a] + 1, layer[b]):
                v = len(vertex_layer)
                vertex_layer.append(depth)
                up.append([previous])
                down.append([])
                down[previous].append(v)
                dummies.append(v)
                previous = v
            used += len(dummies)
            down[previous].append(b)
            up[b].append(previous)
            route[(a, b)] = dummies
        return cls(len(vertex_layer), up, down, vertex_layer, route)


def _initial_layers(chains: _Chains, layer: list[int], connected: list[bool]) -> list[list[int]]:
    """Layers filled in depth-first order from the top layer's jobs (in the order given), which keeps each
    family together and gives the barycenter sweeps a start without needless crossings."""
    depth = max((chains.vertex_layer[v] for v in range(chains.count) if v >= len(layer) or connected[v]),
                default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(depth)]
    seen = [False] * chains.count
    down = chains.down
    for root in range(len(layer)):
        if seen[root] or not connected[root] or chains.up[root]:
            continue
        seen[root] = True
        stack = [root]
        while stack:
            v = stack.pop()
            layers[chains.vertex_layer[v]].append(v)
            for w in reversed(down[v]):
                if not seen[w]:
                    seen[w] = True
                    stack.append(w)
    return layers


def _order_layers(layers: list[list[int]], chains: _Chains) -> int:
    """Reorder each layer by barycenter sweeps; keep the order with the fewest crossings, return that count."""
    pos = [0] * chains.count
    for row in layers:
        for i, v in enumerate(row):
            pos[v] = i
    if len(layers) < 2:
        return 0
    downwards = list(range(1, len(layers)))
    upwards = list(range(len(layers) - 2, -1, -1))
    _sweep(layers, downwards, chains.up, pos, -1)        # a first order from the given order of the top layer
    small = _transpose_work(layers, chains) <= _TRANSPOSE_WORK
    narrow = small and _sift_work(layers, chains) <= _SIFT_WORK
    if small:
        _transpose(layers, chains, pos)
    best = _crossings(layers, chains.down, pos)
    best_layers = [row[:] for row in layers]
    stale = 0
    for _ in range(_SWEEPS):
        if best == 0 or stale >= _PATIENCE:
            break
        _sweep(layers, upwards, chains.down, pos, +1)
        _sweep(layers, downwards, chains.up, pos, -1)
        if narrow:
            _sift(layers, chains, pos)
        if small:
            _transpose(layers, chains, pos)
        count = _crossings(layers, chains.down, pos)
        # A round that removes under 1% of the crossings counts as no progress, but its order is still kept.
        stale = stale + 1 if count > best * _PROGRESS else 0
        if count < best:
            best, best_layers = count, [row[:] for row in layers]
    for i, row in enumerate(best_layers):
        layers[i][:] = row
        for j, v in enumerate(row):
            pos[v] = j
    return best


def _sweep(layers: list[list[int]], rows: list[int], neighbours: list[list[int]], pos: list[int],
          side: int) -> None:
    """Sort each of ``rows`` (in turn) by the mean position of its neighbours in layer ``row + side``."""
    for i in rows:
        row = layers[i]
        if not row:
            continue
        fixed = layers[i + side]
        scale = len(fixed) / len(row) if fixed else 1.0
        key: dict[int, float] = {}
        for v in row:
            ns = neighbours[v]
            k = len(ns)
            if k == 1:
                key[v] = pos[ns[0]]
            elif k:
                key[v] = sum([pos[u] for u in ns]) / k
            else:
                key[v] = pos[v] * scale
        row.sort(key=key.__getitem__)
        for i, v in enumerate(row):
            pos[v] = i


def _transpose_work(layers: list[list[int]], chains: _Chains) -> int:
    up, down = chains.up, chains.down
    return sum(4 + (len(up[v]) + len(down[v])) * (len(up[w]) + len(down[w]))
               for row in layers for v, w in zip(row, row[1:]))


def _sift_work(layers: list[list[int]], chains: _Chains) -> int:
    up, down = chains.up, chains.down
    return sum(sum(len(up[v]) for v in row) ** 2 + sum(len(down[v]) for v in row) ** 2 for row in layers)


def _transpose(layers: list[list[int]], chains: _Chains, pos: list[int], rounds: int = 4) -> None:
    """Swap neighbours in a layer while that removes crossings with the layers above and below."""
    up, down = chains.up, chains.down
    for _ in range(rounds):
        improved = False
        for row in layers:
            if len(row) < 2:
                continue
            above = [sorted([pos[u] for u in up[v]]) for v in row]
            below = [sorted([pos[u] for u in down[v]]) for v in row]
            for i in range(len(row) - 1):
                kept = _ahead(above[i], above[i + 1]) + _ahead(below[i], below[i + 1])
                swapped = _ahead(above[i + 1], above[i]) + _ahead(below[i + 1], below[i])
                if swapped < kept:
                    v, w = row[i], row[i + 1]
                    row[i], row[i + 1] = w, v
                    pos[v], pos[w] = i + 1, i
                    above[i], above[i + 1] = above[i + 1], above[i]
                    below[i], below[i + 1] = below[i + 1], below[i]
                    improved = True
        if not improved:
            return


def _sift(layers: list[list[int]], chains: _Chains, pos: list[int]) -> None:
    """Move each vertex, one at a time, to the place in its layer where its edges cross the fewest others."""
    up, down = chains.up, chains.down
    for row in layers:
        if len(row) < 2:
            continue
        # While one layer is sifted the others stay put, so the crossings of every pair can be counted once.
        above = {v: sorted([pos[u] for u in up[v]]) for v in row}
        below = {v: sorted([pos[u] for u in down[v]]) for v in row}
        ahead: dict[tuple[int, int], int] = {}      # (v, w): crossings with v placed before w
        for v in row:
            for w in row:
                if v != w:
                    ahead[(v, w)] = _ahead(above[v], above[w]) + _ahead(below[v], below[w])
        for v in list(row):
            rest = [w for w in row if w != v]
            best_at, best, running = 0, 0, 0
            for j, w in enumerate(rest):
                running += ahead[(w, v)] - ahead[(v, w)]
                if running < best:
                    best, best_at = running, j + 1
            rest.insert(best_at, v)
            row[:] = rest
        for j, w in enumerate(row):
            pos[w] = j


def _ahead(first: list[int], second: list[int]) -> int:
    """Crossings of edges ending at sorted positions ``first`` with those ending at ``second``, placed after."""
    if not first or not second:
        return 0
    if len(second) == 1:
        q = second[0]
        return len(first) - bisect_right(first, q)
    return sum([bisect_left(second, p) for p in first])


def _crossings(layers: list[list[int]], down: list[list[int]], pos: list[int]) -> int:
    """Edge crossings between consecutive layers (inversions of child positions in parent order)."""
    total = 0
    for row in layers[:-1]:
        seen: list[int] = []
        for u in row:
            ds = down[u]
            if len(ds) == 1:
                p = pos[ds[0]]
                total += len(seen) - bisect_right(seen, p)
                insort(seen, p)
                continue
            targets = sorted([pos[v] for v in ds])
            count = len(seen)
            for p in targets:
                total += count - bisect_right(seen, p)
            for p in targets:
                insort(seen, p)
    return total


def _add_isolated_jobs(layers: list[list[int]], layer: list[int], connected: list[bool], chains: _Chains) -> None:
    """Put jobs without edges at the end of layers, filling rows no wider than the widest one already there."""
    isolated = [v for v in range(len(layer)) if not connected[v]]
    if not isolated:
        return
    widest = max((len(row) for row in layers), default=0)
    room = max(widest, math.ceil(math.sqrt(len(isolated))), 1)
    i = 0
    for v in isolated:
        while i < len(layers) and len(layers[i]) >= room:
            i += 1
        if i == len(layers):
            layers.append([])
        layers[i].append(v)
        layer[v] = i
        chains.vertex_layer[v] = i


def _place_in_layers(layers: list[list[int]], chains: _Chains, sizes: list[float], gap: float,
                     n: int) -> list[float]:
    """Breadth coordinates: each vertex as near its neighbours' mean as the layer's order and spacing allow."""
    x = [0.0] * chains.count
    is_dummy = [v >= n for v in range(chains.count)]
    offsets: list[list[float]] = []
    for row in layers:
        offset = [0.0] * len(row)
        for i in range(1, len(row)):
            a, b = row[i - 1], row[i]
            space = gap if not (is_dummy[a] or is_dummy[b]) else gap / 2
            offset[i] = offset[i - 1] + (sizes[a] + sizes[b]) / 2 + space
        offsets.append(offset)
        middle = offset[-1] / 2 if row else 0.0
        for v, o in zip(row, offset):
            x[v] = o - middle
    both = [u + d for u, d in zip(chains.up, chains.down)]
    order = list(range(len(layers)))
    plan = []
    for _ in range(_PLACEMENT_ROUNDS):
        plan.append((order[1:], chains.up))
        plan.append((order[-2::-1], chains.down))
    plan.append((order, both))
    for rows, neighbours in plan:
        for i in rows:
            row = layers[i]
            if not row:
                continue
            wanted: list[float] = []
            weight: list[float] = []
            for v in row:
                ns = neighbours[v]
                k = len(ns)
                if k:
                    wanted.append(x[ns[0]] if k == 1 else sum([x[u] for u in ns]) / k)
                    weight.append(_DUMMY_WEIGHT if is_dummy[v] else 1.0)
                else:
                    wanted.append(x[v])
                    weight.append(_LOOSE_WEIGHT)
            for v, value in zip(row, _spaced_fit(wanted, weight, offsets[i])):
                x[v] = value
    _straighten(layers, chains, x, offsets)
    return x


def _straighten(layers: list[list[int]], chains: _Chains, x: list[float], offsets: list[list[float]]) -> None:
    """Line up each long edge's bends on their median, as far as the room beside each bend allows."""
    where: dict[int, tuple[int, int]] = {}
    for i, row in enumerate(layers):
        for j, v in enumerate(row):
            where[v] = (i, j)
    for dummies in chains.route.values():
        if not dummies:
            continue
        target = sorted(x[d] for d in dummies)[len(dummies) // 2]
        for d in dummies:
            i, j = where[d]
            row, offset = layers[i], offsets[i]
            low = x[row[j - 1]] + offset[j] - offset[j - 1] if j > 0 else -math.inf
            high = x[row[j + 1]] - (offset[j + 1] - offset[j]) if j + 1 < len(row) else math.inf
            x[d] = min(max(target, low), high)


def _spaced_fit(wanted: list[float], weight: list[float], offset: list[float]) -> list[float]:
    """Positions in order, each pair at least its spacing apart, nearest (weighted least squares) to ``wanted``.

    With ``y_i = x_i - offset_i`` the spacing rule becomes ``y`` non-decreasing: an isotonic regression, solved by
    pooling adjacent violators.
    """
    sums: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for target, w, o in zip(wanted, weight, offset):
        s, ww, k = (target - o) * w, w, 1
        while sums and sums[-1] / weights[-1] > s / ww:
            s += sums.pop()
            ww += weights.pop()
            k += sizes.pop()
        sums.append(s)
        weights.append(ww)
        sizes.append(k)
    result: list[float] = []
    i = 0
    for s, ww, k in zip(sums, weights, sizes):
        y = s / ww
        for _ in range(k):
            result.append(y + offset[i])
            i += 1
    return result


def _edge_paths(graph: _Graph, oriented: list[tuple[int, int]], chains: _Chains, layer: list[int], x: list[float], band: list[float],
                breadth: float, depth: float, at: Any) -> dict[tuple[str, str], list[Point]]:
    """Polylines from each edge's parent to its child: out of the parent's far side, vertically through each
    dummy's band, into the child's near side. Ports spread along a side so parallel edges stay apart."""
    half = depth / 2
    out_port = _ports(graph.n, chains.down, x, breadth)
    in_port = _ports(graph.n, chains.up, x, breadth)
    paths: dict[tuple[str, str], list[Point]] = {}
    for (a, b), (top, bottom) in zip(graph.edges, oriented):
        reversed_edge = top != a
        dummies = chains.route[(top, bottom)]
        first = dummies[0] if dummies else bottom
        last = dummies[-1] if dummies else top
        points = [at(x[top] + out_port.get((top, first), 0.0), band[layer[top]] + half)]
        for d in dummies:
            centre = band[chains.vertex_layer[d]]
            points.append(at(x[d], centre - half))
            points.append(at(x[d], centre + half))
        points.append(at(x[bottom] + in_port.get((bottom, last), 0.0), band[layer[bottom]] - half))
        if reversed_edge:
            points.reverse()
        paths[(graph.names[a], graph.names[b])] = points
    for v in graph.loops:
        b, d = x[v] + breadth / 2, band[layer[v]]
        reach = min(breadth, depth) / 2
        paths[(graph.names[v], graph.names[v])] = [
            at(b, d - depth / 4), at(b + reach, d - depth / 4), at(b + reach, d + depth / 4), at(b, d + depth / 4)]
    return paths


def _ports(n: int, neighbours: list[list[int]], x: list[float], breadth: float) -> dict[tuple[int, int], float]:
    """Offsets along a node's side for its edges to one neighbouring layer, ordered like their other ends."""
    ports: dict[tuple[int, int], float] = {}
    spread = breadth * 0.6
    for v in range(n):
        ns = neighbours[v]
        if len(ns) < 2:
            continue
        ordered = sorted(ns, key=x.__getitem__)
        step = spread / (len(ordered) - 1)
        for i, u in enumerate(ordered):
            ports[(v, u)] = -spread / 2 + i * step
    return ports
