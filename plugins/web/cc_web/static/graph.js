// The graph view: the DAG as laid out by the server (cc_core.drawing.layout), drawn on a canvas so that 10,000 jobs
// cost no more page elements than 10. Only what is in view is drawn, in levels of detail: far away each job is a
// block of its state's colour; closer, a box with its progress bar; as soon as names can be read, the jobs in view
// also get a page element with their name, state and message (at most a few hundred, whatever the graph's size).
// Drag to pan, wheel to zoom, search a job to zoom to it; a click selects a job (its log, and kill, open below).

import { percent, stateClass, stateColours, stateLabel } from "./format.js";

const LABEL_SCALE = 0.55;      // from this zoom on, names are shown (12 px text is still readable)
const BOX_SCALE = 0.2;         // from this zoom on, jobs are boxes with a border and a progress bar
const MAX_LABELS = 400;
const MIN_SCALE = 0.002;
const MAX_SCALE = 4;
const EDGE_CHUNK = 300;
const QUICK_FROM = 1500;       // graphs this big move as a picture while panned or zoomed, redrawn when still
const STILL = 140;             // ms without moving before the full drawing
const EDGE_COLOUR = "#9aa3b2";

function intersects(box, x0, y0, x1, y1) {
  return box[2] >= x0 && box[0] <= x1 && box[3] >= y0 && box[1] <= y1;
}

function arrowHead(path, points) {
  const [x1, y1] = points[points.length - 2];
  const [x2, y2] = points[points.length - 1];
  const length = Math.hypot(x2 - x1, y2 - y1) || 1;
  const ux = (x2 - x1) / length, uy = (y2 - y1) / length;
  const bx = x2 - ux * 8, by = y2 - uy * 8;
  path.moveTo(x2, y2);
  path.lineTo(bx - uy * 4, by + ux * 4);
  path.lineTo(bx + uy * 4, by - ux * 4);
  path.closePath();
}

export class JobGraph {
  constructor(area, { onSelect }) {
    this.area = area;
    this.canvas = area.querySelector("canvas");
    this.labels = area.querySelector(".graph-labels");
    this.tip = area.querySelector(".graph-tip");
    this.ctx = this.canvas.getContext("2d");
    this.onSelect = onSelect;
    this.layout = null;
    this.nodes = [];
    this.byName = new Map();
    this.chunks = [];
    this.labelled = new Map();   // job name -> its page element, for the jobs named in view
    this.jobLabels = new Map();  // job name -> its label (a workflow's label:, placeholders filled by the service)
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.frame = 0;
    this.draws = 0;
    this.selected = null;
    this.width = 0;
    this.height = 0;
    this.listen();
    new ResizeObserver(() => this.resize()).observe(area);
  }

  get drawn() {
    return this.layout !== null;
  }

  clear() {
    this.layout = null;
    this.picture = null;
    this.nodes = [];
    this.byName.clear();
    this.chunks = [];
    this.selected = null;
    for (const element of this.labelled.values()) element.remove();
    this.labelled.clear();
    this.schedule();
  }

  // Once per layout: the jobs' places and the edges as paths in chunks, each with the box it covers.
  draw(layout, jobs) {
    this.clear();
    this.layout = layout;
    this.nodes = layout.nodes.map((node) => ({ name: node.name, x: node.x, y: node.y, job: jobs.get(node.name) ||
      { name: node.name, state: "ready" } }));
    for (const node of this.nodes) this.byName.set(node.name, node);
    const edges = layout.edges.filter((edge) => edge.points.length >= 2).map((edge) => {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const [x, y] of edge.points) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
      }
      return { points: edge.points, box: [x0, y0, x1, y1] };
    });
    edges.sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
    for (let start = 0; start < edges.length; start += EDGE_CHUNK) {
      const lines = new Path2D(), heads = new Path2D();
      const box = [Infinity, Infinity, -Infinity, -Infinity];
      for (const edge of edges.slice(start, start + EDGE_CHUNK)) {
        const [first, ...rest] = edge.points;
        lines.moveTo(first[0], first[1]);
        for (const [x, y] of rest) lines.lineTo(x, y);
        arrowHead(heads, edge.points);
        box[0] = Math.min(box[0], edge.box[0]); box[1] = Math.min(box[1], edge.box[1]);
        box[2] = Math.max(box[2], edge.box[2]); box[3] = Math.max(box[3], edge.box[3]);
      }
      this.chunks.push({ lines, heads, box });
    }
    this.draws += 1;
    this.area.dataset.draws = String(this.draws);
    this.area.dataset.jobs = String(this.nodes.length);
    this.fit();
  }

  // Returns false when a job has no node (the run's jobs changed): the caller fetches a new layout.
  update(jobs) {
    if (!this.layout) return true;
    let complete = true;
    for (const job of jobs) {
      const node = this.byName.get(job.name);
      if (!node) {
        complete = false;
        continue;
      }
      node.job = job;
      const element = this.labelled.get(job.name);
      if (element) this.label(element, node);
    }
    this.schedule();
    return complete;
  }

  // ------------------------------------------------------------------------------------------ moving around
  resize() {
    const dpr = window.devicePixelRatio || 1;
    const width = this.area.clientWidth, height = this.area.clientHeight;
    if (!width || !height) return;
    const first = !this.width;
    this.width = width;
    this.height = height;
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    if (first && this.layout) this.fit();
    else this.schedule();
  }

  fit() {
    if (!this.layout) return;
    const width = this.area.clientWidth || 800, height = this.area.clientHeight || 500;
    const scale = Math.min(1.2, (width - 24) / this.layout.width, (height - 24) / this.layout.height);
    this.scale = Math.max(MIN_SCALE, scale);
    this.tx = (width - this.layout.width * this.scale) / 2;
    this.ty = Math.max(12, (height - this.layout.height * this.scale) / 2);
    this.schedule();
  }

  zoom(how, cx, cy) {
    if (!this.layout) return;
    if (how === "fit") return this.fit();
    const factor = how === "in" ? 1.25 : how === "out" ? 0.8 : Number(how) || 1;
    const x = cx ?? this.area.clientWidth / 2, y = cy ?? this.area.clientHeight / 2;
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    this.tx = x - (x - this.tx) * (scale / this.scale);
    this.ty = y - (y - this.ty) * (scale / this.scale);
    this.scale = scale;
    this.moved();
  }

  // Zoom to a job so that its name can be read, and select it.
  focus(name) {
    const node = this.byName.get(name);
    if (!node) return false;
    this.scale = Math.max(this.scale, 1);
    this.tx = this.area.clientWidth / 2 - node.x * this.scale;
    this.ty = this.area.clientHeight / 2 - node.y * this.scale;
    this.select(name);
    return true;
  }

  // Names matching a search: the exact name first, then names starting with it, then names containing it.
  find(query) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const exact = [], starts = [], contains = [];
    for (const node of this.nodes) {
      const name = node.name.toLowerCase();
      if (name === q) exact.push(node.name);
      else if (name.startsWith(q)) starts.push(node.name);
      else if (name.includes(q)) contains.push(node.name);
    }
    return [...exact, ...starts, ...contains];
  }

  select(name) {
    const old = this.selected && this.labelled.get(this.selected);
    if (old) delete old.dataset.selected;
    this.selected = name;
    const element = name && this.labelled.get(name);
    if (element) element.dataset.selected = "true";
    this.schedule();
  }

  nodeAt(clientX, clientY) {
    if (!this.layout) return null;
    const rect = this.area.getBoundingClientRect();
    const x = (clientX - rect.left - this.tx) / this.scale, y = (clientY - rect.top - this.ty) / this.scale;
    const hw = this.layout.node_width / 2, hh = this.layout.node_height / 2;
    for (const node of this.nodes) {
      if (Math.abs(node.x - x) <= hw && Math.abs(node.y - y) <= hh) return node;
    }
    return null;
  }

  listen() {
    let drag = null;
    this.area.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, tx: this.tx, ty: this.ty, moved: false };
    });
    window.addEventListener("pointermove", (event) => {
      if (drag) {
        const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
        if (!drag.moved && Math.hypot(dx, dy) < 4) return;
        if (!drag.moved) this.area.setPointerCapture?.(event.pointerId);
        drag.moved = true;
        this.tx = drag.tx + dx;
        this.ty = drag.ty + dy;
        this.tip.hidden = true;
        this.moved();
      } else if (event.target === this.canvas) {
        this.hover(event);
      }
    });
    window.addEventListener("pointerup", (event) => {
      if (!drag) return;
      const moved = drag.moved;
      drag = null;
      if (moved) return;
      const element = event.target.closest && event.target.closest(".node[data-job]");
      const name = element ? element.dataset.job : this.nodeAt(event.clientX, event.clientY)?.name;
      if (name && this.area.contains(event.target)) {
        this.select(name);
        this.onSelect(name);
      }
    });
    this.area.addEventListener("pointerleave", () => { this.tip.hidden = true; });
    this.area.addEventListener("wheel", (event) => {
      event.preventDefault();
      const rect = this.area.getBoundingClientRect();
      this.zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
    }, { passive: false });
  }

  hover(event) {
    if (this.scale >= LABEL_SCALE) {
      this.tip.hidden = true;
      return;
    }
    const node = this.nodeAt(event.clientX, event.clientY);
    if (!node) {
      this.tip.hidden = true;
      return;
    }
    const rect = this.area.getBoundingClientRect();
    const p = percent(node.job);
    this.tip.textContent = `${node.name} · ${stateLabel(node.job)}${p !== null && p < 100 ? ` · ${Math.round(p)}%` : ""}` +
      (node.job.message ? ` · ${node.job.message}` : "");
    this.tip.style.left = `${event.clientX - rect.left + 12}px`;
    this.tip.style.top = `${event.clientY - rect.top + 12}px`;
    this.tip.hidden = false;
  }

  // ------------------------------------------------------------------------------------------------ drawing
  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  // The view moved. A big graph seen from afar moves as the picture last drawn; it is drawn anew when still.
  moved() {
    const quick = this.nodes.length >= QUICK_FROM && this.scale < LABEL_SCALE && this.picture;
    if (!quick) return this.schedule();
    clearTimeout(this.still);
    this.still = setTimeout(() => this.schedule(), STILL);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.glance());
  }

  glance() {
    this.frame = 0;
    const { canvas, scale, tx, ty } = this.picture;
    const k = this.scale / scale, dpr = window.devicePixelRatio || 1;
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(k, 0, 0, k, dpr * (this.tx - k * tx), dpr * (this.ty - k * ty));
    ctx.drawImage(canvas, 0, 0);
    this.labels.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`;
  }

  // Keep what was just drawn, to move it while the view moves.
  keep() {
    if (this.nodes.length < QUICK_FROM) {
      this.picture = null;
      return;
    }
    let canvas = this.picture && this.picture.canvas;
    if (!canvas || canvas.width !== this.canvas.width || canvas.height !== this.canvas.height) {
      canvas = document.createElement("canvas");
      canvas.width = this.canvas.width;
      canvas.height = this.canvas.height;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(this.canvas, 0, 0);
    this.picture = { canvas, scale: this.scale, tx: this.tx, ty: this.ty };
  }

  render() {
    this.frame = 0;
    clearTimeout(this.still);
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    if (!this.layout) return;
    const s = this.scale, w = this.layout.node_width, h = this.layout.node_height;
    const x0 = -this.tx / s, y0 = -this.ty / s, x1 = (this.width - this.tx) / s, y1 = (this.height - this.ty) / s;
    ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * this.tx, dpr * this.ty);

    ctx.strokeStyle = EDGE_COLOUR;
    ctx.fillStyle = EDGE_COLOUR;
    ctx.lineWidth = Math.max(1.2, 1 / s);   // about one pixel on the screen, however far away
    ctx.globalAlpha = s < BOX_SCALE ? 0.35 : 0.9;
    for (const chunk of this.chunks) {
      if (!intersects(chunk.box, x0, y0, x1, y1)) continue;
      ctx.stroke(chunk.lines);
      if (s >= BOX_SCALE) ctx.fill(chunk.heads);
    }
    ctx.globalAlpha = 1;

    const inView = [];
    const byState = new Map();
    for (const node of this.nodes) {
      if (node.x + w / 2 < x0 || node.x - w / 2 > x1 || node.y + h / 2 < y0 || node.y - h / 2 > y1) continue;
      inView.push(node);
      const state = node.job.state;
      if (!byState.has(state)) byState.set(state, []);
      byState.get(state).push(node);
    }
    const boxes = s >= BOX_SCALE;
    for (const [state, nodes] of byState) {
      const [strong, light] = stateColours(state);
      ctx.beginPath();
      for (const n of nodes) {
        if (boxes) ctx.roundRect(n.x - w / 2, n.y - h / 2, w, h, 6);
        else ctx.rect(n.x - w / 2, n.y - h / 2, w, h);
      }
      ctx.fillStyle = boxes ? light : strong;
      ctx.fill();
      if (boxes) {
        ctx.strokeStyle = strong;
        ctx.lineWidth = 2;
        ctx.setLineDash(state === "skipped" ? [4, 3] : []);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
    if (boxes) this.bars(inView, w, h);
    if (this.selected) {
      const node = this.byName.get(this.selected);
      if (node) {
        ctx.strokeStyle = "#1d2330";
        ctx.lineWidth = Math.max(3, 2 / s);
        ctx.strokeRect(node.x - w / 2 - 4, node.y - h / 2 - 4, w + 8, h + 8);
      }
    }
    this.name(s >= LABEL_SCALE ? inView : []);
    this.keep();
  }

  bars(nodes, w, h) {
    const ctx = this.ctx;
    ctx.fillStyle = "rgba(29, 35, 48, .10)";
    ctx.beginPath();
    for (const n of nodes) ctx.rect(n.x - w / 2 + 6, n.y + h / 2 - 8, w - 12, 4);
    ctx.fill();
    for (const n of nodes) {
      const p = percent(n.job);
      if (!p) continue;
      ctx.fillStyle = stateColours(n.job.state === "done" ? "done" : n.job.state === "failed" ? "failed" : "running")[0];
      ctx.fillRect(n.x - w / 2 + 6, n.y + h / 2 - 8, (w - 12) * p / 100, 4);
    }
  }

  // Page elements with the names of the jobs in view (none when zoomed out too far to read them).
  name(nodes) {
    const s = this.scale;
    this.labels.style.transform = `translate(${this.tx}px, ${this.ty}px) scale(${s})`;
    const wanted = new Set();
    for (const node of nodes.slice(0, MAX_LABELS)) wanted.add(node.name);
    for (const [name, element] of this.labelled) {
      if (!wanted.has(name)) {
        element.remove();
        this.labelled.delete(name);
      }
    }
    const w = this.layout.node_width, h = this.layout.node_height;
    const added = [];
    for (const name of wanted) {
      if (this.labelled.has(name)) continue;
      const node = this.byName.get(name);
      const element = document.createElement("div");
      element.dataset.job = name;
      element.style.cssText = `left:${node.x - w / 2}px;top:${node.y - h / 2}px;width:${w}px;height:${h}px`;
      const title = document.createElement("span");
      title.className = "name";
      title.textContent = this.jobLabels.get(name) || name;
      const sub = document.createElement("span");
      sub.className = "sub";
      element.append(title, sub);
      if (name === this.selected) element.dataset.selected = "true";
      this.label(element, node);
      this.labelled.set(name, element);
      added.push(element);
    }
    if (added.length) this.labels.append(...added);
  }

  label(element, node) {
    const job = node.job;
    const cls = `node ${stateClass(job.state)}`;
    if (element.className !== cls) element.className = cls;
    const p = percent(job);
    const state = stateLabel(job);
    const text = p === null || job.state === "done" ? state : `${state} · ${Math.round(p)}%`;
    const sub = job.message ? `${text} · ${job.message}` : text;
    const span = element.lastChild;
    if (span.textContent !== sub) span.textContent = sub;
    const shown = this.jobLabels.get(node.name) || node.name;
    if (element.firstChild.textContent !== shown) element.firstChild.textContent = shown;
    const title = `${node.name}${shown !== node.name ? ` (${shown})` : ""}: ${sub}`;
    if (element.title !== title) element.title = title;
  }

  // Labels of the jobs that have one ({job: text}); the names of the others stay.
  setLabels(labels) {
    this.jobLabels = new Map(Object.entries(labels));
    for (const [name, element] of this.labelled) {
      const node = this.byName.get(name);
      if (node) this.label(element, node);
    }
  }
}
