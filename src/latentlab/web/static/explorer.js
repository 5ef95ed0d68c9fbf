// The explorer page: panel 1 (grid -> code -> reconstruction), panel 2 (the
// latent map: click to decode, drag to interpolate, sliders for the other
// coordinates), panel 3 (prior samples and a decoded grid over the plane).
// Every drawn image keeps its values in data-values and its code in data-z,
// so tests can compare the page with the Python API.
"use strict";

const $ = id => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const STRIP_STEPS = 8, PLANE_N = 10, SAMPLES_N = 16;

const backend = window.LATENTLAB_EXPORT ? new LocalBackend(window.LATENTLAB_EXPORT) : new ServerBackend("");
const state = { models: [], info: null, grid: [], extra: [], label: null, busy: 0 };

function status(msg) { $("status").textContent = msg || ""; }
// Every action runs through guard: errors go to the status line, and
// body[data-busy] counts actions in flight (0 = the page has settled).
async function guard(fn) {
  document.body.dataset.busy = String(++state.busy);
  try { await fn(); } catch (e) { status(String(e.message || e)); } finally {
    document.body.dataset.busy = String(--state.busy);
  }
}
const fmt = v => (v >= 0 ? " " : "") + v.toFixed(3);

function drawImage(canvas, values, side) {
  side = side || Math.round(Math.sqrt(values.length));
  const off = document.createElement("canvas");
  off.width = side; off.height = Math.ceil(values.length / side);
  const ctx = off.getContext("2d"), img = ctx.createImageData(off.width, off.height);
  values.forEach((v, i) => {
    const g = Math.round(255 * Math.min(1, Math.max(0, v)));
    img.data.set([g, g, g, 255], 4 * i);
  });
  ctx.putImageData(img, 0, 0);
  const c = canvas.getContext("2d");
  c.imageSmoothingEnabled = false;
  c.clearRect(0, 0, canvas.width, canvas.height);
  c.drawImage(off, 0, 0, canvas.width, canvas.height);
  canvas.dataset.values = JSON.stringify(values);
}
function tile(values, size) {
  const c = document.createElement("canvas");
  c.width = c.height = size || 48;
  drawImage(c, values, state.info.image_side);
  return c;
}

// ------------------------------------------------------------ map geometry
// The map's two axes are the code's first two coordinates, or, for a model of more than two latent
// dimensions, the PCA plane of its training codes (info.plane): the plane point (p1, p2) is the code
// mean + p1 * c1 + p2 * c2, and a code z sits at (c1 . (z - mean), c2 . (z - mean)).
const MAP = { w: 420, h: 420 };
function toLatent(px, py) { // a pixel of the map -> a point of the map's plane
  const [x0, x1, y0, y1] = state.info.extent;
  return [x0 + (px / MAP.w) * (x1 - x0), y1 - (py / MAP.h) * (y1 - y0)];
}
function planeOf(z) { // a code -> its point in the map's plane
  const P = state.info.plane;
  if (!P) return [z[0], z.length > 1 ? z[1] : 0];
  return P.components.map(c => c.reduce((s, v, k) => s + v * (z[k] - P.mean[k]), 0));
}
function pixelOf(p) {
  const [x0, x1, y0, y1] = state.info.extent;
  return [((p[0] - x0) / (x1 - x0)) * MAP.w, ((y1 - p[1]) / (y1 - y0)) * MAP.h];
}
function toPixel(z) { return pixelOf(planeOf(z)); }
function fullCode(xy) { // a point of the map's plane -> the code it decodes
  const P = state.info.plane;
  if (P) return P.mean.map((m, k) => m + (xy[0] * P.components[0][k] + xy[1] * P.components[1][k]));
  return state.info.latent_dim === 1 ? [xy[0]] : [xy[0], xy[1], ...state.extra];
}
function svgEl(tag, attrs, parent) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.appendChild(el);
  return el;
}
function marker(id, color, r) {
  let m = $(id);
  if (!m) m = svgEl("circle", { id, r, fill: "none", stroke: color, "stroke-width": 3 }, $("map"));
  return m;
}
function placeMarker(id, z, color, r) {
  const m = marker(id, color, r), [px, py] = toPixel(z);
  m.setAttribute("cx", px); m.setAttribute("cy", py);
  m.dataset.z = JSON.stringify(z);
  $("map").appendChild(m); // keep markers on top
}

async function drawMap() {
  const svg = $("map");
  svg.replaceChildren();
  const lat = await backend.latents(state.info.name);
  // Colour by the samples' labels, or by the k-means cluster of their codes (computed by the server/export).
  const byCluster = $("colour-by").value === "clusters" && (lat.clusters || []).length === lat.points.length;
  const colourOf = byCluster ? lat.clusters : lat.labels;
  const g = svgEl("g", { id: "points" }, svg);
  g.dataset.colourBy = byCluster ? "clusters" : "labels";
  const inPlane = state.info.plane && (lat.plane || []).length === lat.points.length;
  lat.points.forEach((p, i) => {
    const [px, py] = inPlane ? pixelOf(lat.plane[i]) : toPixel(p);
    svgEl("circle", { class: "pt", cx: px.toFixed(1), cy: py.toFixed(1), r: 2.2, fill: COLORS[colourOf[i] % 10] }, g);
  });
  const labels = [...new Set(colourOf)].sort((a, b) => a - b);
  $("legend").replaceChildren(...labels.map(l => {
    const s = document.createElement("span");
    s.innerHTML = `<span class="sw" style="background:${COLORS[l % 10]}"></span>${byCluster ? "c" : ""}${l}`;
    return s;
  }));
  svgEl("line", { id: "drag-line", stroke: "#d6336c", "stroke-width": 2, visibility: "hidden" }, svg);
}

function buildSliders() {
  const box = $("sliders"), m = state.info;
  state.extra = m.plane ? [] : m.code_mean.slice(2); // in a plane every coordinate comes from the map
  box.replaceChildren(...state.extra.map((v, k) => {
    const lab = document.createElement("label"), inp = document.createElement("input");
    inp.type = "range"; inp.min = -4; inp.max = 4; inp.step = 0.05; inp.value = v; inp.id = `slider-${k + 2}`;
    const out = document.createElement("span");
    out.textContent = ` z${k + 3} = ${fmt(v)}`;
    inp.addEventListener("input", () => {
      state.extra[k] = Number(inp.value);
      out.textContent = ` z${k + 3} = ${fmt(state.extra[k])}`;
    });
    inp.addEventListener("change", () => lastClick && decodeAt(lastClick));
    lab.append(inp, out);
    return lab;
  }));
}

// ---------------------------------------------------------------- panel 2
let lastClick = null;
async function decodeAt(xy) {
  lastClick = xy;
  const z = fullCode(xy);
  if (state.info.text) return decodeTextAt(z); // text.js
  await guard(async () => {
    const [img] = await backend.decode(state.info.name, [z], state.label);
    drawImage($("decoded"), img, state.info.image_side);
    $("decoded").dataset.z = JSON.stringify(z);
    $("decoded-z").textContent = "z = (" + z.map(fmt).join(", ") + ")";
    placeMarker("click-marker", z, "#111", 5);
  });
}
async function interpolate(a, b) {
  const za = fullCode(a), zb = fullCode(b);
  const rows = Array.from({ length: STRIP_STEPS }, (_, i) => {
    const t = i / (STRIP_STEPS - 1);
    return za.map((v, k) => v + t * (zb[k] - v));
  });
  if (state.info.text) return interpolateText(rows); // text.js
  await guard(async () => {
    const imgs = await backend.decode(state.info.name, rows, state.label);
    $("strip").replaceChildren(...imgs.map((im, i) => {
      const c = tile(im); c.dataset.z = JSON.stringify(rows[i]); return c;
    }));
    $("strip").dataset.z = JSON.stringify(rows);
  });
}
function mapEvents() {
  const svg = $("map");
  let start = null;
  const pos = ev => { const r = svg.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
  svg.addEventListener("mousedown", ev => { start = pos(ev); ev.preventDefault(); });
  svg.addEventListener("mousemove", ev => {
    const p = pos(ev), z = toLatent(...p);
    $("hover").textContent = `(${fmt(z[0])}, ${fmt(z[1])})`;
    $("hover").dataset.z = JSON.stringify(z);
    const line = $("drag-line");
    if (start && line) {
      line.setAttribute("x1", start[0]); line.setAttribute("y1", start[1]);
      line.setAttribute("x2", p[0]); line.setAttribute("y2", p[1]);
      line.setAttribute("visibility", "visible");
    }
  });
  window.addEventListener("mouseup", ev => {
    if (!start) return;
    const p = pos(ev), s = start;
    start = null;
    if (Math.hypot(p[0] - s[0], p[1] - s[1]) < 5) { $("drag-line")?.setAttribute("visibility", "hidden"); decodeAt(toLatent(...p)); }
    else interpolate(toLatent(...s), toLatent(...p));
  });
}

// ---------------------------------------------------------------- panel 1
function buildGrid() {
  const side = state.info.image_side, grid = $("grid");
  const usable = side && (backend.kind === "server" || backend.data.nets[state.info.name].encoder);
  $("grid-note").hidden = !!usable;
  $("grid-note").textContent = usable ? "" : "This model's inputs are not a square grid that can be encoded here.";
  grid.hidden = !usable;
  if (!usable) return;
  if (state.grid.length !== side * side) state.grid = new Array(side * side).fill(0);
  grid.style.gridTemplateColumns = `repeat(${side}, 20px)`;
  grid.replaceChildren(...state.grid.map((_, i) => {
    const b = document.createElement("button");
    b.className = "cell"; b.dataset.i = i; b.setAttribute("aria-label", `cell ${i}`);
    b.addEventListener("click", () => { state.grid[i] = state.grid[i] >= 0.5 ? 0 : 1; refreshGrid(); });
    return b;
  }));
  paintGrid();
}
function paintGrid() {
  [...$("grid").children].forEach((b, i) => {
    const g = Math.round(255 * Math.min(1, Math.max(0, state.grid[i])));
    b.style.background = `rgb(${g},${g},${g})`;
  });
  $("grid").dataset.values = JSON.stringify(state.grid);
}
async function refreshGrid() {
  paintGrid();
  if ($("grid").hidden) return;
  await guard(async () => {
    const r = await backend.encode(state.info.name, state.grid, state.label);
    $("code").textContent = "z = (" + r.code.map(fmt).join(", ") + ")";
    $("code").dataset.z = JSON.stringify(r.code);
    drawImage($("recon"), r.reconstruction, state.info.image_side);
    $("error").textContent = `MSE ${r.error.toFixed(4)}`;
    $("error").dataset.error = String(r.error);
    placeMarker("grid-marker", r.code, "#d6336c", 7);
  });
}

// ---------------------------------------------------------------- panel 3
async function sample() {
  if (state.info.text) return sampleText(); // text.js
  await guard(async () => {
    const imgs = await backend.sample(state.info.name, SAMPLES_N, Number($("seed").value) || 0, state.label);
    $("samples").replaceChildren(...imgs.map(im => tile(im)));
  });
}
async function plane() {
  const [x0, x1, y0, y1] = state.info.extent, rows = [];
  for (let r = 0; r < PLANE_N; r++) for (let c = 0; c < PLANE_N; c++) {
    const x = x0 + ((c + 0.5) / PLANE_N) * (x1 - x0), y = y1 - ((r + 0.5) / PLANE_N) * (y1 - y0);
    rows.push(fullCode([x, y]));
  }
  await guard(async () => {
    const imgs = await backend.decode(state.info.name, rows, state.label);
    const cv = $("plane"), ctx = cv.getContext("2d"), t = cv.width / PLANE_N;
    ctx.fillStyle = "#444";
    ctx.fillRect(0, 0, cv.width, cv.height);
    imgs.forEach((im, k) => {
      const tc = tile(im, t); // 1-px gaps keep neighbouring digits apart
      ctx.drawImage(tc, (k % PLANE_N) * t + 1, Math.floor(k / PLANE_N) * t + 1, t - 2, t - 2);
    });
    cv.dataset.z = JSON.stringify(rows);
  });
}

// ------------------------------------------------------------ model choice
function selectModel(name) { return guard(() => loadModel(name)); }
async function loadModel(name) {
  status("");
  state.info = state.models.find(m => m.name === name);
  const m = state.info;
  $("model-info").textContent = `${m.family}, latent ${m.latent_dim}, ${m.input_dim} inputs`;
  $("map-caption").hidden = !m.plane;
  $("map-caption").textContent = m.plane ? `Map: ${m.plane.description}. Across: ${m.plane.axes[0]}; `
    + `up: ${m.plane.axes[1]}. A point (p1, p2) decodes as the mean code + p1 PC1 + p2 PC2.` : "";
  $("class-box").hidden = !m.n_classes;
  state.label = m.n_classes ? 0 : null;
  $("class-select").replaceChildren(...Array.from({ length: m.n_classes }, (_, k) => new Option(String(k), k)));
  $("sample-note").textContent = backend.kind === "static"
    ? "Static page: samples come from a bank of prior draws made at export time." : "";
  document.body.dataset.model = name;
  buildSliders();
  if (window.showTextPanels) showTextPanels(m.text); // text.js
  await guard(drawMap);
  buildGrid();
  $("strip").replaceChildren();
  await refreshGrid();
  if (lastClick) await decodeAt(lastClick);
}

async function main() {
  document.body.dataset.busy = "0";
  await guard(async () => { state.models = await backend.models(); });
  $("model-select").replaceChildren(...state.models.map(m => new Option(`${m.name} (${m.family})`, m.name)));
  $("model-select").addEventListener("change", ev => selectModel(ev.target.value));
  $("colour-by").addEventListener("change", () => guard(drawMap));
  $("class-select").addEventListener("change", ev => { state.label = Number(ev.target.value); refreshGrid(); });
  $("preset-clear").addEventListener("click", () => { state.grid = state.grid.map(() => 0); refreshGrid(); });
  $("preset-invert").addEventListener("click", () => { state.grid = state.grid.map(v => 1 - v); refreshGrid(); });
  $("preset-digit").addEventListener("click", () => guard(async () => {
    const d = await backend.digit(Number($("digit-index").value) || 0);
    state.grid = d.x.slice();
    if (state.info.n_classes) { state.label = d.label; $("class-select").value = d.label; }
    await refreshGrid();
  }));
  $("sample-btn").addEventListener("click", sample);
  $("plane-btn").addEventListener("click", plane);
  mapEvents();
  if (state.models.length) await selectModel(state.models[0].name);
  document.body.dataset.ready = "1";
}
main();
