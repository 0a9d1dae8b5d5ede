// occreid review: the queue, one tracklet as a filmstrip, keyboard-first labelling.
// Every change goes to the server at once (the store is the truth); the page only mirrors it.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const state = { queue: [], tracklet: null, anchor: 0, focus: 0, overlay: false, session: null };
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const init = { headers: { "Content-Type": "application/json" } };
  if (token) init.headers["X-Occreid-Token"] = token;
  if (body !== undefined) { init.method = "POST"; init.body = JSON.stringify(body); }
  const response = await fetch(path, init);
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    throw new Error(detail.detail ? JSON.stringify(detail.detail) : response.statusText);
  }
  return response.json();
}

function say(text) {
  const box = $("status");
  box.textContent = text;
  box.classList.add("show");
  clearTimeout(say.timer);
  say.timer = setTimeout(() => box.classList.remove("show"), 1500);
}

function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(0) + "%"; }

function table(caption, bins, rows) {
  const head = "<tr><th></th>" + bins.map((b) => `<th>${b}</th>`).join("") + "</tr>";
  const body = rows.map(([name, values]) => "<tr><th>" + name + "</th>" +
    bins.map((_, i) => `<td>${values ? (100 * values[i]).toFixed(1) : "–"}</td>`).join("") + "</tr>").join("");
  return `<table><caption>${caption}</caption>${head}${body}</table>`;
}

async function loadSummary() {
  const s = await api("/api/summary");
  $("progress").innerHTML = `<div>reviewer <b>${state.session.reviewer}</b></div>` +
    `<div><b id="reviewed-count">${s.reviewed}</b> / ${s.tracklets} tracklets reviewed</div>` +
    `<div>${s.frames_changed} frames changed · ${s.excluded} train tracklets excluded</div>`;
  const t1 = s.table1, t2 = s.table2;
  $("tables").innerHTML =
    table("Table 1 (% tracklets by occluded share), reviewed vs paper", t1.bins, [
      ["query", t1.query], ["paper", t1.paper_query], ["gallery", t1.gallery], ["paper", t1.paper_gallery]]) +
    table("Table 2 (% occluded frames by label)", t2.bins, [
      ["query", t2.query], ["paper", t2.paper_query], ["gallery", t2.gallery], ["paper", t2.paper_gallery]]);
}

function filters() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("filters"))) if (v !== "") params.set(k, v);
  return params.toString();
}

async function loadQueue() {
  const q = await api("/api/queue?" + filters());
  state.queue = q.items;
  $("queue-total").textContent = `${q.total} tracklets in this view (most needed first)`;
  $("queue").innerHTML = q.items.map((t, i) =>
    `<li data-i="${i}" class="${t.accepted ? "done" : ""}${state.tracklet && t.key === state.tracklet.key ? " current" : ""}">` +
    `<span class="key">${t.key}</span><span class="meta">${t.frames} frames · ${pct(t.occluded)} occluded · ` +
    `confidence ${t.confidence === null ? "–" : t.confidence.toFixed(2)}${t.exclude ? " · excluded" : ""}</span></li>`).join("");
}

async function openTracklet(key) {
  const started = performance.now();
  state.tracklet = await api("/api/tracklet?key=" + encodeURIComponent(key));
  state.anchor = state.focus = 0;
  renderInfo();
  renderStrip();
  renderDetail();
  for (const li of $("queue").children) {
    li.classList.toggle("current", state.queue[+li.dataset.i].key === key);
  }
  $("strip").focus();
  await new Promise(requestAnimationFrame);  // laid out and painted
  document.body.dataset.openMs = (performance.now() - started).toFixed(0);  // benchmarks read it
}

function renderInfo() {
  const t = state.tracklet;
  const rows = t.frame_rows;
  const occluded = rows.filter((f) => f.occlusion >= 1 || f.persons > 1).length;
  const exclude = t.split === "train"
    ? ` · <label><input type="checkbox" id="exclude" ${t.exclude ? "checked" : ""}> shares an obstacle with the test set (e)</label>` : "";
  $("info").innerHTML = `<b>${t.key}</b> · ${t.split} · id ${t.pid} · camera ${t.camid} · ` +
    `${rows.length} frames · ${pct(occluded / rows.length)} occluded · ` +
    (t.accepted ? `<span class="accepted">accepted by ${t.reviewer}</span>` : "not yet reviewed") + exclude;
  const box = $("exclude");
  if (box) box.onchange = () => toggleExclude();
}

function labelClass(f) {
  return `lab l${f.occlusion}` + (f.persons > 1 ? " persons" : "") +
    (f.occlusion !== f.proposed_occlusion || f.persons !== f.proposed_persons ? " changed" : "");
}

function renderStrip() {
  const rows = state.tracklet.frame_rows;
  const html = rows.map((f, i) =>
    `<div class="cell" data-i="${i}"><img loading="lazy" src="frame/${f.path}" alt="">` +
    `<div class="${labelClass(f)}">${f.occlusion}</div></div>`).join("");
  $("strip").innerHTML = html;
  markSelection();
}

function span() { return [Math.min(state.anchor, state.focus), Math.max(state.anchor, state.focus)]; }

function markSelection() {
  const [a, b] = span();
  const cells = $("strip").children;
  for (const cell of document.querySelectorAll(".cell.sel, .cell.focus")) cell.classList.remove("sel", "focus");
  for (let i = a; i <= b; i++) cells[i].classList.add("sel");
  cells[state.focus].classList.add("focus");
  cells[state.focus].scrollIntoView({ block: "nearest" });
}

function renderDetail() {
  const f = state.tracklet.frame_rows[state.focus];
  $("frame").src = "frame/" + f.path;
  const conf = f.confidence === null ? "hand-made" : "confidence " + f.confidence.toFixed(2);
  $("frame-info").textContent = `${f.path} · label ${f.occlusion} (proposed ${f.proposed_occlusion}, ${conf}) · ` +
    `${f.persons} person(s)`;
  drawOverlay();
}

async function drawOverlay() {
  const canvas = $("overlay"), img = $("frame");
  const ctx = canvas.getContext("2d");
  canvas.width = img.clientWidth; canvas.height = img.clientHeight;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!state.overlay || !state.session.overlay) return;
  const f = state.tracklet.frame_rows[state.focus];
  const o = await api("/api/overlay?path=" + encodeURIComponent(f.path));
  const mh = o.mask.length, mw = o.mask[0].length;
  ctx.fillStyle = "rgba(40, 120, 255, 0.35)";
  for (let y = 0; y < mh; y++) for (let x = 0; x < mw; x++) if (o.mask[y][x]) {
    ctx.fillRect(x * canvas.width / mw, y * canvas.height / mh, canvas.width / mw + 0.5, canvas.height / mh + 0.5);
  }
  for (const [x, y, s] of o.keypoints) {
    if (s <= 0) continue;
    ctx.fillStyle = s >= 0.5 ? "#ffdd00" : "#ff3b3b";
    ctx.beginPath();
    ctx.arc(x * canvas.width / o.size[1], y * canvas.height / o.size[0], 4, 0, 2 * Math.PI);
    ctx.fill();
  }
}

async function setFrames(field, value) {
  const [first, last] = span();
  const out = await api("/api/frames", { key: state.tracklet.key, first, last, field, value });
  for (const r of out.frames) Object.assign(state.tracklet.frame_rows[r.frame], r);
  const cells = $("strip").children;
  for (const r of out.frames) {
    const lab = cells[r.frame].querySelector(".lab");
    lab.className = labelClass(state.tracklet.frame_rows[r.frame]);
    lab.textContent = r.occlusion;
  }
  renderInfo();
  renderDetail();
  say(`${field} ${value} on ${out.frames.length} frame(s)`);
}

async function accept() {
  const key = state.tracklet.key;
  await api("/api/tracklet", { key, field: "accepted", value: 1 });
  say(`accepted ${key}`);
  const at = state.queue.findIndex((t) => t.key === key);
  const next = state.queue.slice(at + 1).find((t) => !t.accepted) || state.queue.find((t) => !t.accepted && t.key !== key);
  await Promise.all([loadQueue(), loadSummary()]);
  if (next) await openTracklet(next.key); else { await openTracklet(key); say("queue done"); }
}

async function toggleExclude() {
  const t = state.tracklet;
  if (t.split !== "train") { say("only train tracklets can be excluded"); return; }
  state.tracklet = { ...(await api("/api/tracklet", { key: t.key, field: "exclude", value: t.exclude ? 0 : 1 })) };
  renderInfo();
  loadSummary();
}

async function undo() {
  const out = await api("/api/undo", {});
  if (!out.undone) { say("nothing to undo"); return; }
  say("undone");
  const focus = state.focus, anchor = state.anchor;
  await openTracklet(out.tracklet);
  if (out.tracklet === state.tracklet.key) {
    state.focus = Math.min(focus, state.tracklet.frame_rows.length - 1);
    state.anchor = Math.min(anchor, state.tracklet.frame_rows.length - 1);
    markSelection(); renderDetail();
  }
  loadQueue(); loadSummary();
}

function move(to, extend) {
  const n = state.tracklet.frame_rows.length;
  state.focus = Math.max(0, Math.min(n - 1, to));
  if (!extend) state.anchor = state.focus;
  markSelection();
  renderDetail();
}

document.addEventListener("keydown", (ev) => {
  if (!state.tracklet || ev.target.closest("#filters")) return;
  const run = (promise) => { ev.preventDefault(); promise.catch((err) => say("error: " + err.message)); };
  if (/^[0-9]$/.test(ev.key) && !ev.ctrlKey && !ev.metaKey) return run(setFrames("occlusion", +ev.key));
  switch (ev.key) {
    case "x": return run(setFrames("occlusion", 10));
    case "p": return run(setFrames("persons", state.tracklet.frame_rows[state.focus].persons > 1 ? 1 : 2));
    case "Enter": return run(accept());
    case "u": return run(undo());
    case "z": if (ev.ctrlKey || ev.metaKey) return run(undo()); return;
    case "o": state.overlay = !state.overlay; return run(drawOverlay());
    case "e": return run(toggleExclude());
    case "ArrowRight": ev.preventDefault(); return move(state.focus + 1, ev.shiftKey);
    case "ArrowLeft": ev.preventDefault(); return move(state.focus - 1, ev.shiftKey);
    case "Home": ev.preventDefault(); return move(0, ev.shiftKey);
    case "End": ev.preventDefault(); return move(1e9, ev.shiftKey);
  }
});

$("strip").addEventListener("click", (ev) => {
  const cell = ev.target.closest(".cell");
  if (cell) move(+cell.dataset.i, ev.shiftKey);
});
$("queue").addEventListener("click", (ev) => {
  const li = ev.target.closest("li");
  if (li) openTracklet(state.queue[+li.dataset.i].key).catch((err) => say("error: " + err.message));
});
$("filters").addEventListener("change", () => loadQueue().catch((err) => say("error: " + err.message)));
$("buttons").innerHTML = [...Array(11).keys()].map((v) => `<button data-v="${v}">${v}</button>`).join("") +
  ' <button data-a="p">2+ persons</button> <button data-a="accept">accept ⏎</button> <button data-a="undo">undo</button>' +
  ' <button data-a="overlay">overlay</button>';
$("buttons").addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b || !state.tracklet) return;
  const act = b.dataset.a;
  const job = b.dataset.v !== undefined ? setFrames("occlusion", +b.dataset.v)
    : act === "p" ? setFrames("persons", state.tracklet.frame_rows[state.focus].persons > 1 ? 1 : 2)
    : act === "accept" ? accept() : act === "undo" ? undo()
    : (state.overlay = !state.overlay, drawOverlay());
  job.catch((err) => say("error: " + err.message));
});

(async function start() {
  state.session = await api("/api/session");
  await Promise.all([loadQueue(), loadSummary()]);
  if (state.queue.length) await openTracklet(state.queue[0].key);
  document.body.dataset.ready = "1";
})().catch((err) => say("error: " + err.message));
