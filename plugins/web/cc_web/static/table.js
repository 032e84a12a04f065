// The table view. Only the rows in view exist in the page (virtual scrolling): a run of 10,000 jobs costs as many
// row elements as a run of 30. The jobs can be filtered by state and name and sorted; by default failed and
// running jobs come first. The order is worked out again at most once a second, and not while the pointer moves
// over the rows (until it has rested for a moment), so a row does not move away under a click.

import { ACTIVE, FINAL, attention, clock, duration, percent, stateClass, stateLabel } from "./format.js";

const COLUMNS = ["name", "host", "kind", "state", "progress", "start", "end", "duration", "exit", "log", "action"];
export const ROW_HEIGHT = 32;
const OVERSCAN = 8;
export const MAX_ROWS = 200;
const REORDER_EVERY = 1000;
const POINTER_REST = 1500;

const SORTS = {
  attention: (a, b) => attention(a.state) - attention(b.state) || a.order - b.order,
  order: (a, b) => a.order - b.order,
  name: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  state: (a, b) => String(a.state).localeCompare(String(b.state)) || a.order - b.order,
  progress: (a, b) => (percent(b) ?? -1) - (percent(a) ?? -1) || a.order - b.order,
  started: (a, b) => (b.started ?? -Infinity) - (a.started ?? -Infinity) || a.order - b.order,
  duration: (a, b) => span(b) - span(a) || a.order - b.order,
};

function span(job) {
  if (job.started === null || job.started === undefined) return -1;
  return (job.ended ?? Date.now() / 1000) - job.started;
}

const FILTERS = {
  all: () => true,
  attention: (job) => job.state === "failed" || ACTIVE.has(job.state),
  active: (job) => ACTIVE.has(job.state),
};

class Row {
  constructor() {
    this.tr = document.createElement("tr");
    this.cells = {};
    for (const column of COLUMNS) {
      const td = document.createElement("td");
      td.className = `col-${column}`;
      this.cells[column] = td;
      this.tr.appendChild(td);
    }
    this.badge = document.createElement("span");
    this.badge.className = "badge";
    this.cells.state.appendChild(this.badge);
    const bar = document.createElement("div");
    bar.className = "bar";
    this.fill = document.createElement("div");
    this.fill.className = "fill";
    bar.appendChild(this.fill);
    this.pct = document.createElement("span");
    this.pct.className = "pct";
    this.msg = document.createElement("span");
    this.msg.className = "msg";
    const meter = document.createElement("div");
    meter.className = "meter";
    meter.append(bar, this.pct, this.msg);
    this.cells.progress.appendChild(meter);
    this.logLink = document.createElement("a");
    this.logLink.href = "#";
    this.logLink.dataset.action = "log";
    this.logLink.textContent = "log";
    this.cells.log.appendChild(this.logLink);
    this.kill = document.createElement("button");
    this.kill.type = "button";
    this.kill.className = "danger small";
    this.kill.dataset.action = "kill";
    this.kill.textContent = "Kill";
    this.cells.action.appendChild(this.kill);
    this.job = null;
  }

  text(column, value) {
    const cell = this.cells[column];
    if (cell.textContent !== value) cell.textContent = value;
  }

  set(job, killing) {
    const old = this.job && this.job.name === job.name ? this.job : {};
    this.job = job;
    if (old.name !== job.name) {
      this.tr.dataset.job = job.name;
      this.text("name", job.name);
      this.cells.name.title = job.name;
    }
    if (old.host !== job.host) this.text("host", job.host);
    if (old.kind !== job.kind) this.text("kind", job.kind);
    const label = stateLabel(job);
    if (old.state !== job.state || this.label !== label) {
      this.label = label;
      this.tr.className = stateClass(job.state);
      this.badge.className = `badge ${stateClass(job.state)}`;
      this.badge.textContent = label;
    }
    const ended = FINAL.has(job.state);
    if (this.kill.hidden !== ended) this.kill.hidden = ended;
    if (this.kill.disabled !== killing) {
      this.kill.disabled = killing;
      this.kill.textContent = killing ? "Killing…" : "Kill";
    }
    const p = percent(job);
    const width = p === null ? "0%" : `${p}%`;
    if (this.fill.style.width !== width) this.fill.style.width = width;
    const pct = p === null ? "" : `${Math.round(p)}%`;
    if (this.pct.textContent !== pct) this.pct.textContent = pct;
    const message = job.message || (FINAL.has(job.state) && job.state !== "done" ? job.reason : "") || "";
    if (this.msg.textContent !== message) this.msg.textContent = message;
    const note = job.message || job.detail || job.reason || "";
    if (this.cells.progress.title !== note) this.cells.progress.title = note;
    if (old.started !== job.started) this.text("start", clock(job.started));
    if (old.ended !== job.ended) this.text("end", clock(job.ended));
    this.text("duration", duration(job.started, job.ended));
    this.text("exit", job.exit_code === null || job.exit_code === undefined ? "" : String(job.exit_code));
    if (this.cells.exit.title !== (job.reason || "")) this.cells.exit.title = job.reason || "";
    if (this.logLink.hidden !== !job.has_log) this.logLink.hidden = !job.has_log;
  }
}

function spacer() {
  const tr = document.createElement("tr");
  tr.className = "spacer";
  tr.setAttribute("aria-hidden", "true");
  const td = document.createElement("td");
  td.colSpan = COLUMNS.length;
  tr.appendChild(td);
  return tr;
}

export class JobTable {
  // scroller: the element that scrolls; tbody: the rows' body; jobs: the run's Map name -> job (shared, read only).
  constructor(scroller, tbody, { onLog, onKill, onShown }) {
    this.scroller = scroller;
    this.tbody = tbody;
    this.onShown = onShown || (() => {});
    this.jobs = new Map();
    this.order = [];          // the jobs passing the filter, in the chosen order
    this.pool = [];           // Row objects, reused as the view moves
    this.shown = new Map();   // job name -> Row in the page now
    this.killing = new Set();
    this.sort = "attention";
    this.filter = "all";
    this.query = "";
    this.stale = false;
    this.lastOrder = 0;
    this.frame = 0;
    this.top = spacer();
    this.bottom = spacer();
    tbody.replaceChildren(this.top, this.bottom);
    tbody.addEventListener("click", (event) => {
      const target = event.target.closest("[data-action]");
      if (!target) return;
      event.preventDefault();
      const name = target.closest("tr").dataset.job;
      if (target.dataset.action === "log") onLog(name);
      if (target.dataset.action === "kill") {
        this.killing.add(name);
        this.refresh(name);
        Promise.resolve(onKill(name)).finally(() => {
          this.killing.delete(name);
          this.refresh(name);
        });
      }
    });
    this.pointerAt = 0;
    tbody.addEventListener("pointermove", () => { this.pointerAt = performance.now(); });
    tbody.addEventListener("pointerdown", () => { this.pointerAt = performance.now(); });
    tbody.addEventListener("pointerleave", () => {
      this.pointerAt = 0;
      if (this.stale) this.schedule();
    });
    scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(scroller);
    setInterval(() => { if (this.stale && !this.pointing()) this.schedule(); }, REORDER_EVERY / 2);
  }

  // The pointer is moving over the rows (or just clicked one): keep them where they are.
  pointing() {
    return performance.now() - this.pointerAt < POINTER_REST;
  }

  reset(jobs) {
    this.jobs = jobs;
    this.killing.clear();
    this.reorder();
    this.scroller.scrollTop = 0;
    this.render();
  }

  setSort(sort) {
    this.sort = SORTS[sort] ? sort : "attention";
    this.reorder();
    this.render();
  }

  setFilter(filter, query) {
    this.filter = filter;
    this.query = (query || "").trim().toLowerCase();
    this.reorder();
    this.scroller.scrollTop = 0;
    this.render();
  }

  passes(job) {
    const byState = FILTERS[this.filter] || ((j) => j.state === this.filter);
    return byState(job) && (!this.query || job.name.toLowerCase().includes(this.query));
  }

  reorder() {
    const kept = [];
    for (const job of this.jobs.values()) if (this.passes(job)) kept.push(job);
    kept.sort(SORTS[this.sort]);
    this.order = kept;
    this.stale = false;
    this.lastOrder = performance.now();
    this.onShown(kept.length, this.jobs.size);
  }

  // Jobs changed: rows in view show it at once; the order follows within a second (not under the pointer).
  update(batch) {
    let moved = false;
    const fixed = this.sort === "order" && this.filter === "all";
    for (const job of batch) {
      const row = this.shown.get(job.name);
      if (row) row.set(job, this.killing.has(job.name));
      if (!row || !fixed) moved = true;
    }
    if (moved) {
      this.stale = true;
      if (!this.pointing() && performance.now() - this.lastOrder >= REORDER_EVERY) this.schedule();
    }
  }

  keep() {
    this.stale = true;
    this.schedule();
  }

  refresh(name) {
    const row = this.shown.get(name);
    const job = this.jobs.get(name);
    if (row && job) row.set(job, this.killing.has(name));
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  render() {
    this.frame = 0;
    if (this.stale && !this.pointing() && performance.now() - this.lastOrder >= REORDER_EVERY) this.reorder();
    else if (this.stale && !this.order.length && this.jobs.size) this.reorder();
    const total = this.order.length;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const count = Math.min(MAX_ROWS, Math.ceil(height / ROW_HEIGHT) + 2 * OVERSCAN, Math.max(0, total - first));
    while (this.pool.length < count) this.pool.push(new Row());
    this.shown.clear();
    const wanted = [];
    for (let i = 0; i < count; i++) {
      const job = this.order[first + i];
      const current = this.jobs.get(job.name) || job;
      const row = this.pool[i];
      row.set(current, this.killing.has(job.name));
      this.shown.set(job.name, row);
      wanted.push(row.tr);
    }
    const rows = this.tbody.children;
    let same = rows.length === wanted.length + 2;
    for (let i = 0; same && i < wanted.length; i++) same = rows[i + 1] === wanted[i];
    if (!same) this.tbody.replaceChildren(this.top, ...wanted, this.bottom);
    this.top.style.height = `${first * ROW_HEIGHT}px`;
    this.bottom.style.height = `${Math.max(0, total - first - count) * ROW_HEIGHT}px`;
  }

  // Running jobs' durations grow without events; refresh the ones in view.
  tick() {
    for (const row of this.shown.values()) {
      if (row.job && ACTIVE.has(row.job.state) && row.job.started) row.text("duration", duration(row.job.started, null));
    }
  }
}
