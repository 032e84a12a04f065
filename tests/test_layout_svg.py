"""The layered graph layout and the SVG export: geometry, crossings, states, colours, escaping, size."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cc_core.drawing.layout import GraphLayout, layout_graph
from cc_core.workflow.model import JobSpec, WorkflowSpec
from cc_core.states import JobState
from cc_core.store.base import JobRecord
from cc_core.drawing.svg import DEFAULT_COLORS, render_svg, workflow_svg

SVG = "{http://www.w3.org/2000/svg}"


def random_dag(count: int, seed: int, most_parents: int = 3) -> tuple[list[str], list[tuple[str, str]]]:
    rnd = random.Random(seed)
    names = [f"job-{i}.x_{seed}" for i in range(count)]
    edges: set[tuple[str, str]] = set()
    for i in range(1, count):
        for _ in range(rnd.randint(0, most_parents)):
            edges.add((names[rnd.randrange(max(0, i - 15), i)], names[i]))
    order = names[:]
    rnd.shuffle(order)
    return order, sorted(edges)


def layered_dag(layers: int, width: int, parents: int, seed: int = 7) -> tuple[list[str], list[tuple[str, str]]]:
    """``layers`` rows of ``width`` jobs, each depending on a few jobs of the rows just above."""
    rnd = random.Random(seed)
    names = [[f"l{layer}-j{i}" for i in range(width)] for layer in range(layers)]
    edges = []
    for layer in range(1, layers):
        for name in names[layer]:
            for _ in range(parents):
                above = layer - rnd.randint(1, min(2, layer))
                edges.append((names[above][rnd.randrange(width)], name))
    return [n for row in names for n in row], edges


def boxes_overlap(layout: GraphLayout, a: str, b: str) -> bool:
    (ax, ay), (bx, by) = layout.positions[a], layout.positions[b]
    return abs(ax - bx) < layout.node_width and abs(ay - by) < layout.node_height


def inside_a_box(layout: GraphLayout, point: tuple[float, float], besides: set[str]) -> str | None:
    x, y = point
    for name, (cx, cy) in layout.positions.items():
        if name in besides:
            continue
        if abs(x - cx) < layout.node_width / 2 - 0.5 and abs(y - cy) < layout.node_height / 2 - 0.5:
            return name
    return None


def crossings_between_rows(layout: GraphLayout, edges: list[tuple[str, str]]) -> int:
    """Crossings of straight edges between consecutive rows, counted from the drawn x positions."""
    pos = layout.positions
    segments = [(pos[a][0], pos[b][0], pos[a][1]) for a, b in edges]
    count = 0
    for i, (a1, b1, y1) in enumerate(segments):
        for a2, b2, y2 in segments[i + 1:]:
            if y1 == y2 and (a1 - a2) * (b1 - b2) < 0:
                count += 1
    return count


# ---------------------------------------------------------------- layout


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_parents_are_above_their_children_and_no_boxes_overlap(seed: int) -> None:
    nodes, edges = random_dag(150, seed)
    layout = layout_graph(nodes, edges, node_width=120, node_height=36)
    assert set(layout.positions) == set(nodes)
    for parent, child in edges:
        assert layout.positions[parent][1] + 36 <= layout.positions[child][1], (parent, child)
    by_row = sorted(nodes, key=lambda n: layout.positions[n])
    for i, a in enumerate(by_row):
        for b in by_row[i + 1:]:
            assert not boxes_overlap(layout, a, b), (a, b)
    for name, (x, y) in layout.positions.items():
        assert 0 <= x - 60 and x + 60 <= layout.width, name
        assert 0 <= y - 18 and y + 18 <= layout.height, name
    assert sorted(n for row in layout.layers for n in row) == sorted(nodes)


def test_left_to_right_puts_parents_left_of_children() -> None:
    nodes, edges = random_dag(80, 5)
    layout = layout_graph(nodes, edges, node_width=100, node_height=30, direction="LR")
    for parent, child in edges:
        assert layout.positions[parent][0] + 100 <= layout.positions[child][0], (parent, child)
    with pytest.raises(ValueError, match="direction"):
        layout_graph(nodes, edges, direction="BT")  # type: ignore[arg-type]


def test_edge_paths_run_from_parent_to_child_around_other_jobs() -> None:
    # a -> e spans four layers, so its polyline bends through dummy positions between the jobs of b, c, d rows.
    nodes = ["a", "b", "c", "d", "e", "b2", "c2", "d2"]
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("a", "e"),
             ("a", "b2"), ("b2", "c2"), ("c2", "d2")]
    layout = layout_graph(nodes, edges, node_width=100, node_height=30)
    assert set(layout.edge_paths) == set(edges)
    for (parent, child), points in layout.edge_paths.items():
        assert len(points) >= 2
        px, py = layout.positions[parent]
        cx, cy = layout.positions[child]
        assert points[0][1] == pytest.approx(py + 15) and abs(points[0][0] - px) <= 50
        assert points[-1][1] == pytest.approx(cy - 15) and abs(points[-1][0] - cx) <= 50
        for point in points[1:-1]:
            assert inside_a_box(layout, point, {parent, child}) is None, (parent, child, point)
    assert len(layout.edge_paths[("a", "e")]) > 2


def test_jobs_without_edges_are_placed_too() -> None:
    nodes = ["solo", "a", "b", "alone.2", "c"]
    layout = layout_graph(nodes, [("a", "b"), ("b", "c")])
    assert set(layout.positions) == set(nodes)
    names = list(layout.positions)
    assert not any(boxes_overlap(layout, x, y) for i, x in enumerate(names) for y in names[i + 1:])

    only_isolated = [f"task_{i}" for i in range(100)]
    grid = layout_graph(only_isolated, [])
    assert len(grid.positions) == 100
    assert 5 <= len(grid.layers) <= 20, "a hundred independent jobs are drawn as a block, not one long row"
    assert not any(boxes_overlap(grid, x, y) for i, x in enumerate(only_isolated) for y in only_isolated[i + 1:])

    empty = layout_graph([], [])
    assert empty.positions == {} and empty.layers == []


def test_names_only_in_edges_are_added_and_repeated_edges_drawn_once() -> None:
    layout = layout_graph(["a"], [("a", "b"), ("a", "b"), ("b", "c")])
    assert set(layout.positions) == {"a", "b", "c"}
    assert list(layout.edge_paths) == [("a", "b"), ("b", "c")]


def test_a_cycle_is_broken_instead_of_looping() -> None:
    nodes = ["a", "b", "c", "d"]
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d"), ("b", "a")]
    layout = layout_graph(nodes, edges)
    assert set(layout.positions) == set(nodes)
    assert set(layout.edge_paths) == set(edges)
    assert len({layout.positions[n][1] for n in "abc"}) == 3
    for (parent, child), points in layout.edge_paths.items():
        if parent != child:
            # every path starts at its own parent, even when drawn against the layer order
            px, py = layout.positions[parent]
            assert abs(points[0][1] - py) == pytest.approx(layout.node_height / 2)


CROSSED_GRAPHS = {
    # Each top job feeds the middle job in reverse position, the middle ones the bottom ones shuffled.
    "reversed": [("t1", "m4"), ("t2", "m3"), ("t3", "m2"), ("t4", "m1"), ("t1", "m3"), ("t4", "m2"),
                 ("m1", "b3"), ("m2", "b1"), ("m3", "b4"), ("m4", "b2")],
    # One that a depth-first first order alone leaves with three crossings; the sweeps remove them.
    "needs-sweeps": [("t2", "m1"), ("t4", "m2"), ("t3", "m3"), ("t2", "m4"), ("t1", "m2"), ("m3", "b1"),
                     ("m3", "b2"), ("m3", "b3"), ("m1", "b4")],
}


@pytest.mark.parametrize("graph", list(CROSSED_GRAPHS))
def test_barycenter_sweeps_reduce_crossings_compared_with_the_given_order(graph: str) -> None:
    edges = CROSSED_GRAPHS[graph]
    rows = [[f"{row}{i}" for i in range(1, 5)] for row in "tmb"]
    nodes = [name for row in rows for name in row]
    column = {name: i for row in rows for i, name in enumerate(row)}
    before = 0
    for i, (a1, b1) in enumerate(edges):
        for a2, b2 in edges[i + 1:]:
            same_rows = (a1[0], b1[0]) == (a2[0], b2[0])
            if same_rows and (column[a1] - column[a2]) * (column[b1] - column[b2]) < 0:
                before += 1
    layout = layout_graph(nodes, edges)
    assert [sorted(row) for row in layout.layers] == rows
    after = crossings_between_rows(layout, edges)
    assert before >= 5
    assert after == layout.crossings
    assert after == 0, layout.layers


def test_a_tree_is_drawn_without_crossings() -> None:
    rnd = random.Random(11)
    nodes = ["root"]
    edges = []
    for i in range(1, 200):
        parent = rnd.choice(nodes)
        nodes.append(f"n{i}")
        edges.append((parent, f"n{i}"))
    rnd.shuffle(nodes)
    layout = layout_graph(nodes, edges)
    assert layout.crossings == 0
    assert crossings_between_rows(layout, edges) == 0


def test_layout_to_json_is_plain_data() -> None:
    nodes, edges = random_dag(30, 4)
    layout = layout_graph(nodes, edges)
    data = json.loads(json.dumps(layout.to_json()))
    assert {n["name"] for n in data["nodes"]} == set(nodes)
    assert {(e["source"], e["target"]) for e in data["edges"]} == set(edges)
    assert data["width"] == pytest.approx(layout.width, abs=0.1)
    assert all(len(point) == 2 for e in data["edges"] for point in e["points"])
    first = data["nodes"][0]
    assert (first["x"], first["y"]) == pytest.approx(layout.positions[first["name"]], abs=0.1)


def test_large_graphs_are_laid_out() -> None:
    nodes, edges = layered_dag(10, 100, 3)
    started = time.perf_counter()
    layout = layout_graph(nodes, edges)
    middle = time.perf_counter()
    assert len(layout.positions) == 1_000
    nodes, edges = layered_dag(20, 500, 3)
    big = layout_graph(nodes, edges)
    ended = time.perf_counter()
    print(f"\nlayout: 1,000 jobs in {middle - started:.3f} s, 10,000 jobs ({len(edges)} edges) in "
          f"{ended - middle:.3f} s")
    assert len(big.positions) == 10_000
    assert len(big.edge_paths) == len(set(edges))
    for parent, child in edges[::97]:
        assert big.positions[parent][1] < big.positions[child][1]


# ---------------------------------------------------------------- SVG


def jobs_of(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    found = {}
    for element in root.iter(f"{SVG}g"):
        if "job" in element.get("class", "").split():
            name = element.get("data-job")
            assert name is not None and name not in found
            found[name] = element
    return found


def box_of(job: ET.Element) -> ET.Element:
    return next(r for r in job.iter(f"{SVG}rect") if r.get("class") == "box")


def test_svg_has_one_element_per_job_with_its_state_and_colour() -> None:
    nodes = ["fetch", "prep-data", "train.a", "train_b", "eval", "report", "extra", "later", "never"]
    edges = [("fetch", "prep-data"), ("prep-data", "train.a"), ("prep-data", "train_b"), ("train.a", "eval"),
             ("train_b", "eval"), ("eval", "report")]
    states = {"fetch": "done", "prep-data": "done", "train.a": "running", "train_b": "failed",
              "eval": "skipped", "report": "queued", "extra": "killed", "later": "retrying"}
    svg = render_svg(nodes, edges, states=states, progress={"train.a": 40.0}, title="demo")
    jobs = jobs_of(svg)
    assert set(jobs) == set(nodes)
    for name in nodes:
        state = states.get(name, "ready")
        assert f"state-{state}" in jobs[name].get("class", "").split()
        assert box_of(jobs[name]).get("fill") == DEFAULT_COLORS[state]
    assert DEFAULT_COLORS["done"] == "#ccffcc" and DEFAULT_COLORS["running"] == "#cce5ff"
    tooltip = jobs["train.a"].find(f"{SVG}title")
    assert tooltip is not None and tooltip.text is not None
    assert "train.a" in tooltip.text and "running" in tooltip.text and "40%" in tooltip.text
    root = ET.fromstring(svg)
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]) == len(edges)
    assert root.find(f"{SVG}title").text == "demo"  # type: ignore[union-attr]
    legend = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "legend" for t in g.iter(f"{SVG}text")]
    assert legend[:9] == list(DEFAULT_COLORS)


def test_progress_bar_only_when_progress_is_known() -> None:
    svg = render_svg(["a", "b", "c"], [("a", "b")], states={"a": "running", "b": "running"},
                     progress={"a": 25, "b": None, "c": 250})
    jobs = jobs_of(svg)

    def bar(name: str) -> ET.Element | None:
        return next((r for r in jobs[name].iter(f"{SVG}rect") if r.get("class") == "progress-bar"), None)

    track_a = next(r for r in jobs["a"].iter(f"{SVG}rect") if r.get("class") == "progress-track")
    bar_a = bar("a")
    assert bar_a is not None
    assert float(bar_a.get("width", "0")) == pytest.approx(float(track_a.get("width", "0")) / 4, abs=0.1)
    assert bar("b") is None
    bar_c = bar("c")
    assert bar_c is not None and bar_c.get("data-progress") == "100"


def test_names_and_labels_are_escaped() -> None:
    nodes = ["load-data.v2_x", "a&b", 'say"hi"']
    labels = {"load-data.v2_x": "load <raw> & clean", "a&b": "x < y > z \x07 'q'"}
    svg = render_svg(nodes, [("load-data.v2_x", "a&b"), ("a&b", 'say"hi"')], labels=labels,
                     title="<my> & 'flow'", states={"a&b": "done"})
    jobs = jobs_of(svg)
    assert set(jobs) == set(nodes)
    texts = {name: "".join(t.text or "" for t in job.iter(f"{SVG}text")) for name, job in jobs.items()}
    assert texts["load-data.v2_x"] == "load <raw> & clean"
    assert texts["a&b"] == "x < y > z  'q'"
    assert texts['say"hi"'] == 'say"hi"'
    assert "<raw>" not in svg and "load &lt;raw&gt; &amp; clean" in svg
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "<my> & 'flow'"  # type: ignore[union-attr]
    edge_ends = {(p.get("data-source"), p.get("data-target")) for p in root.iter(f"{SVG}path")
                 if p.get("class") == "edge"}
    assert edge_ends == {("load-data.v2_x", "a&b"), ("a&b", 'say"hi"')}


def test_custom_colours_override_the_defaults() -> None:
    svg = render_svg(["a", "b", "c"], [("a", "b")], states={"a": "done", "b": "failed", "c": "waiting"},
                     colors={"DONE": "#123456", "waiting": "#abcdef", "failed": '"><x'})
    jobs = jobs_of(svg)
    assert box_of(jobs["a"]).get("fill") == "#123456"
    assert box_of(jobs["b"]).get("fill") == '"><x'
    assert box_of(jobs["c"]).get("fill") == "#abcdef"
    assert "state-waiting" in jobs["c"].get("class", "")
    unknown = jobs_of(render_svg(["z"], [], states={"z": "odd state"}))["z"]
    assert "state-odd_state" in unknown.get("class", "").split()
    assert box_of(unknown).get("fill") == "#ffffff"


def test_a_given_layout_is_used() -> None:
    layout = layout_graph(["a", "b"], [("a", "b")], node_width=200, node_height=50, direction="LR")
    jobs = jobs_of(render_svg(["a", "b"], [("a", "b")], layout=layout))
    assert box_of(jobs["a"]).get("width") == "200" and box_of(jobs["a"]).get("height") == "50"
    assert float(box_of(jobs["a"]).get("x", "0")) < float(box_of(jobs["b"]).get("x", "0"))


def test_workflow_svg_colours_a_run_by_its_job_records() -> None:
    spec = WorkflowSpec(
        name="wf-demo",
        colors={"done": "#CCFFCC", "running": "#0000ff"},
        jobs={
            "start": JobSpec(name="start", command="true"),
            "mid.1": JobSpec(name="mid.1", command="true", depends=["start"], label="middle <1>"),
            "end_2": JobSpec(name="end_2", command="true", depends=["mid.1"], host="hpc", kind="ssh"),
        },
    )
    plain = jobs_of(workflow_svg(spec))
    assert all("state-ready" in job.get("class", "") for job in plain.values())
    records = [
        JobRecord(run_id=1, name="start", kind="local", host="localhost", order=0, state=JobState.DONE,
                  progress=100.0),
        JobRecord(run_id=1, name="mid.1", kind="local", host="localhost", order=1, state=JobState.RUNNING,
                  progress=60.0),
        JobRecord(run_id=1, name="end_2", kind="ssh", host="hpc", order=2),
    ]
    svg = workflow_svg(spec, records)
    jobs = jobs_of(svg)
    assert box_of(jobs["start"]).get("fill") == "#CCFFCC"
    assert box_of(jobs["mid.1"]).get("fill") == "#0000ff"
    assert "state-ready" in jobs["end_2"].get("class", "")
    assert "middle <1>" in "".join(t.text or "" for t in jobs["mid.1"].iter(f"{SVG}text"))
    tip = jobs["end_2"].find(f"{SVG}title")
    assert tip is not None and "ssh on hpc" in (tip.text or "")
    assert ET.fromstring(svg).find(f"{SVG}title").text == "wf-demo"  # type: ignore[union-attr]


def test_a_large_workflow_renders() -> None:
    nodes, edges = layered_dag(10, 100, 2)
    started = time.perf_counter()
    svg = render_svg(nodes, edges, states={n: "done" for n in nodes[::3]})
    print(f"\nsvg: 1,000 jobs in {time.perf_counter() - started:.3f} s, {len(svg) // 1024} KiB")
    assert len(jobs_of(svg)) == 1_000


def test_the_svg_renders_in_a_browser(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    nodes = ["fetch", "prep-data", "train.a", "solo"]
    svg = render_svg(nodes, [("fetch", "prep-data"), ("prep-data", "train.a"), ("fetch", "train.a")],
                     states={"fetch": "done", "train.a": "running"}, progress={"train.a": 50},
                     labels={"solo": "a < b & c"}, title="browser check")
    path = tmp_path / "workflow.svg"
    path.write_text(svg, encoding="utf-8")
    shot = tmp_path / "workflow.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "parsererror" not in dom.stdout
    for name in nodes:
        assert f'data-job="{name}"' in dom.stdout
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=900,600", path.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 5_000


def test_each_job_is_drawn_once_even_when_named_twice_or_only_in_edges() -> None:
    jobs = jobs_of(render_svg(["a", "a", "b"], [("a", "b"), ("b", "c")]))
    assert sorted(jobs) == ["a", "b", "c"]
