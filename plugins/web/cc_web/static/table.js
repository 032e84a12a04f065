// The table view: one row per job, built once and then changed cell by cell as events arrive.

import { ACTIVE, FINAL, clock, duration, percent } from "./format.js";

const COLUMNS = ["name", "host", "kind", "state", "progress", "start", "end", "duration", "exit", "log", "action"];

class Row {
  constructor(job) {
    this.tr = document.createElement("tr");
    this.tr.dataset.job = job.name;
    this.cells = {};
    for (const column of COLUMNS) {
      const td = document.createElement("td");
      td.className = `col-${column}`;
      this.cells[column] = td;
      this.tr.appendChild(td);
    }
    this.cells.name.textContent = job.name;
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
    const meter = document.createElement("div");
    meter.className = "meter";
    meter.append(bar, this.pct);
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
    this.job = {};
    this.set(job);
  }

  text(column, value) {
    const cell = this.cells[column];
    if (cell.textContent !== value) cell.textContent = value;
  }

  set(job) {
    const old = this.job;
    this.job = job;
    if (old.host !== job.host) this.text("host", job.host);
    if (old.kind !== job.kind) this.text("kind", job.kind);
    if (old.state !== job.state) {
      this.tr.className = `state-${job.state}`;
      this.badge.className = `badge state-${job.state}`;
      this.badge.textContent = job.origin && job.state === "done" ? `done (${job.origin.how})` : job.state;
      this.kill.hidden = FINAL.has(job.state);
    }
    const p = percent(job);
    const width = p === null ? "0%" : `${p}%`;
    if (this.fill.style.width !== width) this.fill.style.width = width;
    const label = p === null ? "" : `${Math.round(p)}%`;
    if (this.pct.textContent !== label) this.pct.textContent = label;
    this.cells.progress.title = job.message || job.detail || job.reason || "";
    if (old.started !== job.started) this.text("start", clock(job.started));
    if (old.ended !== job.ended) this.text("end", clock(job.ended));
    this.text("duration", duration(job.started, job.ended));
    this.text("exit", job.exit_code === null || job.exit_code === undefined ? "" : String(job.exit_code));
    this.cells.exit.title = job.reason || "";
    this.logLink.hidden = !job.has_log;
  }
}

export class JobTable {
  constructor(tbody, { onLog, onKill }) {
    this.tbody = tbody;
    this.rows = new Map();
    tbody.addEventListener("click", (event) => {
      const target = event.target.closest("[data-action]");
      if (!target) return;
      event.preventDefault();
      const name = target.closest("tr").dataset.job;
      if (target.dataset.action === "log") onLog(name);
      if (target.dataset.action === "kill") onKill(name);
    });
  }

  reset(jobs) {
    this.rows.clear();
    const fragment = document.createDocumentFragment();
    for (const job of [...jobs].sort((a, b) => a.order - b.order)) {
      const row = new Row(job);
      this.rows.set(job.name, row);
      fragment.appendChild(row.tr);
    }
    this.tbody.replaceChildren(fragment);
  }

  update(jobs) {
    for (const job of jobs) {
      const row = this.rows.get(job.name);
      if (row) {
        row.set(job);
      } else {
        const added = new Row(job);
        this.rows.set(job.name, added);
        this.tbody.appendChild(added.tr);
      }
    }
  }

  keep(names) {
    for (const [name, row] of this.rows) {
      if (!names.has(name)) {
        row.tr.remove();
        this.rows.delete(name);
      }
    }
  }

  // Running jobs' durations grow without events; refresh just those.
  tick() {
    for (const row of this.rows.values()) {
      if (ACTIVE.has(row.job.state) && row.job.started) row.text("duration", duration(row.job.started, null));
    }
  }
}
