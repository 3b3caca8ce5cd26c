// The chat page: login, threads, one WebSocket, and a status panel fed by /api/status.
// Plain browser JavaScript; no framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem("token"),
  user: sessionStorage.getItem("user"),
  thread: null,
  ws: null,
  lastEventId: sessionStorage.getItem("last_event_id"),
  epoch: sessionStorage.getItem("epoch"),
  latencies: [],
  retry: 500,
};

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const resp = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) throw Object.assign(new Error((data && data.message) || resp.statusText), { status: resp.status });
  return data;
}

function show(loggedIn) {
  $("login-view").hidden = loggedIn;
  $("chat-view").hidden = !loggedIn;
  $("logout-btn").hidden = !loggedIn;
  $("who").textContent = loggedIn ? state.user : "";
}

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    const r = await api("POST", "/api/login", { username: $("username").value.trim() });
    state.token = r.token; state.user = r.user_id;
    sessionStorage.setItem("token", r.token); sessionStorage.setItem("user", r.user_id);
    await enter();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
}

async function logout() {
  try { await api("POST", "/api/logout"); } catch (_) { /* already gone */ }
  sessionStorage.clear();
  state.token = null;
  if (state.ws) state.ws.close();
  show(false);
}

async function enter() {
  show(true);
  await loadThreads();
  connect();
}

async function loadThreads() {
  const r = await api("GET", "/api/threads");
  const list = $("threads");
  list.innerHTML = "";
  for (const t of r.threads) addThreadItem(t.id, t.title);
  if (!state.thread) {
    if (r.threads.length) await selectThread(r.threads[0].id, r.threads[0].title);
    else await newThread();
  }
}

function addThreadItem(id, title) {
  const li = document.createElement("li");
  li.textContent = title;
  li.dataset.id = id;
  li.onclick = () => selectThread(id, title);
  $("threads").appendChild(li);
}

async function newThread() {
  const r = await api("POST", "/api/threads", { title: "Thread " + new Date().toLocaleTimeString() });
  addThreadItem(r.id, r.title);
  await selectThread(r.id, r.title);
}

async function selectThread(id, title) {
  state.thread = id;
  $("thread-title").textContent = title;
  for (const li of $("threads").children) li.classList.toggle("active", li.dataset.id === id);
  $("events").innerHTML = "";
  try {
    const r = await api("GET", "/api/threads/" + encodeURIComponent(id) + "/events");
    for (const e of r.events) render(e);
  } catch (e) {
    if (e.status !== 404) render({ type: "error", message: e.message });
  }
}

function describe(e) {
  switch (e.type) {
    case "user_message": return e.text;
    case "agent_thinking": return e.text;
    case "tool_executing": return e.tool_name + " " + (e.text || "");
    case "tool_completed": return e.tool_name + " → " + JSON.stringify(e.results);
    case "agent_completed": return e.text;
    case "agent_failed": return e.text;
    case "error": return e.code + ": " + e.message;
    case "replay": return e.lost ? "history was lost (the log was reset); showing what remains" : "resumed after reconnect";
    default: return e.agent_name || "";
  }
}

function render(e) {
  const li = document.createElement("li");
  li.className = "event";
  li.dataset.type = e.type;
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = e.type;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = describe(e);
  li.append(kind, text);
  $("events").appendChild(li);
  li.scrollIntoView({ block: "end" });
}

function connect() {
  if (!state.token) return;
  const q = new URLSearchParams({ token: state.token });
  if (state.lastEventId) q.set("last_event_id", state.lastEventId);
  if (state.epoch) q.set("epoch", state.epoch);
  const proto = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(proto + location.host + "/ws?" + q);
  state.ws = ws;
  $("ws-state").textContent = "connecting";
  ws.onopen = () => { $("ws-state").textContent = "open"; $("ws-state").className = "ok"; state.retry = 500; };
  ws.onmessage = (m) => onEvent(JSON.parse(m.data));
  ws.onclose = (c) => {
    $("ws-state").textContent = "closed (" + c.code + ")";
    $("ws-state").className = "bad";
    if (c.code === 1008) { logout(); return; }
    if (state.token) { setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 5000); }
  };
}

function onEvent(e) {
  if (e.type === "welcome") { if (e.epoch) remember(null, e.epoch); return; }
  if (e.type === "accepted" || e.type === "pong") return;
  if (e.type === "replay") { if (e.epoch) remember(null, e.epoch); if (e.lost) render(e); return; }
  if (e.event_id) remember(e.event_id, null);
  if (e.type === "error" || !e.thread_id || e.thread_id === state.thread) render(e);
  else if (!document.querySelector('#threads li[data-id="' + CSS.escape(e.thread_id) + '"]')) loadThreads();
}

function remember(id, epoch) {
  if (id) { state.lastEventId = id; sessionStorage.setItem("last_event_id", id); }
  if (epoch) { state.epoch = epoch; sessionStorage.setItem("epoch", epoch); }
}

function send(ev) {
  ev.preventDefault();
  const text = $("message").value.trim();
  if (!text || !state.ws || state.ws.readyState !== WebSocket.OPEN || !state.thread) return;
  state.ws.send(JSON.stringify({ type: "user_message", thread_id: state.thread, text }));
  $("message").value = "";
}

async function pollStatus() {
  try {
    const s = await api("GET", "/api/status");
    $("redis-state").textContent = s.state;
    $("redis-state").className = s.ready ? "ok" : "bad";
    $("breaker-state").textContent = s.breaker.state;
    $("breaker-state").className = s.breaker.state === "closed" ? "ok" : "warn";
    const us = s.ready && s.last_ping_us != null ? s.last_ping_us : null;
    $("ping").textContent = us == null ? "—" : (us / 1000).toFixed(2) + " ms";
    $("outage-box").hidden = !(s.gateway && s.gateway.outage_control);
    state.latencies.push(us);
  } catch (_) {
    $("redis-state").textContent = "gateway unreachable";
    state.latencies.push(null);
  }
  if (state.latencies.length > 60) state.latencies.shift();
  drawChart();
}

function drawChart() {
  const vals = state.latencies.filter((v) => v != null);
  const max = Math.max(1000, ...vals);
  const pts = [];
  state.latencies.forEach((v, i) => {
    if (v != null) pts.push((i * 5).toFixed(1) + "," + (100 - (v / max) * 95).toFixed(1));
  });
  $("latency-line").setAttribute("points", pts.join(" "));
  $("latency-scale").textContent = "last 60 s, top = " + (max / 1000).toFixed(1) + " ms";
}

async function simulateOutage() {
  try {
    const r = await api("POST", "/api/simulate-outage");
    render({ type: "replay", lost: false, note: "outage", message: "" });
    $("events").lastChild.querySelector(".text").textContent = "redis paused for " + r.paused_ms + " ms";
  } catch (e) {
    render({ type: "error", code: "outage", message: e.message });
  }
}

$("login-form").addEventListener("submit", login);
$("send-form").addEventListener("submit", send);
$("logout-btn").addEventListener("click", logout);
$("new-thread-btn").addEventListener("click", newThread);
$("outage-btn").addEventListener("click", simulateOutage);
setInterval(pollStatus, 1000);
pollStatus();
if (state.token) enter().catch(() => { sessionStorage.clear(); state.token = null; show(false); });
else show(false);
