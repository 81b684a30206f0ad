// Portico's operator console. Everything it shows and does goes through the admin API
// with the token typed in (kept in this tab's sessionStorage only), and /metrics, which
// it samples every 2 s while open (with the recent requests): rates and percentiles are
// over the last 30 s of samples, the charts over the last 5 minutes.
"use strict";

const SAMPLE_MS = 2000;
const KEEP = 150; // 5 minutes of samples
const WINDOW = 15; // samples (30 s) for rates and percentiles

const $ = (selector) => document.querySelector(selector);
const samples = []; // {t, routes: Map(route → {count, errors, buckets: [[le, n]]}), cache: Map}
let timer = null;

function token() {
  return sessionStorage.getItem("portico-admin-token") || "";
}

function setStatus(text, state) {
  const status = $("#status");
  status.textContent = text;
  status.dataset.state = state;
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token()}` };
  const response = await fetch(path, { method, headers, body });
  const text = await response.text();
  let value = null;
  try {
    value = text ? JSON.parse(text) : null;
  } catch {
    value = { error: text };
  }
  if (!response.ok) {
    const why = (value && (value.error || value.message)) || response.statusText;
    throw new Error(`${method} ${path}: ${response.status} ${why}`);
  }
  return value;
}

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content == null ? "" : String(content);
  row.append(td);
  return td;
}

function code(text) {
  const c = document.createElement("code");
  c.textContent = text;
  return c;
}

async function refreshFunctions() {
  const functions = await api("GET", "/functions");
  const body = $("#functions tbody");
  body.replaceChildren();
  const select = $("#deploy-function");
  const chosen = select.value;
  select.replaceChildren();
  for (const f of functions) {
    const row = document.createElement("tr");
    row.dataset.function = f.name;
    cell(row, f.name);
    cell(row, f.kind);
    const live = cell(row, code(f.live || "-"));
    live.classList.add("live");
    live.dataset.live = f.live || "";
    cell(row, f.routes.join(", "));
    const versions = document.createElement("div");
    for (const v of f.versions) {
      const line = document.createElement("div");
      line.className = "version";
      line.append(code(v.version), ` #${v.deployment} ${v.source}, ${v.requests} requests`);
      if (v.live) {
        const mark = document.createElement("span");
        mark.className = "live";
        mark.textContent = "live";
        line.append(mark);
      } else {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "rollback";
        button.dataset.function = f.name;
        button.dataset.version = v.version;
        button.textContent = "Roll back to this";
        button.addEventListener("click", () => rollback(f.name, v.version));
        line.append(button);
      }
      versions.append(line);
    }
    cell(row, versions);
    body.append(row);
    const option = document.createElement("option");
    option.value = f.name;
    option.textContent = f.name;
    select.append(option);
  }
  if (chosen) select.value = chosen;
}

async function refreshAudit() {
  const audit = await api("GET", "/audit?limit=50");
  const body = $("#audit tbody");
  body.replaceChildren();
  for (const e of audit.items) {
    const row = document.createElement("tr");
    for (const field of ["time", "who", "action", "function", "from", "to", "outcome"]) {
      cell(row, e[field]);
    }
    body.append(row);
  }
}

async function refreshRequests() {
  const recent = await api("GET", "/logs/access?limit=30");
  const body = $("#requests tbody");
  body.replaceChildren();
  for (const r of recent.items) {
    const row = document.createElement("tr");
    row.dataset.requestId = r.request_id;
    cell(row, r.time);
    cell(row, code(r.request_id));
    cell(row, r.stage);
    cell(row, `${r.method} ${r.path}`);
    cell(row, r.route);
    cell(row, r.status);
    cell(row, `${(r.latency_us / 1000).toFixed(1)} ms`);
    cell(row, r.function ? `${r.function}@${r.version}` : "-");
    body.append(row);
  }
}

async function rollback(name, version) {
  try {
    const done = await api("POST", `/functions/${encodeURIComponent(name)}/rollback?to=${encodeURIComponent(version)}`);
    setStatus(`${name}: live version ${done.version} (was ${done.previous || "-"})`, "ok");
  } catch (e) {
    setStatus(String(e.message || e), "error");
  }
  await refresh();
}

async function deploy(event) {
  event.preventDefault();
  const name = $("#deploy-function").value;
  const file = $("#deploy-module").files[0];
  if (!name || !file) return;
  try {
    const done = await api("PUT", `/functions/${encodeURIComponent(name)}`, await file.arrayBuffer());
    setStatus(`${name}: deployed version ${done.version}`, "ok");
  } catch (e) {
    setStatus(String(e.message || e), "error");
  }
  await refresh();
}

// Prometheus text: `name{label="v",...} value` lines.
function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

async function sample() {
  const response = await fetch("/metrics");
  const metrics = parseMetrics(await response.text());
  const routes = new Map();
  const cache = new Map();
  const route = (name) => {
    if (!routes.has(name)) routes.set(name, { count: 0, errors: 0, buckets: [] });
    return routes.get(name);
  };
  for (const m of metrics) {
    if (m.name === "portico_requests_total" && m.labels.route) {
      const r = route(m.labels.route);
      r.count += m.value;
      if (Number(m.labels.status) >= 500) r.errors += m.value;
    } else if (m.name === "portico_request_duration_seconds_bucket" && m.labels.route) {
      route(m.labels.route).buckets.push([Number(m.labels.le), m.value]);
    } else if (m.labels.table && (m.name === "portico_cache_hits_total" || m.name === "portico_cache_misses_total")) {
      if (!cache.has(m.labels.table)) cache.set(m.labels.table, { hits: 0, misses: 0 });
      cache.get(m.labels.table)[m.name === "portico_cache_hits_total" ? "hits" : "misses"] += m.value;
    }
  }
  samples.push({ t: Date.now(), routes, cache });
  if (samples.length > KEEP) samples.shift();
}

// The latency at quantile q of the requests between two bucket snapshots.
function quantile(q, older, newer) {
  const before = new Map(older.map(([le, n]) => [le, n]));
  const deltas = newer.map(([le, n]) => [le, n - (before.get(le) || 0)]).sort((a, b) => a[0] - b[0]);
  const total = deltas.length ? deltas[deltas.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (const [le, n] of deltas) {
    if (n >= rank) return le;
  }
  return null;
}

function millis(seconds) {
  if (seconds == null) return "-";
  if (!Number.isFinite(seconds)) return "> top bucket";
  return seconds < 0.001 ? `≤ ${(seconds * 1e6).toFixed(0)} µs` : `≤ ${(seconds * 1e3).toFixed(1)} ms`;
}

function sparkline(points) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 160 28");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  const max = Math.max(1, ...points);
  const step = points.length > 1 ? 160 / (points.length - 1) : 0;
  line.setAttribute("points", points.map((p, i) => `${(i * step).toFixed(1)},${(27 - (p / max) * 26).toFixed(1)}`).join(" "));
  svg.append(line);
  // What the chart shows, for tests and for a reader of the page's source.
  svg.dataset.points = String(points.length);
  svg.dataset.max = String(Math.max(0, ...points));
  return svg;
}

function drawRoutes() {
  if (samples.length < 2) return;
  const last = samples[samples.length - 1];
  const first = samples[Math.max(0, samples.length - 1 - WINDOW)];
  const seconds = (last.t - first.t) / 1000;
  const body = $("#routes tbody");
  body.replaceChildren();
  for (const [name, now] of [...last.routes.entries()].sort()) {
    const then = first.routes.get(name) || { count: 0, errors: 0, buckets: [] };
    const requests = now.count - then.count;
    const errors = now.errors - then.errors;
    const row = document.createElement("tr");
    row.dataset.route = name;
    cell(row, code(name));
    cell(row, seconds > 0 ? (requests / seconds).toFixed(1) : "-");
    cell(row, requests > 0 ? `${((errors / requests) * 100).toFixed(1)}%` : "-");
    cell(row, millis(quantile(0.5, then.buckets, now.buckets)));
    cell(row, millis(quantile(0.99, then.buckets, now.buckets)));
    // Requests/s between consecutive samples, over the kept minutes.
    const rates = [];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1].routes.get(name);
      const b = samples[i].routes.get(name);
      const dt = (samples[i].t - samples[i - 1].t) / 1000;
      rates.push(b && dt > 0 ? (b.count - (a ? a.count : 0)) / dt : 0);
    }
    cell(row, sparkline(rates));
    body.append(row);
  }
  const cacheBody = $("#cache tbody");
  cacheBody.replaceChildren();
  for (const [table, c] of [...last.cache.entries()].sort()) {
    const row = document.createElement("tr");
    cell(row, table);
    cell(row, c.hits);
    cell(row, c.misses);
    const total = c.hits + c.misses;
    cell(row, total > 0 ? `${((c.hits / total) * 100).toFixed(1)}%` : "-");
    cacheBody.append(row);
  }
}

async function refresh() {
  try {
    await Promise.all([refreshFunctions(), refreshAudit()]);
    // "Connected." after connecting; an action's own message stays.
    if ($("#status").dataset.state === "idle") setStatus("Connected.", "open");
  } catch (e) {
    setStatus(String(e.message || e), "error");
  }
}

async function tick() {
  try {
    await sample();
    drawRoutes();
    await refreshRequests();
  } catch (e) {
    setStatus(`metrics: ${e.message || e}`, "error");
  }
}

async function connect(event) {
  if (event) event.preventDefault();
  const typed = $("#token").value;
  if (typed) sessionStorage.setItem("portico-admin-token", typed);
  if (!token()) return;
  setStatus("Connecting...", "idle");
  await refresh();
  if (!timer) {
    await tick();
    timer = setInterval(tick, SAMPLE_MS);
    setInterval(refresh, 10000);
  }
}

$("#login").addEventListener("submit", connect);
$("#deploy").addEventListener("submit", deploy);
if (token()) connect();
