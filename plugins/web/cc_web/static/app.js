// cc's GUI: workflows and runs on the left, one run on the right as a table or a graph, both following the
// run's event stream. Changes are gathered and applied once per animation frame, so a run of thousands of jobs
// costs one DOM pass per frame, however many events arrive.

import { api } from "./api.js";
import { FINAL, counts } from "./format.js";
import { JobGraph } from "./graph.js";
import { LogViewer } from "./log.js";
import { JobTable } from "./table.js";

const $ = (selector) => document.querySelector(selector);
const RESUMABLE = new Set(["interrupted", "detached", "failed", "killed"]);

if (new URLSearchParams(location.search).has("token")) {
  // The service has set its cookie; keep the token out of the address bar and the history.
  history.replaceState(null, "", location.pathname + location.hash);
}

function showError(element, error) {
  element.textContent = error && error.describe ? error.describe() : String(error);
  element.hidden = false;
  element.classList.add("error");
}

class RunView {
  constructor() {
    this.id = null;
    this.run = null;
    this.jobs = new Map();
    this.pending = new Map();
    this.frame = 0;
    this.source = null;
    this.view = "table";
    this.layoutLoading = null;
    this.table = new JobTable($("#jobs-table tbody"), {
      onLog: (name) => this.openLog(name),
      onKill: (name) => this.killJob(name),
    });
    this.graph = new JobGraph($("#graph"), { onSelect: (name) => this.openLog(name) });
    this.log = new LogViewer($("#log-panel"));
    $("#log-close").addEventListener("click", () => this.log.close());
    $("#log-kill").addEventListener("click", () => this.log.job && this.killJob(this.log.job));
    $("#kill-run").addEventListener("click", () => this.killRun());
    $("#resume-run").addEventListener("click", () => this.resume());
    $("#rerun-run").addEventListener("click", () => this.rerun());
    for (const tab of document.querySelectorAll(".tabs button")) {
      tab.addEventListener("click", () => { location.hash = `#/runs/${this.id}/${tab.dataset.view}`; });
    }
    for (const button of document.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", () => this.graph.zoom(button.dataset.zoom));
    }
    setInterval(() => this.id !== null && this.table.tick(), 1000);
  }

  open(id, view) {
    if (id !== this.id) this.follow(id);
    this.setView(view);
  }

  follow(id) {
    this.close();
    this.id = id;
    $("#welcome").hidden = true;
    $("#run-view").hidden = false;
    $("#run-error").hidden = true;
    $("#run-title").textContent = `run ${id}`;
    this.table.reset([]);
    this.graph.layout = null;
    $("#graph").replaceChildren();
    const source = new EventSource(api.eventsUrl(id));
    this.source = source;
    const on = (name, handle) => source.addEventListener(name, (event) => {
      if (source === this.source) handle(JSON.parse(event.data));
    });
    on("snapshot", (data) => {
      this.jobs = new Map(data.jobs.map((job) => [job.name, job]));
      this.pending.clear();
      this.table.reset(data.jobs);
      this.showRun(data.run);
      if (this.graph.drawn) this.graph.update(data.jobs);
      if (this.view === "graph") this.loadGraph();
      else if (!this.graph.drawn) this.prefetchLayout();   // so the graph tab opens at once
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
      this.table.keep(names);
      this.layoutStale = true;
      if (this.view === "graph") this.loadGraph();
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
    this.frame = 0;
    this.pending.clear();
    this.layoutStale = false;
    this.prefetched = null;
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = 0;
    if (!this.pending.size) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    for (const job of batch) this.jobs.set(job.name, job);
    this.table.update(batch);
    if (!this.graph.update(batch)) this.layoutStale = true;
    if (this.layoutStale && this.view === "graph") this.loadGraph();
    $("#run-counts").textContent = counts(this.jobs.values());
    if (this.log.job && this.jobs.has(this.log.job)) this.log.showState(this.jobs.get(this.log.job).state);
  }

  showRun(run) {
    this.run = run;
    $("#run-title").textContent = `${run.workflow} · run ${run.id}`;
    const state = $("#run-state");
    state.className = `state badge state-${run.state}`;
    state.textContent = run.state;
    state.title = run.reason || "";
    $("#run-counts").textContent = counts(this.jobs.values());
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
    if (this.view === "graph" && (!this.graph.drawn || this.layoutStale)) this.loadGraph();
  }

  prefetchLayout() {
    if (this.id === null || this.prefetched) return;
    const id = this.id;
    this.prefetched = { id, layout: api.layout(id) };
    this.prefetched.layout.catch(() => { if (this.prefetched && this.prefetched.id === id) this.prefetched = null; });
  }

  async loadGraph() {
    if (this.layoutLoading || this.id === null) return;
    const id = this.id;
    const early = this.prefetched && this.prefetched.id === id && !this.layoutStale ? this.prefetched.layout : null;
    this.prefetched = null;
    this.layoutStale = false;
    this.layoutLoading = early || api.layout(id);
    try {
      const layout = await this.layoutLoading;
      if (id === this.id) this.graph.draw(layout, [...this.jobs.values()]);
    } catch (error) {
      showError($("#run-error"), error);
    } finally {
      this.layoutLoading = null;
    }
  }

  openLog(name) {
    this.log.open(this.id, name);
    const job = this.jobs.get(name);
    if (job) this.log.showState(job.state);
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
      state.className = `badge state-${run.state}`;
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
    badge.className = `badge state-${run.state}`;
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
