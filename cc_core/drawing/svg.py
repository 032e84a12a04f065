"""A workflow's graph as SVG: each job a box coloured by its state, with its progress, arrows for dependencies.

Written directly as text from :func:`cc_core.drawing.layout.layout_graph`, so exporting needs no graphviz. Every job is a
``<g class="job state-<state>" data-job="<name>">`` so a browser can restyle or update it in place; a ``<title>``
in each gives the tooltip.
"""

from __future__ import annotations

import re
from html import escape
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from cc_core.drawing.layout import GraphLayout, layout_graph

if TYPE_CHECKING:
    from cc_core.workflow.model import WorkflowSpec
    from cc_core.store.base import JobRecord

DEFAULT_COLORS: Mapping[str, str] = MappingProxyType({
    "ready": "#f5f5f5",
    "preparing": "#fde7c8",
    "queued": "#fff3cd",
    "running": "#cce5ff",
    "retrying": "#ffe0b2",
    "done": "#ccffcc",
    "failed": "#ffcccc",
    "killed": "#e0c0ff",
    "skipped": "#e0e0e0",
})
UNKNOWN_STATE_COLOR = "#ffffff"
# Done jobs whose result comes from another run (docs/states.md): their own colour, a dashed border, and a place in
# the legend only when the run has them.
FROM_ELSEWHERE_COLORS: Mapping[str, str] = MappingProxyType({
    "done (carried)": "#e6f4e6",
    "done (cached)": "#cce8f4",
})

_EMPTY: Mapping[str, str] = MappingProxyType({})
_CHAR_WIDTH = 7.2           # average width of one character at the 13 px font used for job labels
_FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"
_HEADER_TITLE = 28.0
_HEADER_LEGEND = 26.0
_MARGIN = 16.0
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_IN_CLASS = re.compile(r"[^A-Za-z0-9_-]")

_STYLE = (
    ".job .box{stroke:#555;stroke-width:1}"
    ".job:hover .box{stroke:#000;stroke-width:2}"
    ".job text{pointer-events:none}"
    ".edge{fill:none;stroke:#666;stroke-width:1.2}"
    ".progress-track{fill:#ffffff;fill-opacity:0.7}"
    ".progress-bar{fill:#2e7d32}"
    ".job.state-done__cached_ .box,.job.state-done__carried_ .box{stroke-dasharray:5 3}"
)


def render_svg(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    *,
    states: Mapping[str, str] = _EMPTY,
    progress: Mapping[str, Optional[float]] = MappingProxyType({}),
    labels: Mapping[str, str] = _EMPTY,
    colors: Optional[Mapping[str, str]] = None,
    title: Optional[str] = None,
    layout: Optional[GraphLayout] = None,
    details: Mapping[str, str] = _EMPTY,
) -> str:
    """The graph as a standalone SVG document. Each job is drawn once; jobs named only in ``edges`` too.

    :param states: each job's state (``ready`` when missing); it picks the fill colour and the ``state-*`` class.
    :param progress: 0..100 per job; a thin bar shows it when known.
    :param labels: text shown in a job's box instead of its name.
    :param colors: fill colour per state, over the defaults (as a workflow file's ``colors:`` gives them).
    :param layout: a layout made earlier (for the same nodes and edges); made here when not given.
    :param details: extra tooltip lines per job (e.g. host and job type).
    """
    nodes = list(dict.fromkeys([*nodes, *(name for edge in edges for name in edge)]))
    palette = dict(DEFAULT_COLORS)
    for state, color in (colors or {}).items():
        palette[_state_name(state)] = str(color)
    state_of = {name: _state_name(states.get(name, "ready")) for name in nodes}
    for state in FROM_ELSEWHERE_COLORS:
        if state in state_of.values() and state not in palette:
            palette[state] = FROM_ELSEWHERE_COLORS[state]
    text_of = {name: _clean(str(labels.get(name) or name)) for name in nodes}
    if layout is None:
        longest = max((len(t) for t in text_of.values()), default=0)
        layout = layout_graph(nodes, edges, node_width=min(max(longest * _CHAR_WIDTH + 24, 96.0), 240.0),
                              node_height=40.0)

    legend_states = list(palette)
    for state in state_of.values():
        if state not in palette:
            legend_states.append(state)
    legend, legend_width = _legend(legend_states, palette, top=_MARGIN / 2 + (_HEADER_TITLE if title else 0.0))
    header = (_HEADER_TITLE if title else 0.0) + _HEADER_LEGEND + _MARGIN / 2
    width = max(layout.width, legend_width + 2 * _MARGIN)
    height = header + layout.height

    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cc-workflow" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{_FONT}" font-size="13">',
    ]
    if title:
        out.append(f"<title>{_text(title)}</title>")
    out.append(
        "<defs>"
        '<marker id="cc-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#666"/></marker>'
        f"<style>{_STYLE}</style>"
        "</defs>"
    )
    out.append(f'<rect class="background" x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>')
    if title:
        out.append(f'<text class="title" x="{_n(_MARGIN)}" y="{_n(_MARGIN / 2 + 18)}" font-size="17" '
                   f'font-weight="bold">{_text(title)}</text>')
    out.extend(legend)
    out.append(f'<g class="graph" transform="translate(0,{_n(header)})">')
    out.append('<g class="edges">')
    for (source, target), points in layout.edge_paths.items():
        d = "M" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points)
        out.append(f'<path class="edge" data-source="{_attr(source)}" data-target="{_attr(target)}" d="{d}" '
                   'marker-end="url(#cc-arrow)"/>')
    out.append("</g>")
    out.append('<g class="jobs">')
    for name in nodes:
        if name in layout.positions:
            out.append(_job(name, layout, state_of[name], palette, text_of[name], progress.get(name),
                            details.get(name)))
    out.append("</g>")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def workflow_svg(spec: "WorkflowSpec", jobs: Optional[Sequence["JobRecord"]] = None) -> str:
    """The workflow's graph as SVG; with the jobs of a run, coloured by their states and showing progress."""
    states: dict[str, str] = {}
    progress: dict[str, Optional[float]] = {}
    for record in jobs or ():
        states[record.name] = _state_name(record.state)
        if record.origin and record.state.value == "done":
            states[record.name] = f"done ({record.origin.get('how')})"
        progress[record.name] = record.progress
    labels = job_labels(spec, jobs)
    details = {name: f"{job.kind} on {job.host}" for name, job in spec.jobs.items()}
    return render_svg(list(spec.jobs), spec.edges(), states=states, progress=progress, labels=labels,
                      colors=spec.colors or None, title=spec.name, details=details)


def job_labels(spec: "WorkflowSpec", jobs: Optional[Sequence["JobRecord"]] = None) -> dict[str, str]:
    """Each labelled job's label, its placeholders (``{name}``, ``{progress}``, ``{now.%H--%M}``, ...) filled from
    the job and, when given, its record in a run (see :mod:`cc_core.drawing.labels`)."""
    from cc_core.drawing.labels import LabelTimes, fill_label, has_placeholders

    records = {record.name: record for record in jobs or ()}
    starts = [r.started for r in records.values() if r.started is not None]
    ends = [r.ended for r in records.values() if r.ended is not None]
    run_ended = max(ends) if records and len(ends) == len(records) else None
    labels: dict[str, str] = {}
    for name, job in spec.jobs.items():
        if not job.label:
            continue
        if not has_placeholders(job.label):
            labels[name] = job.label
            continue
        record = records.get(name)
        fields: dict[str, Any] = {**job.model_dump(exclude={"env", "options", "parameters"}), "status": "ready",
                                  "progress": 0, "exit_code": None}
        times = LabelTimes(run_started=min(starts) if starts else None, run_ended=run_ended)
        if record is not None:
            fields.update(status=_state_name(record.state), state=_state_name(record.state),
                          progress=record.progress or 0, exit_code=record.exit_code, attempt=record.attempt,
                          message=record.message or "")
            times.started, times.ended = record.started, record.ended
            times.created = times.modified = record.submitted
        labels[name] = " · ".join(line for line in fill_label(job.label, fields, times).splitlines() if line)
    return labels


def _job(name: str, layout: GraphLayout, state: str, palette: Mapping[str, str], label: str,
         progress: Optional[float], detail: Optional[str]) -> str:
    cx, cy = layout.positions[name]
    w, h = layout.node_width, layout.node_height
    left, top = cx - w / 2, cy - h / 2
    fill = palette.get(state, UNKNOWN_STATE_COLOR)
    tip = [name]
    if label != name:
        tip.append(label)
    tip.append(f"state: {state}")
    if progress is not None:
        tip.append(f"progress: {_percent(progress)}")
    if detail:
        tip.append(detail)
    shown = _fit(label, w - 16)
    parts = [
        f'<g class="job state-{_NOT_IN_CLASS.sub("_", state)}" data-job="{_attr(name)}" data-state="{_attr(state)}">',
        f"<title>{_text(chr(10).join(tip))}</title>",
        f'<rect class="box" x="{_n(left)}" y="{_n(top)}" width="{_n(w)}" height="{_n(h)}" rx="6" ry="6" '
        f'fill="{_attr(fill)}"/>',
        f'<text class="label" x="{_n(cx)}" y="{_n(cy - (3 if progress is not None else 0))}" '
        f'text-anchor="middle" dominant-baseline="central">{_text(shown)}</text>',
    ]
    if progress is not None:
        value = min(max(float(progress), 0.0), 100.0)
        bar_width = w - 16
        bar_top = top + h - 9
        parts.append(f'<rect class="progress-track" x="{_n(left + 8)}" y="{_n(bar_top)}" width="{_n(bar_width)}" '
                     'height="4" rx="2"/>')
        parts.append(f'<rect class="progress-bar" x="{_n(left + 8)}" y="{_n(bar_top)}" '
                     f'width="{_n(bar_width * value / 100)}" height="4" rx="2" data-progress="{_n(value)}"/>')
    parts.append("</g>")
    return "".join(parts)


def _legend(states: Sequence[str], palette: Mapping[str, str], top: float) -> tuple[list[str], float]:
    parts = ['<g class="legend">']
    x = _MARGIN
    for state in states:
        fill = palette.get(state, UNKNOWN_STATE_COLOR)
        parts.append(
            f'<g class="legend-item state-{_NOT_IN_CLASS.sub("_", state)}">'
            f'<rect x="{_n(x)}" y="{_n(top + 4)}" width="12" height="12" rx="2" fill="{_attr(fill)}" '
            'stroke="#555" stroke-width="1"/>'
            f'<text x="{_n(x + 17)}" y="{_n(top + 10)}" dominant-baseline="central" font-size="12">'
            f"{_text(state)}</text></g>")
        x += 17 + len(state) * 6.8 + 14
    parts.append("</g>")
    return parts, x - _MARGIN


def _state_name(state: object) -> str:
    return _clean(str(getattr(state, "value", state))).strip().lower() or "ready"


def _fit(text: str, room: float) -> str:
    most = max(int(room / _CHAR_WIDTH), 4)
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def _percent(value: float) -> str:
    return f"{_n(min(max(float(value), 0.0), 100.0))}%"


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold at all (control characters other than tab and newlines)."""
    return _NOT_IN_XML.sub("", text)


def _text(text: str) -> str:
    return escape(_clean(text), quote=False)


def _attr(text: str) -> str:
    return escape(_clean(text), quote=True)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
