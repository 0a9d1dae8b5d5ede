// occreid review: the queue, one tracklet as a filmstrip, keyboard-first labelling.
// Every change goes to the server at once (the store is the truth); the page only mirrors it.
// Every write names the tracklet's version it was made on and this page's id (undo undoes only
// what this page did); every request carries the server's token (from the page's HTML).
"use strict";

const token = document.querySelector('meta[name="occreid-token"]').content;
const page = [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("");
const state = { queue: [], tracklet: null, anchor: 0, focus: 0, overlay: false, session: null, busy: 0 };
const WATCH_MS = 3000;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const frameUrl = (path) => "frame/" + path.split("/").map(encodeURIComponent).join("/");

class Stale extends Error {
  constructor(detail, tracklet) { super(detail); this.tracklet = tracklet; }
}

async function api(path, body) {
  const init = { headers: { "Content-Type": "application/json", "X-Occreid-Token": token } };
  if (body === undefined) return answer(await fetch(path, init));
  init.method = "POST";
  init.body = JSON.stringify({ ...body, page });
  state.busy++;  // a write in flight: the watch below waits (it would see our own new version)
  try { return await answer(await fetch(path, init)); } finally { state.busy--; }
}

async function answer(response) {
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    if (response.status === 409 && detail.stale) throw new Stale(detail.detail, detail.tracklet);
    throw new Error(detail.detail ? String(detail.detail) : response.statusText);
  }
  return response.json();
}

function say(text, warn) {
  const box = $("status");
  box.textContent = text;
  box.classList.add("show");
  box.classList.toggle("warn", !!warn);
  clearTimeout(say.timer);
  say.timer = setTimeout(() => box.classList.remove("show"), warn ? 6000 : 1500);
}

function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(0) + "%"; }

function table(caption, bins, rows) {
  const head = "<tr><th></th>" + bins.map((b) => `<th>${esc(b)}</th>`).join("") + "</tr>";
  const body = rows.map(([name, values]) => "<tr><th>" + name + "</th>" +
    bins.map((_, i) => `<td>${values ? (100 * values[i]).toFixed(1) : "–"}</td>`).join("") + "</tr>").join("");
  return `<table><caption>${caption}</caption>${head}${body}</table>`;
}

// What one item is (a tracklet, or an image of an image folder: /api/session), and its plural.
const unit = () => state.session.unit, units = () => state.session.units;
const isImage = () => state.session.unit === "image";
const frames = (n) => isImage() ? "" : `${n} frames · `;  // an image is one frame

async function loadSummary() {
  const s = await api("/api/summary");
  $("progress").innerHTML = `<span>reviewer <b>${esc(state.session.reviewer)}</b></span>` +
    `<span><b id="reviewed-count">${s.reviewed}</b> / ${s.tracklets} ${units()} reviewed</span>` +
    `<span><b id="changed-count">${s.frames_changed}</b> ${isImage() ? "images" : "frames"} changed</span>` +
    (state.session.exclusions ? `<span><b id="excluded-count">${s.excluded}</b> train ${units()} excluded</span>` : "") +
    `<span id="unreviewed-accuracy">${accuracyText(s.unreviewed)}</span>` +
    (s.reviewers.frames ? `<span id="reviewer-agreement">two reviewers on ${s.reviewers.frames} frames: ` +
      `kappa ${s.reviewers.kappa === null ? "–" : s.reviewers.kappa.toFixed(2)}, label MAE ${s.reviewers.label_mae.toFixed(2)}</span>` : "");
  const t1 = s.table1, t2 = s.table2;
  $("tables").innerHTML =
    table(`Table 1 (% ${units()} by occluded share), reviewed vs paper`, t1.bins, [
      ["query", t1.query], ["paper", t1.paper_query], ["gallery", t1.gallery], ["paper", t1.paper_gallery]]) +
    table("Table 2 (% occluded frames by label)", t2.bins, [
      ["query", t2.query], ["paper", t2.paper_query], ["gallery", t2.gallery], ["paper", t2.paper_gallery]]);
}

// The estimated occluded yes / no accuracy of the tags nobody decided, from the reviewed ones.
function accuracyText(u) {
  if (u.estimated_accuracy === null) return `accuracy of the unreviewed tags: review ${isImage() ? "an image" : "a tracklet"} to estimate it`;
  const [low, high] = u.interval;
  return `unreviewed tags ~<b>${pct(u.estimated_accuracy)}</b> right (95%: ${pct(low)}-${pct(high)}, ` +
    `from ${u.reviewed_tracklets} reviewed ${u.reviewed_tracklets === 1 ? unit() : units()})`;
}

function filters() {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($("filters"))) if (v !== "") params.set(k, v);
  return params.toString();
}

async function loadQueue() {
  const q = await api("/api/queue?" + filters());
  state.queue = q.items;
  $("queue-total").textContent = `${q.total} ${units()} in this view (most needed first)`;
  $("queue").innerHTML = q.items.map((t, i) =>
    `<li data-i="${i}" data-key="${esc(t.key)}" class="${t.accepted ? "done" : ""}${state.tracklet && t.key === state.tracklet.key ? " current" : ""}">` +
    `<span class="key">${esc(t.key)}</span><span class="meta">${frames(t.frames)}${pct(t.occluded)} occluded · ` +
    `confidence ${t.confidence === null ? "–" : t.confidence.toFixed(2)}${t.exclude ? " · excluded" : ""}` +
    `${t.changed ? ` · ${t.changed} changed` : ""}</span></li>`).join("");
}

// The header and the queue after every decision (coalesced: one refresh for a burst of keys).
function refreshAround() {
  clearTimeout(refreshAround.timer);
  refreshAround.timer = setTimeout(() => {
    Promise.all([loadQueue(), loadSummary()]).catch((err) => say("error: " + err.message, true));
  }, 150);
}

function show(tracklet) {
  state.tracklet = tracklet;
  const n = tracklet.frame_rows.length;
  state.focus = Math.min(state.focus, n - 1);
  state.anchor = Math.min(state.anchor, n - 1);
  renderInfo();
  renderStrip();
  renderDetail();
  for (const li of $("queue").children) li.classList.toggle("current", li.dataset.key === tracklet.key);
}

async function openTracklet(key) {
  const started = performance.now();
  const tracklet = await api("/api/tracklet?key=" + encodeURIComponent(key));
  state.anchor = state.focus = 0;
  show(tracklet);
  $("strip").focus();
  await new Promise(requestAnimationFrame);  // laid out and painted
  document.body.dataset.openMs = (performance.now() - started).toFixed(0);  // benchmarks read it
}

function renderInfo() {
  const t = state.tracklet;
  const rows = t.frame_rows;
  const occluded = rows.filter((f) => f.occlusion >= 1 || f.persons > 1).length;
  const exclude = t.blind ? ` · <span class="blind">blind second review: you see the automatic proposals, not the first decision; your labels are kept apart</span>`
    : t.split === "train" && state.session.exclusions ? ` · <label><input type="checkbox" id="exclude" tabindex="-1" ${t.exclude ? "checked" : ""}> shares an obstacle with the test set (e)</label>` : "";
  $("info").innerHTML = `<b>${esc(t.key)}</b> · ${esc(t.split)} · id ${t.pid} · camera ${t.camid} · ` +
    `${frames(rows.length)}${pct(occluded / rows.length)} occluded · ` +
    (t.accepted ? `<span class="accepted">accepted by ${esc(t.reviewer)}</span>` : "not yet reviewed") + exclude;
  const box = $("exclude");
  if (box) box.onchange = () => { box.blur(); guarded(toggleExclude()); };
}

function labelClass(f) {
  return `lab l${f.occlusion}` + (f.persons > 1 ? " persons" : "") +
    (f.occlusion !== f.proposed_occlusion || f.persons !== f.proposed_persons ? " changed" : "");
}

function renderStrip() {
  const rows = state.tracklet.frame_rows;
  $("strip").innerHTML = rows.map((f, i) =>
    `<div class="cell" data-i="${i}"><img loading="lazy" src="${frameUrl(f.path)}" alt="">` +
    `<div class="${labelClass(f)}">${f.occlusion}</div></div>`).join("");
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
  $("frame").src = frameUrl(f.path);
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

function toggleZoom() {
  $("frame-box").classList.toggle("zoom");
  drawOverlay();
}

async function setFrames(field, value) {
  const [first, last] = span();
  const t = state.tracklet;
  const out = await api("/api/frames", { key: t.key, first, last, field, value, version: t.version });
  t.version = out.version;
  for (const r of out.frames) Object.assign(t.frame_rows[r.frame], r);
  const cells = $("strip").children;
  for (const r of out.frames) {
    const lab = cells[r.frame].querySelector(".lab");
    lab.className = labelClass(t.frame_rows[r.frame]);
    lab.textContent = r.occlusion;
  }
  renderInfo();
  renderDetail();
  refreshAround();
  say(`${field} ${value} on ${out.frames.length} frame(s)`);
}

async function accept() {
  const t = state.tracklet, key = t.key;
  await api("/api/tracklet", { key, field: "accepted", value: 1, version: t.version });
  say(`accepted ${key}`);
  const at = state.queue.findIndex((q) => q.key === key);
  const next = state.queue.slice(at + 1).find((q) => !q.accepted) || state.queue.find((q) => !q.accepted && q.key !== key);
  await Promise.all([loadQueue(), loadSummary()]);
  if (next) await openTracklet(next.key); else { await openTracklet(key); say("queue done"); }
}

async function toggleExclude() {
  const t = state.tracklet;
  if (!state.session.exclusions) { say("an image folder has no exclusion list: train reads the folder as it is", true); return; }
  if (t.split !== "train") { say(`only train ${units()} can be excluded`); return; }
  const now = await api("/api/tracklet", { key: t.key, field: "exclude", value: t.exclude ? 0 : 1, version: t.version });
  show(now);
  refreshAround();
}

// Re-tag the frames nobody decided with a calibration fitted on the decisions so far.
async function retag() {
  if (state.session.retag) { say(state.session.retag, true); return; }
  say("re-tagging the frames nobody decided…");
  const out = await api("/api/retag", {});
  say(out.message, !out.used_fit);
  if (out.retagged && state.tracklet) show(await api("/api/tracklet?key=" + encodeURIComponent(state.tracklet.key)));
  refreshAround();
}

async function undo() {
  const out = await api("/api/undo", {});
  if (!out.undone) { say("nothing this page did is left to undo"); return; }
  say("undone");
  if (state.tracklet && out.tracklet === state.tracklet.key) {
    show(await api("/api/tracklet?key=" + encodeURIComponent(out.tracklet)));
  } else {
    await openTracklet(out.tracklet);
  }
  refreshAround();
}

function move(to, extend) {
  const n = state.tracklet.frame_rows.length;
  state.focus = Math.max(0, Math.min(n - 1, to));
  if (!extend) state.anchor = state.focus;
  markSelection();
  renderDetail();
}

// A write on an outdated tracklet: show the store's version of it and say why.
function guarded(promise) {
  return promise.catch((err) => {
    if (err instanceof Stale) {
      if (err.tracklet && state.tracklet && err.tracklet.key === state.tracklet.key) show(err.tracklet);
      refreshAround();
      say(err.message, true);
    } else say("error: " + err.message, true);
  });
}

// Keys by what they name, whatever Caps Lock or Shift do to the character: letters in lower
// case, digits by their key position (Shift+3 is still 3), the numeric pad too.
function keyName(ev) {
  const code = /^(Digit|Numpad)([0-9])$/.exec(ev.code || "");
  if (code) return code[2];
  return ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
}

document.addEventListener("keydown", (ev) => {
  if (!state.tracklet || ev.target.closest("#filters") || ev.altKey) return;
  const name = keyName(ev);
  const run = (promise) => { ev.preventDefault(); guarded(promise); };
  if (ev.ctrlKey || ev.metaKey) { if (name === "z") run(undo()); return; }
  if (/^[0-9]$/.test(name)) return run(setFrames("occlusion", +name));
  switch (name) {
    case "x": return run(setFrames("occlusion", 10));
    case "p": return run(setFrames("persons", state.tracklet.frame_rows[state.focus].persons > 1 ? 1 : 2));
    case "Enter": return run(accept());
    case "u": return run(undo());
    case "o": state.overlay = !state.overlay; return run(drawOverlay());
    case "z": ev.preventDefault(); return toggleZoom();
    case "Escape": return $("frame-box").classList.remove("zoom");
    case "e": return run(toggleExclude());
    case "c": return run(retag());
    case " ": ev.preventDefault(); return;  // never a click on the last button used
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
$("frame-box").addEventListener("click", toggleZoom);
$("queue").addEventListener("click", (ev) => {
  const li = ev.target.closest("li");
  if (li) guarded(openTracklet(li.dataset.key));
});
$("filters").addEventListener("change", () => guarded(loadQueue()));
$("buttons").innerHTML = [...Array(11).keys()].map((v) => `<button tabindex="-1" data-v="${v}">${v}</button>`).join("") +
  ' <button tabindex="-1" data-a="p">2+ persons</button> <button tabindex="-1" data-a="accept">accept ⏎</button>' +
  ' <button tabindex="-1" data-a="undo">undo</button> <button tabindex="-1" data-a="overlay">overlay</button>' +
  ' <button tabindex="-1" data-a="retag" id="retag">re-tag (c)</button>' +
  ' <button tabindex="-1" data-a="zoom">zoom</button>';
// Buttons never keep the focus: Space and Enter go to the keys above, not to the last button.
$("buttons").addEventListener("mousedown", (ev) => ev.preventDefault());
$("buttons").addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b || !state.tracklet) return;
  b.blur();
  $("strip").focus();
  const act = b.dataset.a;
  if (act === "zoom") return toggleZoom();
  const job = b.dataset.v !== undefined ? setFrames("occlusion", +b.dataset.v)
    : act === "p" ? setFrames("persons", state.tracklet.frame_rows[state.focus].persons > 1 ? 1 : 2)
    : act === "accept" ? accept() : act === "undo" ? undo() : act === "retag" ? retag()
    : (state.overlay = !state.overlay, drawOverlay());
  guarded(job);
});

// Writes made in another tab or by another reviewer: the open tracklet's version, polled.
async function watch() {
  const t = state.tracklet;
  if (!t || document.hidden || state.busy) return;
  const now = await api("/api/version?key=" + encodeURIComponent(t.key));
  if (state.tracklet !== t || now.version === t.version || state.busy) return;
  show(await api("/api/tracklet?key=" + encodeURIComponent(t.key)));
  refreshAround();
  say(`this ${unit()} was changed in another tab or by another reviewer: reloaded`, true);
}
setInterval(() => watch().catch(() => {}), WATCH_MS);

(async function start() {
  state.session = await api("/api/session");
  for (const span of document.querySelectorAll(".unit")) span.textContent = unit();
  $("exclude-key").hidden = !state.session.exclusions;
  if (state.session.retag) $("retag").title = state.session.retag;  // why it is unavailable
  await Promise.all([loadQueue(), loadSummary()]);
  if (state.queue.length) await openTracklet(state.queue[0].key);
  document.body.dataset.ready = "1";
})().catch((err) => say("error: " + err.message, true));
