// The graph view: the DAG as laid out by the server (cc_core.layout), drawn once as SVG; events then change only
// each node's class (its colour), progress bar and state line.

import { percent } from "./format.js";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
const CHAR_WIDTH = 7.2;

function fit(text, room) {
  const most = Math.max(3, Math.floor(room / CHAR_WIDTH));
  return text.length <= most ? text : `${text.slice(0, most - 1)}…`;
}

function arrow(points) {
  const [x1, y1] = points[points.length - 2];
  const [x2, y2] = points[points.length - 1];
  const length = Math.hypot(x2 - x1, y2 - y1) || 1;
  const ux = (x2 - x1) / length, uy = (y2 - y1) / length;
  const bx = x2 - ux * 8, by = y2 - uy * 8;
  return `M${x2} ${y2}L${(bx - uy * 4).toFixed(1)} ${(by + ux * 4).toFixed(1)}` +
    `L${(bx + uy * 4).toFixed(1)} ${(by - ux * 4).toFixed(1)}Z`;
}

export class JobGraph {
  constructor(svg, { onSelect }) {
    this.svg = svg;
    this.nodes = new Map();
    this.layout = null;
    this.scale = 1;
    svg.addEventListener("click", (event) => {
      const node = event.target.closest("g.node");
      if (node) onSelect(node.dataset.job);
    });
  }

  get drawn() {
    return this.layout !== null;
  }

  draw(layout, jobs) {
    this.layout = layout;
    const w = layout.node_width, h = layout.node_height;
    const edges = [], arrows = [];
    for (const edge of layout.edges) {
      const pts = edge.points;
      if (pts.length < 2) continue;
      edges.push(`M${pts[0][0]} ${pts[0][1]}` + pts.slice(1).map(([x, y]) => `L${x} ${y}`).join(""));
      arrows.push(arrow(pts));
    }
    const parts = [
      `<path class="edges" d="${edges.join("")}"/>`,
      `<path class="arrows" d="${arrows.join("")}"/>`,
      '<g class="nodes">',
    ];
    for (const node of layout.nodes) {
      const x = (node.x - w / 2).toFixed(1), y = (node.y - h / 2).toFixed(1);
      parts.push(
        `<g class="node state-ready" data-job="${escape(node.name)}" transform="translate(${x},${y})">` +
        `<title>${escape(node.name)}</title>` +
        `<rect class="box" width="${w}" height="${h}" rx="6"/>` +
        `<rect class="track" x="6" y="${h - 8}" width="${w - 12}" height="4" rx="2"/>` +
        `<rect class="fill" x="6" y="${h - 8}" width="0" height="4" rx="2"/>` +
        `<text class="name" x="8" y="15">${escape(fit(node.name, w - 16))}</text>` +
        `<text class="sub" x="8" y="${h - 13}">ready</text></g>`);
    }
    parts.push("</g>");
    this.svg.setAttribute("viewBox", `0 0 ${layout.width} ${layout.height}`);
    this.svg.innerHTML = parts.join("");
    this.nodes.clear();
    for (const g of this.svg.querySelectorAll("g.node")) {
      this.nodes.set(g.dataset.job, {
        g, fill: g.querySelector("rect.fill"), sub: g.querySelector("text.sub"), state: "ready", label: "ready",
      });
    }
    this.zoom("fit");
    this.update(jobs);
  }

  // Returns false when a job has no node (the run's jobs changed): the caller fetches a new layout.
  update(jobs) {
    if (!this.layout) return true;
    const room = this.layout.node_width - 12;
    let complete = true;
    for (const job of jobs) {
      const node = this.nodes.get(job.name);
      if (!node) {
        complete = false;
        continue;
      }
      if (node.state !== job.state) {
        node.state = job.state;
        node.g.setAttribute("class", `node state-${job.state}`);
      }
      const p = percent(job);
      const width = p === null ? "0" : (room * p / 100).toFixed(1);
      if (node.fill.getAttribute("width") !== width) node.fill.setAttribute("width", width);
      const done = job.origin ? `done (${job.origin.how})` : "done";   // carried or cached: from another run
      const label = job.state === "done" ? done : p === null ? job.state : `${job.state} · ${Math.round(p)}%`;
      if (node.label !== label) {
        node.label = label;
        node.sub.textContent = label;
      }
    }
    return complete;
  }

  zoom(how) {
    if (!this.layout) return;
    const container = this.svg.parentElement;
    if (how === "in") this.scale *= 1.25;
    else if (how === "out") this.scale /= 1.25;
    else this.scale = Math.min(1, Math.max(0.15, (container.clientWidth - 8) / this.layout.width || 1));
    this.svg.setAttribute("width", Math.round(this.layout.width * this.scale));
    this.svg.setAttribute("height", Math.round(this.layout.height * this.scale));
  }
}
