// How times, durations and states are shown.

export const FINAL = new Set(["done", "failed", "killed", "skipped"]);
export const ACTIVE = new Set(["preparing", "queued", "running"]);
export const STATE_ORDER = ["ready", "preparing", "queued", "running", "retrying", "done", "failed", "killed", "skipped"];

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

export function counts(jobs) {
  const out = {};
  for (const job of jobs) out[job.state] = (out[job.state] || 0) + 1;
  return STATE_ORDER.filter((s) => out[s]).map((s) => `${out[s]} ${s}`).join(" · ");
}
