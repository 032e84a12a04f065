// Talking to the REST API. Requests go to the same origin, so the token cookie (set when the page was opened
// with ?token=) travels with every fetch and with the event stream.

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }

  // "line 5, job 'a', field 'retries': ..." for each problem, or the message alone.
  describe() {
    const problems = this.body.problems || [];
    if (!problems.length) return this.message + (this.body.hint ? ` (${this.body.hint})` : "");
    return problems.map((p) => {
      const where = [p.line ? `line ${p.line}` : "", p.job ? `job '${p.job}'` : "", p.field ? `field '${p.field}'` : ""]
        .filter(Boolean).join(", ");
      return where ? `${where}: ${p.message}` : p.message;
    }).join("\n");
  }
}

async function request(method, path, { json, form } = {}) {
  const options = { method, headers: { accept: "application/json" } };
  if (json !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(json);
  } else if (form !== undefined) {
    options.body = form;
  }
  const response = await fetch(path, options);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, typeof body === "object" ? body : { message: body });
  return body;
}

const enc = encodeURIComponent;

export const api = {
  workflows: () => request("GET", "/api/workflows"),
  upload: (form) => request("POST", "/api/workflows/upload", { form }),
  schedulers: () => request("GET", "/api/schedulers"),
  runs: () => request("GET", "/api/runs?limit=50"),
  start: (workflow, scheduler, maxParallel) =>
    request("POST", "/api/runs", { json: { workflow, scheduler, max_parallel: maxParallel || null } }),
  run: (id) => request("GET", `/api/runs/${enc(id)}`),
  layout: (id) => request("GET", `/api/runs/${enc(id)}/layout`),
  labels: (id) => request("GET", `/api/runs/${enc(id)}/labels`),
  killRun: (id) => request("POST", `/api/runs/${enc(id)}/kill`),
  killJob: (id, job) => request("POST", `/api/runs/${enc(id)}/jobs/${enc(job)}/kill`),
  resume: (id) => request("POST", `/api/runs/${enc(id)}/resume`),
  rerun: (id) => request("POST", `/api/runs/${enc(id)}/rerun`, { json: {} }),
  log: (id, job, offset) => request("GET", `/api/runs/${enc(id)}/jobs/${enc(job)}/log?offset=${offset}&length=262144`),
  eventsUrl: (id) => `/api/runs/${enc(id)}/events`,
};
