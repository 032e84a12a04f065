"""The GUI's page of analytics functions (``/functions``): every offered function with a form built from the JSON
schema of its parameters; a call's state, progress and result or error show under the form as it goes. The page
uses the same REST endpoints as any client (``/api/functions``, ``/api/calls/{id}``)."""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>cc: functions</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.05rem; margin-bottom: .2rem; }
  .function { border: 1px solid #ccc; border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; max-width: 52rem; }
  .description { color: #555; margin: 0 0 .5rem 0; }
  label { display: block; margin: .3rem 0; } label span { display: inline-block; min-width: 9rem; }
  .outcome { white-space: pre-wrap; font-family: monospace; margin-top: .5rem; }
  .error { color: #a00; } .kind { color: #666; font-weight: normal; font-size: .9rem; }
</style>
</head>
<body>
<h1>Functions <a href="/" style="font-size:.9rem; font-weight:normal">runs</a></h1>
<div id="functions">loading...</div>
<script>
"use strict";
const FINAL = ["done", "failed", "killed", "skipped"];

function field(name, schema, required) {
  const label = document.createElement("label");
  const title = document.createElement("span");
  title.textContent = name + (required ? " *" : "");
  label.appendChild(title);
  let input;
  if (Array.isArray(schema.enum)) {
    input = document.createElement("select");
    for (const value of schema.enum) {
      const option = document.createElement("option");
      option.value = JSON.stringify(value); option.textContent = String(value);
      input.appendChild(option);
    }
    input.dataset.kind = "json";
  } else if (schema.type === "boolean") {
    input = document.createElement("input"); input.type = "checkbox"; input.dataset.kind = "boolean";
    input.checked = schema.default === true;
  } else if (schema.type === "integer" || schema.type === "number") {
    input = document.createElement("input"); input.type = "number";
    if (schema.type === "number") input.step = "any";
    input.dataset.kind = "number";
    if (schema.default !== undefined) input.value = schema.default;
  } else if (schema.type === "string") {
    input = document.createElement("input"); input.type = "text"; input.dataset.kind = "string";
    if (schema.default !== undefined) input.value = schema.default;
  } else {
    input = document.createElement("textarea"); input.rows = 2; input.cols = 40; input.dataset.kind = "json";
    input.placeholder = "JSON";
    if (schema.default !== undefined) input.value = JSON.stringify(schema.default);
  }
  input.name = name; input.dataset.required = required ? "1" : "";
  label.appendChild(input);
  return label;
}

function body(form) {
  const out = {};
  for (const input of form.querySelectorAll("input, select, textarea")) {
    const kind = input.dataset.kind;
    if (kind === "boolean") { out[input.name] = input.checked; continue; }
    // An empty field is left out (the service then names a missing required one); a required text may be "".
    if (input.value === "" && (kind !== "string" || !input.dataset.required)) continue;
    if (kind === "number") out[input.name] = Number(input.value);
    else if (kind === "json") out[input.name] = input.value === "" ? null : JSON.parse(input.value);
    else out[input.name] = input.value;
  }
  return out;
}

async function follow(id, outcome) {
  for (;;) {
    const answer = await fetch("/api/calls/" + encodeURIComponent(id));
    const state = await answer.json();
    if (!answer.ok) { outcome.className = "outcome error"; outcome.textContent = state.message; return; }
    const progress = state.progress == null ? "" : " " + state.progress + "%";
    outcome.className = "outcome";
    outcome.textContent = "call " + id + ": " + state.state + progress + (state.message ? " " + state.message : "");
    if (FINAL.includes(state.state)) {
      if (state.state === "done") {
        outcome.textContent += state.result_download
          ? "\\nresult (" + state.result_type + "): " + state.result_download
          : "\\nresult: " + JSON.stringify(state.result);
      } else {
        const error = state.error || {};
        outcome.className = "outcome error";
        outcome.textContent += "\\n" + (error.type || "") + ": " + (error.message || state.reason || "")
          + (error.traceback ? "\\n" + error.traceback : "");
      }
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 300));
  }
}

function render(fn) {
  const box = document.createElement("div");
  box.className = "function"; box.dataset.function = fn.name;
  const head = document.createElement("h2");
  head.textContent = fn.name + " ";
  const kind = document.createElement("span"); kind.className = "kind";
  kind.textContent = fn.function + " on " + fn.kind;
  head.appendChild(kind); box.appendChild(head);
  if (fn.description) {
    const text = document.createElement("p"); text.className = "description"; text.textContent = fn.description;
    box.appendChild(text);
  }
  const form = document.createElement("form");
  const required = fn.parameters.required || [];
  for (const [name, schema] of Object.entries(fn.parameters.properties || {})) {
    form.appendChild(field(name, schema, required.includes(name)));
  }
  const button = document.createElement("button"); button.type = "submit"; button.textContent = "Call";
  form.appendChild(button);
  const outcome = document.createElement("div"); outcome.className = "outcome";
  form.addEventListener("submit", async event => {
    event.preventDefault();
    let payload;
    try { payload = body(form); } catch (error) {
      outcome.className = "outcome error"; outcome.textContent = "not JSON: " + error.message; return;
    }
    const answer = await fetch("/api/functions/" + encodeURIComponent(fn.name) + "/calls", {
      method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(payload)});
    const accepted = await answer.json();
    if (!answer.ok) { outcome.className = "outcome error"; outcome.textContent = accepted.message; return; }
    await follow(accepted.id, outcome);
  });
  box.appendChild(form); box.appendChild(outcome);
  return box;
}

async function main() {
  const place = document.getElementById("functions");
  const answer = await fetch("/api/functions");
  const listed = await answer.json();
  place.textContent = "";
  if (!answer.ok) { place.className = "error"; place.textContent = listed.message; return; }
  if (!listed.length) place.textContent = "No function is offered (the settings file's 'functions:' names some).";
  for (const fn of listed) place.appendChild(render(fn));
}
main();
</script>
</body>
</html>
"""
