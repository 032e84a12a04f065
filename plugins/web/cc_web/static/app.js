// cc's GUI: workflows and runs on the left, one run on the right as a table or a graph, both following the
// run's event stream. Changes are gathered and applied once per animation frame, so a run of thousands of jobs
// costs one DOM pass per frame, however many events arrive.

import { api } from "./api.js";
import { FINAL, orderedStates, stateClass, stateColours, tally } from "./format.js";
import { JobGraph } from "./graph.js";
import { LogViewer } from "./log.js";
import { JobTable } from "./table.js";

const $ = (selector) => document.querySelector(selector);
const RESUMABLE = new Set(["interrupted", "detached"]);   // a failed or killed run is continued by Rerun
// Changes are shown at most this often (ms): a person cannot follow more, and a big run sends many.
const FLUSH_EVERY = 100;

if (new URLSearchParams(location.search).has("token")) {
  // The service has set its cookie; keep the token out of the address bar and the history.
  history.replaceState(null, "", location.pathname + location.hash);
}

function showError(element, error) {
  element.textContent = error && error.describe ? error.describe() : String(error);
  element.hidden = false;
  element.classList.add("error");
}

// One run, followed through its event stream; the table, the graph, the progress bar and the log panel all draw
// from the same jobs. Changes are gathered and applied once per animation frame, so a run of thousands of jobs
// costs one pass per frame, however many events arrive.
class RunView {
  constructor() {
    this.id = null;
    this.run = null;
    this.jobs = new Map();
    this.pending = new Map();
    this.frame = 0;
    this.source = null;
    this.view = "table";
    this.snapshot = false;
    this.layout = null;          // {id, promise} of the run's layout: fetched once per run and definition
    this.table = new JobTable($("#table-scroll"), $("#jobs-table tbody"), {
      onLog: (name) => this.openLog(name),
      onKill: (name) => this.killJob(name),
      onShown: (shown, total) => {
        $("#table-shown").textContent = shown === total ? `${total} jobs` : `${shown} of ${total} jobs`;
      },
    });
    this.graph = new JobGraph($("#graph"), { onSelect: (name) => this.openLog(name) });
    this.log = new LogViewer($("#log-panel"));
    $("#log-close").addEventListener("click", () => {
      this.log.close();
      this.graph.select(null);
    });
    $("#log-kill").addEventListener("click", () => this.log.job && this.log.killing(this.killJob(this.log.job)));
    $("#kill-run").addEventListener("click", () => this.killRun());
    $("#resume-run").addEventListener("click", () => this.resume());
    $("#rerun-run").addEventListener("click", () => this.rerun());
    for (const tab of document.querySelectorAll(".tabs button")) {
      tab.addEventListener("click", () => { location.hash = `#/runs/${this.id}/${tab.dataset.view}`; });
    }
    for (const button of document.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", () => this.graph.zoom(button.dataset.zoom));
    }
    const filter = () => this.table.setFilter($("#state-filter").value, $("#job-filter").value);
    $("#job-filter").addEventListener("input", filter);
    $("#state-filter").addEventListener("change", filter);
    $("#table-sort").addEventListener("change", () => this.table.setSort($("#table-sort").value));
    this.found = { query: "", names: [], at: -1 };
    $("#graph-search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.findJob($("#graph-search").value);
    });
    setInterval(() => this.id !== null && this.table.tick(), 1000);
  }

  open(id, view) {
    const changed = id !== this.id;
    this.view = view === "graph" ? "graph" : "table";
    if (changed) this.follow(id);
    this.setView(view);
  }

  follow(id) {
    this.close();
    this.id = id;
    $("#welcome").hidden = true;
    $("#run-view").hidden = false;
    $("#run-error").hidden = true;
    $("#run-title").textContent = `run ${id}`;
    this.jobs = new Map();
    this.snapshot = false;
    this.table.reset(this.jobs);
    this.graph.clear();
    this.progress();
    // Opened on the graph: its layout is asked for now, alongside the jobs, and drawn when both are here.
    if (this.view === "graph") this.ensureLayout();
    const source = new EventSource(api.eventsUrl(id));
    this.source = source;
    const on = (name, handle) => source.addEventListener(name, (event) => {
      if (source === this.source) handle(JSON.parse(event.data));
    });
    on("snapshot", (data) => {
      this.jobs = new Map(data.jobs.map((job) => [job.name, job]));
      this.pending.clear();
      this.snapshot = true;
      this.table.reset(this.jobs);
      this.showRun(data.run);
      this.progress();
      if (this.graph.drawn) {
        this.graph.update(data.jobs);
        this.labelsSoon();
      }
      else this.ensureLayout();           // fetched while the table shows, so the graph tab opens at once
      this.drawGraph();
      connection("live");
    });
    on("jobs", (data) => {
      for (const job of data.jobs) this.pending.set(job.name, job);
      this.schedule();
    });
    on("run", (data) => this.showRun(data.run));
    on("definition", (data) => {
      const names = new Set(data.jobs);
      for (const name of [...this.jobs.keys()]) if (!names.has(name)) this.jobs.delete(name);
      this.table.keep();
      this.layoutChanged();
    });
    on("end", (data) => {
      this.flush();
      if (data.run) this.showRun(data.run);
      source.close();
      connection("ended");
      app.refreshRuns();
    });
    source.onerror = () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) {
        connection("closed");
        showError($("#run-error"), `the event stream of run ${id} could not be opened (no such run, or no token)`);
      } else {
        connection("reconnecting");
      }
    };
  }

  close() {
    if (this.source) this.source.close();
    this.source = null;
    this.log.close();
    cancelAnimationFrame(this.frame);
    clearTimeout(this.waiting);
    this.frame = 0;
    this.waiting = 0;
    this.pending.clear();
    this.layout = null;
    this.hasLabels = false;
  }

  schedule() {
    if (this.frame || this.waiting) return;
    const wait = FLUSH_EVERY - (performance.now() - (this.flushed || 0));
    const later = () => {
      this.waiting = 0;
      this.frame = requestAnimationFrame(() => this.flush());
    };
    if (wait > 0) this.waiting = setTimeout(later, wait);
    else later();
  }

  flush() {
    this.frame = 0;
    this.flushed = performance.now();
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    for (const job of batch) this.jobs.set(job.name, job);
    this.table.update(batch);
    if (!this.graph.update(batch)) this.layoutChanged();
    else this.labelsSoon();
    this.progress();
    if (this.log.job && this.jobs.has(this.log.job)) this.log.showState(this.jobs.get(this.log.job));
  }

  // The run at a glance: one bar of the jobs by state, and their counts.
  progress() {
    const tallied = tally(this.jobs.values());
    const total = this.jobs.size || 1;
    const states = orderedStates(tallied);
    const bar = $("#run-progress");
    if (bar.children.length !== states.length || states.some((s, i) => bar.children[i].dataset.state !== s)) {
      bar.replaceChildren(...states.map((state) => {
        const part = document.createElement("span");
        part.dataset.state = state;
        part.className = stateClass(state);
        part.style.background = stateColours(state)[0];
        return part;
      }));
    }
    states.forEach((state, i) => {
      const part = bar.children[i];
      const width = `${(100 * tallied[state]) / total}%`;
      if (part.style.width !== width) part.style.width = width;
      part.title = `${tallied[state]} ${state}`;
    });
    const text = states.map((s) => `${tallied[s]} ${s}`).join(" · ");
    const counts = $("#run-counts");
    if (counts.textContent !== text) counts.textContent = text;
  }

  showRun(run) {
    this.run = run;
    $("#run-title").textContent = `${run.workflow} · run ${run.id}`;
    const state = $("#run-state");
    state.className = `state badge ${stateClass(run.state)}`;
    state.textContent = run.state;
    state.title = run.reason || "";
    $("#kill-run").hidden = FINAL.has(run.state);
    $("#resume-run").hidden = !RESUMABLE.has(run.state);
    $("#rerun-run").hidden = run.state !== "failed" && run.state !== "killed";
    app.markRun(run);
  }

  setView(view) {
    this.view = view === "graph" ? "graph" : "table";
    $("#table-view").hidden = this.view !== "table";
    $("#graph-view").hidden = this.view !== "graph";
    $("#tab-table").classList.toggle("active", this.view === "table");
    $("#tab-graph").classList.toggle("active", this.view === "graph");
    if (this.view === "graph") {
      this.graph.resize();
      this.drawGraph();
    } else {
      this.table.schedule();
    }
  }

  // The layout of the run's graph, asked for once per run (and again only when its jobs change).
  ensureLayout() {
    if (this.id === null) return null;
    if (!this.layout || this.layout.id !== this.id) {
      const id = this.id;
      const promise = api.layout(id);
      this.layout = { id, promise, drawn: false };
      promise.catch((error) => {
        if (this.layout && this.layout.promise === promise) this.layout = null;
        if (id === this.id && this.view === "graph") showError($("#run-error"), error);
      });
    }
    return this.layout;
  }

  layoutChanged() {
    this.layout = null;
    if (this.graph.drawn) this.graph.clear();
    this.drawGraph();
  }

  // Draw the graph once both the layout and the jobs are here, whichever comes first; never twice per layout.
  async drawGraph() {
    if (this.view !== "graph" || !this.snapshot || this.graph.drawn) return;
    const layout = this.ensureLayout();
    if (!layout || layout.drawing) return;
    layout.drawing = true;
    try {
      const data = await layout.promise;
      if (this.layout === layout && layout.id === this.id && !this.graph.drawn) {
        this.graph.draw(data, this.jobs);
        if (this.log.job) this.graph.select(this.log.job);
        this.refreshLabels();
      }
    } catch {
      // shown by ensureLayout
    } finally {
      layout.drawing = false;
    }
  }

  // Job labels (a workflow's label: with placeholders such as {name} and {progress}, filled by the service):
  // asked for with the graph, and again at most every 2 s while jobs change, only for runs whose jobs have labels.
  async refreshLabels() {
    const id = this.id;
    try {
      const labels = await api.labels(id);
      if (id !== this.id) return;
      this.hasLabels = Object.keys(labels).length > 0;
      this.graph.setLabels(labels);
    } catch {
      // labels only decorate the graph: the names stay
    }
  }

  labelsSoon() {
    if (!this.hasLabels || this.labelTimer) return;
    this.labelTimer = setTimeout(() => {
      this.labelTimer = null;
      this.refreshLabels();
    }, 2000);
  }

  findJob(query) {
    const found = this.found;
    if (query !== found.query) {
      found.query = query;
      found.names = this.graph.find(query);
      found.at = -1;
    }
    if (!found.names.length) {
      $("#graph-found").textContent = query.trim() ? "no job matches" : "";
      return;
    }
    found.at = (found.at + 1) % found.names.length;
    const name = found.names[found.at];
    this.graph.focus(name);
    this.openLog(name);
    $("#graph-found").textContent = `${found.at + 1} of ${found.names.length}: ${name}`;
  }

  openLog(name) {
    this.log.open(this.id, name);
    const job = this.jobs.get(name);
    if (job) this.log.showState(job);
    this.graph.select(name);
  }

  async killJob(name) {
    try {
      await api.killJob(this.id, name);
    } catch (error) {
      showError($("#run-error"), error);
    }
  }

  async killRun() {
    if (!confirm(`Kill run ${this.id} and every job still going?`)) return;
    try {
      await api.killRun(this.id);
    } catch (error) {
      showError($("#run-error"), error);
    }
  }

  async rerun() {
    try {
      const started = await api.rerun(this.id);
      location.hash = `#/runs/${started.run}`;
    } catch (error) {
      showError($("#run-error"), error);
    }
  }

  async resume() {
    try {
      await api.resume(this.id);
      const id = this.id;
      this.id = null;
      this.follow(id);
    } catch (error) {
      showError($("#run-error"), error);
    }
  }
}

function connection(state) {
  const element = $("#connection");
  element.className = `connection ${state}`;
  element.textContent = { live: "live", ended: "run ended", reconnecting: "reconnecting…", closed: "offline" }[state];
}

class App {
  constructor() {
    this.runView = new RunView();
    this.runStates = new Map();
    $("#upload-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload();
    });
    $("#workflow-list").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-start]");
      if (button) this.start(button.dataset.start);
    });
    window.addEventListener("hashchange", () => this.route());
  }

  async init() {
    try {
      const schedulers = await api.schedulers();
      $("#scheduler").replaceChildren(...schedulers.map((s) => new Option(s.name, s.name, s.name === "parallel",
        s.name === "parallel")));
    } catch (error) {
      showError($("#upload-message"), error);
    }
    await Promise.all([this.refreshWorkflows(), this.refreshRuns()]);
    setInterval(() => this.refreshRuns(), 2000);
    setInterval(() => this.refreshWorkflows().catch(() => {}), 5000);
    this.route();
  }

  route() {
    const match = location.hash.match(/^#\/runs\/(\d+)(?:\/(table|graph))?/);
    if (match) this.runView.open(Number(match[1]), match[2] || "table");
  }

  async refreshWorkflows() {
    const workflows = await api.workflows();
    const items = workflows.map((wf) => {
      const li = document.createElement("li");
      li.dataset.workflow = wf.name;
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = wf.name;
      label.title = wf.description || "";
      const size = document.createElement("span");
      size.className = "meta";
      size.textContent = `${wf.jobs} job${wf.jobs === 1 ? "" : "s"}`;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.dataset.start = wf.name;
      button.textContent = "Start";
      li.append(label, size, button);
      return li;
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "none stored yet";
      items.push(li);
    }
    $("#workflow-list").replaceChildren(...items);
  }

  async refreshRuns() {
    let runs;
    try {
      runs = await api.runs();
    } catch {
      return;
    }
    const items = runs.map((run) => {
      const li = document.createElement("li");
      li.dataset.run = run.id;
      const link = document.createElement("a");
      link.href = `#/runs/${run.id}`;
      link.textContent = `#${run.id} ${run.workflow}`;
      const state = document.createElement("span");
      state.className = `badge ${stateClass(run.state)}`;
      state.textContent = run.state;
      li.append(link, state);
      li.classList.toggle("current", run.id === this.runView.id);
      return li;
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "no runs yet";
      items.push(li);
    }
    $("#run-list").replaceChildren(...items);
  }

  markRun(run) {
    const li = document.querySelector(`#run-list li[data-run="${run.id}"]`);
    if (!li) return;
    const badge = li.querySelector(".badge");
    badge.className = `badge ${stateClass(run.state)}`;
    badge.textContent = run.state;
    for (const item of document.querySelectorAll("#run-list li")) {
      item.classList.toggle("current", item === li);
    }
  }

  async upload() {
    const message = $("#upload-message");
    message.hidden = false;
    message.classList.remove("error");
    const file = $("#upload-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    for (const script of $("#upload-scripts").files) form.append("scripts", script);
    try {
      const stored = await api.upload(form);
      message.textContent = `stored '${stored.name}' (${stored.jobs} job${stored.jobs === 1 ? "" : "s"})`;
      $("#upload-form").reset();
      await this.refreshWorkflows();
    } catch (error) {
      showError(message, error);
    }
  }

  async start(name) {
    const message = $("#upload-message");
    try {
      const max = Number($("#max-parallel").value) || null;
      const run = await api.start(name, $("#scheduler").value || "parallel", max);
      message.hidden = true;
      await this.refreshRuns();
      location.hash = `#/runs/${run.id}`;
    } catch (error) {
      showError(message, error);
    }
  }
}

const app = new App();
app.init();
