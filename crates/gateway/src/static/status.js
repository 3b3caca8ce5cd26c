// The status panel: what the gateway's Redis manager says, as it says it.
//
// Two sources: the socket pushes a `status` frame the moment readiness or the breaker
// changes (so an outage shows as soon as the gateway knows), and /api/status is polled
// twice a second for the counters and for the health checks, which become the chart's
// samples: each successful check at its own time with its own latency, each failed one
// as a mark. Nothing is made up: no sample means no check was reported.
"use strict";

const Status = (() => {
  const WINDOW_MS = 60000;
  const POLL_MS = 500;
  const st = {
    timer: null, tick: null, samples: [], bands: [], lastChecks: null, lastFailed: null,
    lastOkAt: null, ready: null, outage: null, api: null,
  };
  const el = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  function setText(id, text, cls) {
    const e = el(id);
    e.textContent = text;
    if (cls !== undefined) e.className = cls;
  }

  function fmtMs(us) {
    return (us / 1000).toFixed(us < 10000 ? 2 : 0) + " ms";
  }

  // Opens an outage band when Redis stops serving, closes it when it serves again.
  function markReady(ready, at) {
    const last = st.bands[st.bands.length - 1];
    const open = last && last.end == null;
    if (!ready && !open) st.bands.push({ start: at, end: null });
    if (ready && open) last.end = at;
    if (!ready && st.outage && st.outage.seenAt == null) st.outage.seenAt = at;
    if (ready && st.outage && st.outage.recoveredAt == null && at >= st.outage.resumesAt) {
      st.outage.recoveredAt = at;
    }
    st.ready = ready;
  }

  function applyManager(s, at) {
    const breaker = typeof s.breaker === "string" ? s.breaker : s.breaker.state;
    const redis = s.ready ? "ready" : s.state === "ready" ? "refusing (breaker " + breaker.replace("_", "-") + ")" : s.state;
    setText("redis-state", redis, s.ready ? "ok" : "bad");
    setText("breaker-state", breaker.replace("_", "-"),
      breaker === "closed" ? "ok" : breaker === "open" ? "bad" : "warn");
    markReady(!!s.ready, at);
  }

  function addSample(t, us) {
    if (us != null) {
      if (st.lastOkAt != null && Math.abs(t - st.lastOkAt) < 50) return;
      st.lastOkAt = t;
    }
    st.samples.push({ t, us });
  }

  async function poll() {
    const at = Date.now();
    let s;
    try {
      const r = await fetch("/api/status", { cache: "no-store" });
      s = await r.json();
    } catch (_) {
      setText("verdict", "The gateway does not answer.", "banner bad");
      markReady(false, at);
      draw(at);
      return;
    }
    applyManager(s, at);
    setText("verdict", s.verdict, "banner " + (s.ready ? "ok" : "bad"));
    const silent = s.ms_since_last_health_ok;
    let ping = "none yet";
    if (s.last_ping_us != null) {
      ping = silent != null && silent > 1500
        ? "no answer for " + (silent / 1000).toFixed(1) + " s"
        : fmtMs(s.last_ping_us);
    }
    setText("ping", ping, silent != null && silent > 1500 ? "bad" : "");
    setText("reconnects", String(s.reconnects));
    setText("failed-checks", s.failed_health_checks + " of " + s.health_checks);
    setText("last-error", s.last_error || "none", s.last_error ? "warn" : "");
    el("outage-box").hidden = !(s.gateway && s.gateway.outage_control);
    if (st.lastChecks != null) {
      const failed = s.failed_health_checks - st.lastFailed;
      const ok = s.health_checks - st.lastChecks - failed;
      if (ok > 0 && s.last_ping_us != null && silent != null) addSample(at - silent, s.last_ping_us);
      if (failed > 0) addSample(at, null);
    } else if (s.last_ping_us != null && silent != null) {
      addSample(at - silent, s.last_ping_us);
    }
    st.lastChecks = s.health_checks;
    st.lastFailed = s.failed_health_checks;
    draw(at);
  }

  function niceTop(us) {
    for (const step of [500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000]) {
      if (us <= step) return step;
    }
    return Math.ceil(us / 1e6) * 1e6;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  function draw(now) {
    const W = 320, H = 140, L = 38, R = 6, T = 8, B = 20;
    st.samples = st.samples.filter((p) => p.t >= now - WINDOW_MS - 5000);
    st.bands = st.bands.filter((b) => b.end == null || b.end >= now - WINDOW_MS - 5000);
    // The time axis covers what there is to show, from 20 s up to the last minute, so a
    // short outage right after the page opened is not a sliver.
    const first = st.samples.length ? st.samples[0].t : now;
    const span = Math.min(WINDOW_MS, Math.max(20000, Math.ceil((now - first + 2000) / 5000) * 5000));
    const pw = W - L - R, ph = H - T - B, t0 = now - span;
    const top = niceTop(Math.max(500, ...st.samples.filter((p) => p.us != null).map((p) => p.us)));
    const x = (t) => L + Math.max(0, Math.min(1, (t - t0) / span)) * pw;
    const y = (us) => T + ph - (us / top) * ph;
    const bands = el("chart-bands");
    bands.replaceChildren();
    for (const b of st.bands) {
      const end = b.end == null ? now : b.end;
      bands.append(svg("rect", {
        class: "outage-band", x: x(b.start), y: T, width: Math.max(1, x(end) - x(b.start)), height: ph,
        "data-start": b.start, "data-end": b.end == null ? "" : b.end,
      }));
    }
    const grid = el("chart-grid");
    grid.replaceChildren();
    for (const f of [0, 0.5, 1]) {
      grid.append(svg("line", { x1: L, x2: W - R, y1: y(top * f), y2: y(top * f) }));
      grid.append(svg("text", { x: L - 3, y: y(top * f) + 3, "text-anchor": "end" }, fmtMs(top * f)));
    }
    const step = Math.max(5, Math.round(span / 4000 / 5) * 5);
    for (let s = Math.floor(span / 1000 / step) * step; s >= 0; s -= step) {
      const xs = x(now - s * 1000);
      grid.append(svg("line", { x1: xs, x2: xs, y1: T, y2: T + ph }));
      grid.append(svg("text", { x: xs, y: H - 6, "text-anchor": "middle" }, s === 0 ? "now" : "-" + s + " s"));
    }
    const points = el("chart-points");
    points.replaceChildren();
    let d = "", pen = false;
    for (const p of st.samples.filter((q) => q.t >= t0).sort((a, b) => a.t - b.t)) {
      if (p.us == null) {
        points.append(svg("path", { class: "failed-check", d: `M${x(p.t) - 3},${T + 1}l6,6m0,-6l-6,6` }));
        pen = false;
        continue;
      }
      d += (pen ? "L" : "M") + x(p.t).toFixed(1) + "," + y(p.us).toFixed(1);
      pen = true;
      points.append(svg("circle", { class: "sample", cx: x(p.t), cy: y(p.us), r: 1.4 }));
    }
    el("latency-line").setAttribute("d", d);
  }

  function showOutage() {
    const o = st.outage;
    if (!o) return;
    const now = Date.now();
    const secs = (ms) => (ms / 1000).toFixed(1) + " s";
    const seen = o.seenAt == null ? "the gateway has not noticed yet" : "outage seen after " + secs(o.seenAt - o.pausedAt);
    let text;
    if (now < o.resumesAt) {
      text = "Redis paused: resumes in " + secs(o.resumesAt - now) + "; " + seen + ".";
    } else if (o.recoveredAt == null) {
      if (st.ready && o.seenAt == null) o.recoveredAt = now;
      text = "Redis resumed " + secs(now - o.resumesAt) + " ago; waiting for the gateway to serve again.";
    }
    if (o.recoveredAt != null) {
      text = "Recovered: serving again " + secs(Math.max(0, o.recoveredAt - o.resumesAt)) +
        " after Redis resumed (" + seen + ").";
      // One outage at a time for everyone, then a cooldown: the button waits it out.
      if (now < o.nextAt) {
        text += " The next outage can start in " + Math.ceil((o.nextAt - now) / 1000) + " s.";
      } else {
        clearInterval(st.tick);
        st.tick = null;
        el("outage-btn").disabled = false;
      }
    }
    setText("outage-status", text);
  }

  async function simulate() {
    el("outage-btn").disabled = true;
    try {
      const r = await st.api("POST", "/api/simulate-outage");
      const now = Date.now();
      st.outage = { pausedAt: now, resumesAt: now + r.paused_ms, nextAt: now + r.paused_ms + (r.cooldown_ms || 0),
        seenAt: null, recoveredAt: null };
      clearInterval(st.tick);
      st.tick = setInterval(showOutage, 100);
      showOutage();
    } catch (e) {
      // A refusal (another outage running, the cooldown, not allowed) in the gateway's words.
      setText("outage-status", "Could not pause Redis: " + e.message + ".");
      el("outage-btn").disabled = false;
    }
  }

  el("outage-btn").addEventListener("click", simulate);

  return {
    // Starts polling; `api` makes authenticated requests (the outage control needs one).
    start(api) {
      st.api = api;
      if (st.timer == null) {
        st.timer = setInterval(poll, POLL_MS);
        poll();
      }
    },
    // Stops polling and forgets everything shown.
    stop() {
      clearInterval(st.timer);
      clearInterval(st.tick);
      Object.assign(st, { timer: null, tick: null, samples: [], bands: [], lastChecks: null,
        lastFailed: null, lastOkAt: null, ready: null, outage: null });
      setText("outage-status", "");
      el("outage-btn").disabled = false;
    },
    // A `status` frame pushed by the socket: shown at once, then the rest of the panel is
    // read again so that nothing on it contradicts the change.
    onPush(frame) {
      applyManager(frame, Date.now());
      const breaker = frame.breaker.replace("_", "-");
      setText("verdict", frame.ready
        ? "ready: Redis answers again (breaker " + breaker + ")"
        : "not ready: " + (frame.state === "ready"
          ? "the circuit breaker is " + breaker + "; calls fail fast until Redis answers"
          : "the connection is " + frame.state),
        "banner " + (frame.ready ? "ok" : "bad"));
      draw(Date.now());
      poll();
    },
    // The socket's own state.
    socket(text, cls) {
      setText("ws-state", text, cls);
    },
  };
})();
