// The chat page: login (demo name or JWT), threads, one WebSocket, the conversation grouped
// by run. Plain browser JavaScript; no framework, no build step. Everything shown comes from
// the server as text and is set with textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const state = {
  token: null, user: null, expiresAt: null, expiryTimer: null, authMode: "demo",
  thread: null, ws: null, retry: 500, lastEventId: null, epoch: null,
  events: new Map(), older: null, pending: new Map(), refSeq: 0, failed: null,
};

async function api(method, path, body) {
  const headers = {};
  if (body) headers["Content-Type"] = "application/json";
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const resp = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let data = null;
  try { data = await resp.json(); } catch (_) { /* not JSON */ }
  if (!resp.ok) {
    const message = (data && data.message) || resp.statusText;
    throw Object.assign(new Error(message), { status: resp.status, code: data && data.error });
  }
  return data;
}

// ---- logged in or out -------------------------------------------------------------------

function show(loggedIn) {
  $("login-view").hidden = loggedIn;
  $("chat-view").hidden = !loggedIn;
  $("logout-btn").hidden = !loggedIn;
  $("who").textContent = loggedIn ? state.user : "";
  if (!loggedIn) forgetUser();
}

// Removes everything of the user from the page and the tab's storage.
function forgetUser() {
  for (const id of ["threads", "runs"]) $(id).replaceChildren();
  for (const id of ["thread-title", "who", "send-error-text"]) $(id).textContent = "";
  $("message").value = "";
  $("send-error").hidden = true;
  $("older-btn").hidden = true;
  Status.stop();
  clearTimeout(state.expiryTimer);
  if (state.ws) { state.ws.onclose = null; state.ws.close(); }
  Object.assign(state, {
    token: null, user: null, expiresAt: null, thread: null, ws: null, lastEventId: null,
    epoch: null, older: null, failed: null,
  });
  state.events.clear();
  state.pending.clear();
  sessionStorage.clear();
}

async function detectAuthMode() {
  try {
    const s = await (await fetch("/api/status", { cache: "no-store" })).json();
    state.authMode = (s.gateway && s.gateway.auth_mode) || "demo";
  } catch (_) { /* keep the demo form */ }
  $("demo-login").hidden = state.authMode === "jwt";
  $("jwt-login").hidden = state.authMode !== "jwt";
}

async function login(ev) {
  ev.preventDefault();
  $("login-error").textContent = "";
  const body = state.authMode === "jwt"
    ? { token: $("jwt").value.trim() }
    : { username: $("username").value.trim() };
  try {
    const r = await api("POST", "/api/login", body);
    state.token = r.token; state.user = r.user_id; state.expiresAt = r.expires_at_ms;
    sessionStorage.setItem("session", JSON.stringify({ token: r.token, user: r.user_id, expiresAt: r.expires_at_ms }));
    $("jwt").value = "";
    await enter();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
}

async function logout() {
  if (state.ws) state.ws.onclose = null;
  try { await api("POST", "/api/logout"); } catch (_) { /* the session is gone already */ }
  endSession("");
}

// The session is over (logout, expiry, revocation): back to the login form, with a reason.
function endSession(reason) {
  show(false);
  $("login-error").textContent = reason;
}

// A session never outlives its expiry (for a JWT login, the token's `exp`).
function scheduleExpiry() {
  clearTimeout(state.expiryTimer);
  if (!state.expiresAt) return;
  const left = Math.max(0, state.expiresAt - Date.now());
  state.expiryTimer = setTimeout(() => endSession("Your session has ended: its token expired. Log in again."), left);
}

async function enter() {
  show(true);
  scheduleExpiry();
  Status.start(api);
  await loadThreads(true);
  connect();
}

// ---- threads and history ----------------------------------------------------------------

async function loadThreads(select) {
  const r = await api("GET", "/api/threads");
  $("threads").replaceChildren(...r.threads.map((t) => threadItem(t.id, t.title)));
  const current = r.threads.find((t) => t.id === state.thread);
  if (current) $("thread-title").textContent = current.title;
  markActive();
  if (select && !state.thread) {
    if (r.threads.length) await selectThread(r.threads[0].id, r.threads[0].title);
    else await newThread();
  }
}

function threadItem(id, title) {
  const li = document.createElement("li");
  li.textContent = title;
  li.dataset.id = id;
  li.onclick = () => selectThread(id, li.textContent);
  return li;
}

function markActive() {
  for (const li of $("threads").children) li.classList.toggle("active", li.dataset.id === state.thread);
}

async function newThread() {
  const r = await api("POST", "/api/threads", {});
  $("threads").prepend(threadItem(r.id, r.title));
  await selectThread(r.id, r.title);
}

async function selectThread(id, title) {
  state.thread = id;
  $("thread-title").textContent = title;
  markActive();
  state.events.clear();
  state.older = null;
  $("runs").replaceChildren();
  $("older-btn").hidden = true;
  const r = await api("GET", "/api/threads/" + encodeURIComponent(id) + "/events?limit=" + PAGE);
  if (state.thread !== id) return;
  addEvents(r.events);
  setOlder(r);
  $("events").scrollTop = $("events").scrollHeight;
}

function setOlder(page) {
  state.older = page.has_older ? page.before : null;
  $("older-btn").hidden = state.older == null;
}

async function loadOlder() {
  if (state.older == null) return;
  const id = state.thread;
  const r = await api("GET", "/api/threads/" + encodeURIComponent(id) + "/events?limit=" + PAGE +
    "&before=" + encodeURIComponent(state.older));
  if (state.thread !== id) return;
  const box = $("events");
  const fromBottom = box.scrollHeight - box.scrollTop;
  addEvents(r.events);
  setOlder(r);
  box.scrollTop = box.scrollHeight - fromBottom;
}

// ---- the conversation, grouped by run ---------------------------------------------------

const cmpId = (a, b) => {
  const [am, as] = a.split("-").map(Number), [bm, bs] = b.split("-").map(Number);
  return am - bm || as - bs;
};
const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });

function fields(v) {
  if (v == null) return "";
  if (typeof v === "string") {
    try { v = JSON.parse(v); } catch (_) { return v; }
  }
  if (typeof v !== "object" || Array.isArray(v)) return JSON.stringify(v);
  return Object.entries(v).map(([k, x]) => k + ": " + (typeof x === "string" ? x : JSON.stringify(x))).join(", ");
}

// What an event shows: a short kind and its text, tool calls as readable fields.
function describe(e) {
  switch (e.type) {
    case "user_message": return ["You", e.text];
    case "agent_started": return ["Started", (e.agent_name || "agent") + " agent"];
    case "agent_thinking": return ["Thinking", e.text];
    case "tool_executing": return ["Tool", e.tool_name + "(" + fields(e.text) + ")"];
    case "tool_completed": return ["Result", e.tool_name + " → " + fields(e.results)];
    case "agent_completed": return ["Reply", e.text];
    case "agent_failed": return ["Failed", e.text];
    default: return [e.type, e.message || ""];
  }
}

function row(e) {
  const div = document.createElement("div");
  div.className = "event";
  div.dataset.type = e.type;
  if (e.event_id) div.dataset.eventId = e.event_id;
  const [kind, text] = describe(e);
  const time = document.createElement("time");
  time.textContent = clock(e.timestamp || Date.now());
  const k = document.createElement("span");
  k.className = "kind";
  k.textContent = kind;
  const t = document.createElement("span");
  t.className = "text";
  t.textContent = text || "";
  div.append(time, k, t);
  return div;
}

// Adds stored events of the current thread (each once), in id order, grouped by run.
function addEvents(list) {
  let appendOnly = true;
  const newest = [...state.events.keys()].sort(cmpId).pop();
  for (const e of list) {
    if (!e.event_id || e.thread_id !== state.thread || state.events.has(e.event_id)) continue;
    if (newest && cmpId(e.event_id, newest) < 0) appendOnly = false;
    state.events.set(e.event_id, e);
    if (appendOnly) appendRow(e);
  }
  if (!appendOnly) renderAll();
}

function runCard(runId, first) {
  const card = document.createElement("article");
  card.className = "run";
  card.dataset.run = runId;
  const head = document.createElement("div");
  head.className = "run-head";
  head.textContent = "Run " + runId.slice(0, 6) + " · " + clock(first.timestamp);
  card.append(head);
  return card;
}

function appendRow(e) {
  const runs = $("runs");
  let card = runs.lastElementChild;
  if (!card || card.dataset.run !== e.run_id) {
    card = runCard(e.run_id, e);
    runs.append(card);
  }
  card.append(row(e));
  updateHead(card);
  const box = $("events");
  box.scrollTop = box.scrollHeight;
}

function updateHead(card) {
  const rows = card.querySelectorAll(".event[data-event-id]");
  const first = state.events.get(rows[0].dataset.eventId);
  const last = state.events.get(rows[rows.length - 1].dataset.eventId);
  const ms = Math.max(0, last.timestamp - first.timestamp);
  const took = last.type === "agent_completed" || last.type === "agent_failed"
    ? " · answered in " + (ms < 1 ? "under 1 ms" : ms + " ms") : "";
  card.firstChild.textContent = "Run " + first.run_id.slice(0, 6) + " · " + clock(first.timestamp) + took;
}

function renderAll() {
  $("runs").replaceChildren();
  for (const id of [...state.events.keys()].sort(cmpId)) {
    const runs = $("runs"), e = state.events.get(id);
    let card = runs.lastElementChild;
    if (!card || card.dataset.run !== e.run_id) { card = runCard(e.run_id, e); runs.append(card); }
    card.append(row(e));
  }
  for (const card of $("runs").children) updateHead(card);
}

// A notice about a run (or the conversation), never stored: an outage, a failed run.
function notice(e) {
  const card = e.run_id && document.querySelector('#runs .run[data-run="' + CSS.escape(e.run_id) + '"]');
  const r = row({ type: "notice", timestamp: e.timestamp, message: e.message });
  r.querySelector(".kind").textContent = e.code === "redis_unavailable" ? "Outage" : "Notice";
  (card || $("runs")).append(r);
}

// ---- the socket -------------------------------------------------------------------------

function connect() {
  if (!state.token) return;
  const q = new URLSearchParams({ token: state.token });
  if (state.lastEventId) q.set("last_event_id", state.lastEventId);
  if (state.epoch) q.set("epoch", state.epoch);
  const proto = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(proto + location.host + "/ws?" + q);
  state.ws = ws;
  Status.socket("connecting", "warn");
  ws.onopen = () => { Status.socket("open", "ok"); state.retry = 500; };
  ws.onmessage = (m) => onFrame(JSON.parse(m.data));
  ws.onclose = (c) => {
    Status.socket("closed (" + c.code + (c.reason ? ": " + c.reason : "") + ")", "bad");
    if (c.code === 1008) {
      endSession(c.reason === "session expired"
        ? "Your session has ended: its token expired. Log in again."
        : "You were logged out (" + (c.reason || "session ended") + ").");
      return;
    }
    if (state.token) { setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 5000); }
  };
}

function onFrame(e) {
  switch (e.type) {
    case "welcome": remember(null, e.epoch); return;
    case "pong": return;
    case "status": Status.onPush(e); return;
    case "replay":
      remember(null, e.epoch);
      if (e.lost) notice({ code: "lost", timestamp: Date.now(), message: "Some history was lost (the log was reset); showing what remains." });
      return;
    case "accepted": accepted(e); return;
    case "error": refused(e); return;
  }
  if (e.event_id) remember(e.event_id, null);
  if (e.thread_id === state.thread) addEvents([e]);
  const item = document.querySelector('#threads li[data-id="' + CSS.escape(e.thread_id) + '"]');
  if (!item || (e.type === "agent_completed" && item.textContent === e.thread_id)) loadThreads(false);
}

function remember(id, epoch) {
  if (id) state.lastEventId = id;
  if (epoch) state.epoch = epoch;
}

// ---- sending: a message stays in the box until the gateway accepts it -------------------

function send(ev) {
  ev.preventDefault();
  const text = $("message").value;
  if (!text.trim() || !state.thread) return;
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) {
    failed({ text, thread: state.thread }, "Not connected to the gateway right now; your message is kept.");
    return;
  }
  const ref = "m" + (++state.refSeq);
  const p = { text, thread: state.thread, timer: null };
  p.timer = setTimeout(() => {
    if (state.pending.delete(ref)) failed(p, "No answer from the gateway; your message is kept.");
  }, 10000);
  state.pending.set(ref, p);
  state.ws.send(JSON.stringify({ type: "user_message", thread_id: p.thread, text, client_ref: ref }));
}

function accepted(e) {
  const p = state.pending.get(e.client_ref);
  if (!p) return;
  clearTimeout(p.timer);
  state.pending.delete(e.client_ref);
  if ($("message").value === p.text) $("message").value = "";
  $("send-error").hidden = true;
  state.failed = null;
}

function refused(e) {
  const p = e.client_ref && state.pending.get(e.client_ref);
  if (!p) { notice(e); return; }
  clearTimeout(p.timer);
  state.pending.delete(e.client_ref);
  failed(p, e.message);
}

// Shows why a message was not taken, puts it back in the box, and offers to send it again.
function failed(p, why) {
  state.failed = p;
  if (!$("message").value.trim()) $("message").value = p.text;
  $("send-error-text").textContent = why;
  $("send-error").hidden = false;
}

function retry() {
  const p = state.failed;
  if (!p) return;
  $("message").value = p.text;
  if (p.thread !== state.thread) {
    const item = document.querySelector('#threads li[data-id="' + CSS.escape(p.thread) + '"]');
    if (item) item.click();
  }
  $("send-form").requestSubmit();
}

$("login-form").addEventListener("submit", login);
$("send-form").addEventListener("submit", send);
$("retry-btn").addEventListener("click", retry);
$("logout-btn").addEventListener("click", logout);
$("new-thread-btn").addEventListener("click", () => newThread().catch((e) => failed({ text: $("message").value, thread: state.thread }, e.message)));
$("older-btn").addEventListener("click", () => loadOlder().catch((e) => notice({ timestamp: Date.now(), message: e.message })));

(async () => {
  await detectAuthMode();
  const saved = JSON.parse(sessionStorage.getItem("session") || "null");
  if (saved && saved.token && (!saved.expiresAt || saved.expiresAt > Date.now())) {
    Object.assign(state, { token: saved.token, user: saved.user, expiresAt: saved.expiresAt });
    try { await enter(); return; } catch (_) { /* the session is gone: log in again */ }
  }
  show(false);
})();
