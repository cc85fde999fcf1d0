// The lab console: polls the console's JSON API (relative URLs, so any proxy prefix works) and draws it.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const openChaos = new Set();  // services whose chaos form is open (kept across redraws)
const busy = new Set();       // components with an action in flight

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

async function api(path, options = {}) {
  const resp = await fetch("api/" + path, {headers: {"Content-Type": "application/json"}, ...options});
  const body = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) throw new Error(body?.error?.message || `${resp.status} ${resp.statusText}`);
  return body;
}

function showError(message) {
  const box = $("#error");
  box.hidden = !message;
  box.textContent = message || "";
}

function chaosSummary(chaos) {
  if (!chaos) return el("span", {class: "muted"}, "—");
  const parts = [];
  if (chaos.down) parts.push("down");
  if (chaos.latency_ms) parts.push(`+${chaos.latency_ms} мс`);
  if (chaos.jitter_ms) parts.push(`±${chaos.jitter_ms} мс`);
  if (chaos.error_rate) parts.push(`${Math.round(chaos.error_rate * 100)}% → ${chaos.error_status}`);
  return parts.length ? el("span", {class: "chaos-on"}, parts.join(", ")) : el("span", {class: "muted"}, "вимкнено");
}

function stateBadge(c) {
  if (busy.has(c.name)) return el("span", {class: "badge busy"}, "зачекайте…");
  const label = c.health === "healthy" && c.state && c.state !== "running" ? `${c.health} · ${c.state}` : c.health;
  return el("span", {class: `badge ${c.health}`, "data-health": c.health}, label);
}

function actions(c) {
  if (!c.controllable) return el("span", {class: "muted"}, "");
  const cell = el("span");
  const running = c.health !== "stopped";
  for (const [action, label, show] of [["stop", "stop", running], ["start", "start", !running], ["restart", "restart", running]]) {
    if (!show) continue;
    const button = el("button", {"data-action": action, "data-name": c.name, disabled: busy.has(c.name)}, label);
    button.addEventListener("click", () => act(c.name, action));
    cell.append(button);
  }
  if (c.kind === "service" && running) {
    const toggle = el("button", {"data-action": "chaos", "data-name": c.name}, "chaos…");
    toggle.addEventListener("click", () => { openChaos.has(c.name) ? openChaos.delete(c.name) : openChaos.add(c.name); refresh(); });
    cell.append(toggle);
  }
  return cell;
}

function chaosRow(c) {
  const form = $("#chaos-form").content.firstElementChild.cloneNode(true);
  const chaos = c.chaos || {};
  form.latency_ms.value = chaos.latency_ms || 0;
  form.error_rate.value = Math.round((chaos.error_rate || 0) * 100);
  form.error_status.value = String(chaos.error_status || 500);
  form.down.checked = !!chaos.down;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setChaos(c.name, {latency_ms: Number(form.latency_ms.value), error_rate: Number(form.error_rate.value) / 100,
                      error_status: Number(form.error_status.value), down: form.down.checked});
  });
  form.querySelector("[data-action=chaos-off]").addEventListener("click", () => setChaos(c.name, null));
  return el("tr", {class: "chaos-row", "data-name": c.name}, el("td", {colSpan: 5}, form));
}

function drawComponents(overview) {
  const body = $("#components tbody");
  const rows = [];
  for (const c of overview.components) {
    const name = el("td", {}, el("b", {}, c.name), el("span", {class: "kind"}, c.kind));
    if (c.docs) name.append(" ", el("a", {href: c.docs, target: "_blank", rel: "noopener"}, "/docs"));
    const memory = c.pss_mb != null ? `${c.pss_mb.toFixed(1)} MB` : (c.kind === "service" && c.health !== "stopped" ? "у host" : "—");
    rows.push(el("tr", {"data-name": c.name, "data-kind": c.kind},
      name, el("td", {class: "state"}, stateBadge(c), c.note ? el("div", {class: "muted"}, c.note) : ""),
      el("td", {class: "num"}, memory), el("td", {class: "chaos"}, chaosSummary(c.chaos)), el("td", {}, actions(c))));
    if (openChaos.has(c.name) && c.kind === "service" && c.health !== "stopped") rows.push(chaosRow(c));
  }
  const focused = document.activeElement?.closest?.("form.chaos");
  if (!focused) body.replaceChildren(...rows);  // never redraw under a student who is typing
  const healthy = overview.components.filter((c) => c.health === "healthy" || c.health === "external").length;
  $("#summary").textContent = `${healthy} з ${overview.components.length} компонентів працюють · ` +
    `пам'ять процесів лабораторії: ${overview.total_pss_mb.toFixed(0)} MB · ${new Date().toLocaleTimeString("uk-UA")}`;
}

function fill(table, items, row) {
  const section = $(`#${table}`).closest("section");
  $(`#${table} tbody`).replaceChildren(...items.map(row));
  $(".empty", section).hidden = items.length > 0;
}

const QUEUES_SHOWN = 12;

function drawQueues(all) {
  // The deepest first; the bus's many empty retry queues only as a count.
  const queues = [...all].sort((a, b) => (b.ready + b.unacked) - (a.ready + a.unacked) || b.consumers - a.consumers)
    .filter((q, i) => i < QUEUES_SHOWN || q.ready + q.unacked > 0);
  const hidden = all.length - queues.length;
  $("#queues-more").textContent = hidden ? `і ще ${hidden} порожніх черг` : "";
  const peak = Math.max(1, ...queues.map((q) => q.ready + q.unacked));
  fill("queues", queues, (q) => el("tr", {"data-name": q.name},
    el("td", {}, el("code", {}, q.vhost === "/" ? q.name : `${q.vhost} · ${q.name}`)),
    el("td", {}, el("span", {class: "bar", style: `width:${(120 * q.ready) / peak}px`}),
                 el("span", {class: "bar unacked", style: `width:${(120 * q.unacked) / peak}px`})),
    el("td", {class: "num"}, q.ready), el("td", {class: "num"}, q.unacked), el("td", {class: "num"}, q.consumers)));
}

function drawDeliveries(page) {
  fill("deliveries", page.data || [], (d) => el("tr", {},
    el("td", {}, d.event_type), el("td", {}, el("code", {}, d.url)),
    el("td", {}, el("span", {class: `badge ${d.status === "succeeded" ? "healthy" : d.status === "failed" ? "failed" : "busy"}`}, d.status)),
    el("td", {class: "num"}, d.attempts_made), el("td", {class: "num"}, d.last_status_code ?? "—")));
}

function drawEvents(events) {
  fill("events", events, (e) => el("tr", {},
    el("td", {}, (e.time || "").replace("T", " ").slice(0, 19)), el("td", {}, el("b", {}, e.type)),
    el("td", {}, el("code", {}, e.subject || "")), el("td", {class: "muted"}, e.source || "")));
}

function drawTraces(traces) {
  fill("traces", traces, (t) => {
    const row = el("tr", {"data-trace": t.trace_id}, el("td", {}, t.root),
      el("td", {title: t.services.join(", ")}, t.services.length > 3 ? `${t.services.length} сервісів` : t.services.join(", ")),
      el("td", {class: "num"}, t.spans), el("td", {class: "num"}, t.duration_ms.toFixed(1)));
    row.addEventListener("click", () => showTrace(t.trace_id));
    return row;
  });
}

async function showTrace(traceId) {
  const rows = await api(`traces/${traceId}`).catch((e) => { showError(e.message); return []; });
  const total = Math.max(0.001, ...rows.map((r) => r.start_ms + r.duration_ms));
  $("#waterfall").replaceChildren(el("h3", {}, `Траса ${traceId}`), ...rows.map((r) => el("div", {class: "span-row"},
    el("span", {style: `padding-left:${r.depth * 0.8}rem`}, el("b", {}, r.service), " ", r.operation),
    el("span", {class: "span-track"}, el("span", {class: `span-bar ${r.status === "error" ? "error" : ""}`,
      style: `left:${(100 * r.start_ms) / total}%;width:${Math.max(0.4, (100 * r.duration_ms) / total)}%`})),
    el("span", {class: "num"}, `${r.duration_ms.toFixed(1)} мс`))));
}

async function act(name, action) {
  busy.add(name);
  refresh();
  try {
    await api(`components/${name}/${action}`, {method: "POST"});
    showError("");
  } catch (e) {
    showError(`${name}: ${e.message}`);
  } finally {
    busy.delete(name);
    refresh();
  }
}

async function setChaos(name, switches) {
  try {
    await api(`services/${name}/chaos`, switches ? {method: "PUT", body: JSON.stringify(switches)} : {method: "DELETE"});
    openChaos.delete(name);
    showError("");
  } catch (e) {
    showError(`${name}: ${e.message}`);
  }
  refresh();
}

async function refresh() {
  try {
    drawComponents(await api("overview"));
  } catch (e) {
    showError(`Консоль не отримала стан лабораторії: ${e.message}`);
  }
}

async function refreshPanels() {
  const panels = [["queues", drawQueues], ["deliveries", drawDeliveries, "?limit=8"], ["events", drawEvents, "?limit=10"],
                  ["traces", drawTraces, "?limit=10"]];
  await Promise.all(panels.map(async ([path, draw, query = ""]) => {
    const section = $(`#${path}`).closest("section");
    try {
      draw(await api(path + query));
      section.classList.remove("unavailable");
    } catch (e) {
      $(`#${path} tbody`).replaceChildren(el("tr", {}, el("td", {colSpan: 5, class: "muted"}, e.message)));
      section.classList.add("unavailable");
    }
  }));
}

function every(ms, fn) {
  fn();
  setInterval(() => { if (!document.hidden) fn(); }, ms);
}

every(3000, refresh);
every(5000, refreshPanels);
