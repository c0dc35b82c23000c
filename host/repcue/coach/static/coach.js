// The coach's page: tiles from the SSE stream, countdowns ticked here every second.
"use strict";

const tiles = new Map(); // "athlete/device_id" -> tile (the state snapshot + online)
const sessions = new Map(); // uid -> finished session
let offsetMs = 0; // the server's clock minus this page's: a phone's clock may be off

const $ = (id) => document.getElementById(id);
const now = () => Date.now() + offsetMs;

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
}

function clock(ms, tenths) {
  const neg = ms < 0;
  ms = Math.abs(ms);
  const total = tenths ? Math.floor(ms / 100) / 10 : Math.floor(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total - m * 60;
  const ss = tenths ? s.toFixed(1).padStart(4, "0") : String(s).padStart(2, "0");
  return (neg ? "-" : "") + m + ":" + ss;
}

function pace(sPerKm) {
  if (sPerKm == null) return "";
  return clock(Math.round(sPerKm) * 1000, false) + "/km";
}

function badge(tile) {
  if (tile.online === false) return "offline";
  if (tile.status === "paused") return "paused";
  if (tile.status === "finished" || tile.status === "stopped") return "finished";
  return "online";
}

// What the big number says: time to the next change, a distance, or the state.
function left(tile) {
  const step = tile.step;
  if (tile.status === "finished" || tile.status === "stopped") return "done";
  if (!step) return tile.status === "running" ? "" : "–";
  if (tile.status === "paused") return "paused";
  if (step.ends_wall) {
    const ms = Date.parse(step.ends_wall) - now();
    return clock(Math.max(0, ms + 999), false); // 0:00 only when it is over
  }
  if (step.distance_m) return step.distance_m + " m";
  return "";
}

function repText(step) {
  if (!step || step.rep == null) return "";
  return step.reps ? step.rep + "/" + step.reps : String(step.rep);
}

function lastRep(tile) {
  const last = tile.last_rep;
  if (!last) return "";
  let diff = "";
  if (last.diff_ms != null) {
    const cls = last.diff_ms > 0 ? "slow" : last.diff_ms < 0 ? "fast" : "";
    const sign = last.diff_ms > 0 ? "+" : last.diff_ms < 0 ? "−" : "±";
    diff = ` <span class="diff ${cls}">${sign}${(Math.abs(last.diff_ms) / 1000).toFixed(1)} s</span>`;
  }
  return `<span><span class="label">rep ${esc(last.rep ?? "")}</span> ` +
    `<span class="last">${clock(last.actual_ms, true)}</span>${diff}</span>`;
}

function render(tile) {
  const step = tile.step;
  const kind = step ? String(step.kind) : "";
  const state = badge(tile);
  const target = step && step.target_pace_s_per_km != null ? pace(step.target_pace_s_per_km) : "";
  const lastPace = tile.last_rep && tile.last_rep.pace_s_per_km != null
    ? pace(tile.last_rep.pace_s_per_km) : "";
  const next = tile.next ? `<span><span class="label">next</span> ${esc(tile.next.kind)}</span>` : "";
  return `
    <div class="top">
      <span class="athlete">${esc(tile.athlete)}</span>
      <span class="badge ${state}">${state}</span>
    </div>
    <div class="device">${esc(tile.name || "")} · ${esc(tile.device_id)}${tile.plan_name ? " · " + esc(tile.plan_name) : ""}</div>
    <div class="step">
      <span class="kind">${esc(kind || tile.status || "")}</span>
      <span class="rep">${esc(repText(step))}</span>
      <span class="left">${esc(left(tile))}</span>
    </div>
    <div class="row">
      ${lastRep(tile)}
      ${lastPace ? `<span><span class="label">pace</span> <span class="pace">${lastPace}</span></span>` : ""}
      ${target ? `<span><span class="label">target</span> <span class="target">${target}</span></span>` : ""}
      ${next}
    </div>`;
}

function showTile(tile) {
  const key = tile.athlete + "/" + tile.device_id;
  tiles.set(key, tile);
  let el = document.querySelector(`.tile[data-key="${CSS.escape(key)}"]`);
  if (!el) {
    el = document.createElement("article");
    el.dataset.key = key;
    // in order of athlete then device, as /api/athletes lists them
    const after = [...$("tiles").children].find((other) => other.dataset.key > key);
    $("tiles").insertBefore(el, after || null);
  }
  const kind = tile.step ? "kind-" + String(tile.step.kind).replace(/[^a-z_]/g, "") : "";
  el.className = `tile ${kind} ${badge(tile)}`;
  el.innerHTML = render(tile);
  $("empty").hidden = tiles.size > 0;
}

function tick() {
  for (const [key, tile] of tiles) {
    const el = document.querySelector(`.tile[data-key="${CSS.escape(key)}"] .left`);
    if (el) el.textContent = left(tile);
  }
}

function showSession(session) {
  if (sessions.has(session.uid)) return;
  sessions.set(session.uid, session);
  const head = session.session || {};
  const li = document.createElement("li");
  li.dataset.uid = session.uid;
  const reps = head.reps_done != null
    ? `${head.reps_done}${head.reps_planned != null ? "/" + head.reps_planned : ""} reps` : "";
  const parts = [head.plan, reps, head.duration_ms != null ? clock(head.duration_ms, false) : "",
    head.end_reason, head.device].filter((p) => p);
  li.innerHTML = `<span class="who">${esc(session.athlete)}</span> ${parts.map(esc).join(" · ")}`;
  $("sessions").prepend(li);
}

function connect() {
  const source = new EventSource("api/stream");
  source.addEventListener("open", () => {
    $("link").textContent = "live";
    $("link").className = "link up";
  });
  source.addEventListener("error", () => {
    $("link").textContent = "reconnecting";
    $("link").className = "link down";
  });
  source.addEventListener("hello", (e) => {
    offsetMs = JSON.parse(e.data).server_ms - Date.now();
  });
  source.addEventListener("state", (e) => showTile(JSON.parse(e.data)));
  source.addEventListener("session", (e) => showSession(JSON.parse(e.data)));
}

let startTimer = null;

function startCountdown(atMs) {
  const box = $("countdown");
  box.hidden = false;
  box.className = "countdown";
  clearInterval(startTimer);
  const step = () => {
    const ms = atMs - now();
    if (ms > 0) {
      box.textContent = "Start in " + Math.ceil(ms / 1000);
    } else if (ms > -3000) {
      box.textContent = "GO";
    } else {
      box.hidden = true;
      clearInterval(startTimer);
      $("start").disabled = false;
    }
  };
  step();
  startTimer = setInterval(step, 100);
}

async function groupStart() {
  if (!window.confirm("Start every athlete's device in 5 seconds?")) return;
  $("start").disabled = true;
  try {
    const answer = await fetch("api/start", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ in_s: 5 }),
    });
    const body = await answer.json();
    if (!answer.ok) throw new Error(body.error || answer.statusText);
    startCountdown(body.at_ms);
  } catch (err) {
    const box = $("countdown");
    box.hidden = false;
    box.className = "countdown error";
    box.textContent = "No group start: " + err.message;
    $("start").disabled = false;
  }
}

$("start").addEventListener("click", groupStart);
connect();
setInterval(tick, 1000);
