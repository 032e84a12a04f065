// How times, durations and states are shown. A state this page does not know (a newer service) still shows: it
// gets a neutral colour and its own name.

export const FINAL = new Set(["done", "failed", "killed", "skipped"]);
export const ACTIVE = new Set(["preparing", "queued", "running", "retrying"]);
export const STATE_ORDER = ["ready", "preparing", "queued", "running", "retrying", "done", "failed", "killed",
  "skipped"];

// Strong colours (badges, bars, far-away graph nodes) and light fills (graph nodes close up), as in app.css.
export const STATE_COLOURS = {
  ready: ["#9aa3b2", "#ffffff"], preparing: ["#d9a35b", "#fdf0dc"], queued: ["#7fb3e8", "#f1f7fd"],
  running: ["#2f6fde", "#eaf1fd"], retrying: ["#e09b2d", "#fdf6ea"], done: ["#2e9e5b", "#e9f6ee"],
  failed: ["#d64545", "#fcecec"], killed: ["#8e44ad", "#f5ecf9"], skipped: ["#c3c8d1", "#f7f8fa"],
};
const UNKNOWN_COLOURS = ["#6b7385", "#f1f3f7"];

export function stateColours(state) {
  return STATE_COLOURS[state] || UNKNOWN_COLOURS;
}

// A CSS class for a state: known names as they are, anything else as "state-other".
export function stateClass(state) {
  return typeof state === "string" && /^[a-z][a-z_-]*$/.test(state) ? `state-${state}` : "state-other";
}

// "carried" or "cached" for a done job whose result comes from another run (its origin), else null.
export function originOf(job) {
  const origin = job && job.origin;
  if (!origin) return null;
  const how = typeof origin === "string" ? origin : origin.how || origin.kind || origin.type || "carried";
  return String(how).includes("cach") ? "cached" : "carried";
}

export function stateLabel(job) {
  const state = job.state || "unknown";
  const origin = state === "done" ? originOf(job) : null;
  return origin ? `${state} (${origin})` : state;
}

// Where the eye should go first: failed, then what is going, then what waits, then what is over.
const ATTENTION = { failed: 0, running: 1, retrying: 2, preparing: 3, queued: 4, killed: 5, ready: 6, skipped: 8,
  done: 9 };
export function attention(state) {
  return ATTENTION[state] ?? 7;
}

export function clock(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString([], { hour12: false });
}

export function duration(start, end) {
  if (start === null || start === undefined) return "";
  const total = Math.max(0, (end ?? Date.now() / 1000) - start);
  if (total < 10) return `${total.toFixed(1)} s`;
  if (total < 60) return `${Math.round(total)} s`;
  const m = Math.floor(total / 60), s = Math.round(total % 60);
  if (m < 60) return `${m} m ${String(s).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
}

export function percent(job) {
  if (job.state === "done") return 100;
  if (job.progress === null || job.progress === undefined) return null;
  return Math.max(0, Math.min(100, job.progress));
}

// {state: number} of the jobs, known states first in their order, then any other.
export function tally(jobs) {
  const out = {};
  for (const job of jobs) out[job.state] = (out[job.state] || 0) + 1;
  return out;
}

export function orderedStates(tallied) {
  const known = STATE_ORDER.filter((s) => tallied[s]);
  const other = Object.keys(tallied).filter((s) => !STATE_ORDER.includes(s)).sort();
  return [...known, ...other];
}

export function counts(jobs) {
  const tallied = tally(jobs);
  return orderedStates(tallied).map((s) => `${tallied[s]} ${s}`).join(" · ");
}
