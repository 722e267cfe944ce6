/**
 * The explore page: one model, one text. Wires the controls to the state (and URL),
 * fetches traces (debounced, stale requests aborted) and draws the views: the large map
 * first, then the thumbnail grid on a later frame so the first paint is not delayed.
 */

import { fetchModels, fetchTrace, fetchTraceJson } from "./api.js";
import { selectionShape, toCsv } from "./figures.js";
import { createStore, debounce, readQuery, syncUrl } from "./state.js";
import * as ui from "./ui.js";
import * as V from "./views.js";

const { $ } = ui;
const SCHEMA = {
  text: { type: "string", fallback: "" },
  model: { type: "string", fallback: "" },
  view: { type: "string", fallback: "" },
  layer: { type: "int", fallback: 0 },
  head: { type: "int", fallback: 0 },
  sink: { type: "bool", fallback: false },
  filter: { type: "string", fallback: "none" },
  k: { type: "int", fallback: 3 },
  thr: { type: "number", fallback: 0.1 },
  token: { type: "int", fallback: -1 },
  sort: { type: "string", fallback: "index" },
  units: { type: "ints", fallback: [] },
};
const TRACE_KEYS = new Set(["text", "model"]);
const DEBOUNCE_MS = 300;

const boot = JSON.parse($("#boot").textContent);
const modelsRequest = fetchModels(); // in flight while plotly.js is still parsing
const store = createStore(readQuery(location.search, SCHEMA));
if (!new URLSearchParams(location.search).has("text")) store.set({ text: boot.samples[0].text });
const focus = ui.createFocus();
const dom = Object.fromEntries(
  [
    "text",
    "sample",
    "model",
    "model-info",
    "count",
    "view",
    "layer",
    "head",
    "filter",
    "filter-value",
    "sink",
    "part",
    "rlayer",
    "sort",
    "units",
    "status",
    "legend",
    "error",
    "strip",
    "empty",
    "views",
    "main-plot",
    "lines-plot",
    "grid-plot",
    "grid-keys",
    "predictions",
    "attn-controls",
    "rnn-controls",
  ].map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), $(`#${id}`)]),
);

let models = [];
let trace = null; // the decoded response shown now
let shown = null; // what the large view shows: {matrix, rowLabels, colLabels, corner}
let inflight = null;
let gridKey = null;
const gridKeys = ui.keyboardGrid(dom.gridKeys, (cell) => pickThumbnail(cell));
const traceSoon = debounce(() => runTrace(), DEBOUNCE_MS);

const info = (name) => models.find((m) => m.name === name);
const isTransformer = () => info(store.get().model)?.family === "transformer";

/** Views a model offers: attention views, or its recurrent parts (h, c, gates). */
function viewsFor(m) {
  if (!m) return [];
  if (m.family === "transformer") return V.ATTENTION_VIEWS;
  return [...["h", "c"].filter((p) => m.parts.includes(p)), ...m.gates];
}

/** Parts to fetch: what the views draw (a Transformer's residual stream is not drawn yet). */
function partsFor(m) {
  return m.family === "transformer"
    ? ["attention", "predictions"]
    : m.parts.filter((p) => p !== "logits" && p !== "resid");
}

/** Bring view, layer and head into range for the chosen model. */
function normalise(st) {
  const m = info(st.model);
  if (!m) return {};
  const views = viewsFor(m);
  return {
    view: views.includes(st.view) ? st.view : views[0],
    layer: Math.min(Math.max(0, st.layer), m.n_layers - 1),
    head: m.n_heads ? Math.min(Math.max(0, st.head), m.n_heads - 1) : st.head,
  };
}

async function start() {
  const list = await ui.openPage(dom, boot, modelsRequest, wireControls);
  if (!list) return;
  models = list;
  const usable = models.filter((m) => m.available);
  ui.fillSelect(
    dom.model,
    models.map((m) => ({
      value: m.name,
      disabled: !m.available,
      title: m.reason ?? "",
      label: m.available ? `${m.name} (${m.family})` : `${m.name} — unavailable: ${shortReason(m.reason)}`,
    })),
  );
  dom.model.disabled = !usable.length;
  if (!usable.length) {
    ui.showError(dom.error, {
      title: "No model available",
      detail: models.map((m) => `${m.name}: ${m.reason}`).join("; "),
    });
    return;
  }
  const st = store.get();
  const model = info(st.model)?.available
    ? st.model
    : (usable.find((m) => m.family === "transformer") ?? usable[0]).name;
  store.set({ model });
  store.set(normalise(store.get()));
  focus.select(store.get().token >= 0 ? store.get().token : null, null);
  syncControls();
  syncUrl(store, SCHEMA);
  store.subscribe(onChange);
  focus.subscribe(onFocus);
  await ui.plotlyReady;
  runTrace();
}

function onChange(st, changed) {
  if (changed.has("model")) store.set(normalise(st));
  syncControls();
  if (changed.has("model")) runTrace();
  else if (changed.has("text")) traceSoon();
  else if (trace && [...changed].some((k) => !TRACE_KEYS.has(k) && k !== "token")) render();
  else if (trace && changed.has("token") && st.sort === "token" && !isTransformer()) render();
}

function syncControls() {
  const st = store.get();
  const m = info(st.model);
  if (dom.text.value !== st.text) dom.text.value = st.text;
  if (!m) return;
  dom.model.value = st.model;
  dom.modelInfo.textContent = describe(m);
  const transformer = m.family === "transformer";
  dom.attnControls.hidden = !transformer;
  dom.rnnControls.hidden = transformer;
  const layers = Array.from({ length: m.n_layers }, (_, l) => ({ value: l, label: `${l}` }));
  if (transformer) {
    ui.fillSelect(dom.layer, layers, st.layer);
    ui.fillSelect(
      dom.head,
      Array.from({ length: m.n_heads }, (_, h) => ({ value: h, label: `${h}` })),
      st.head,
    );
    dom.view.value = st.view;
    dom.head.disabled = st.view !== "head";
    dom.filter.value = st.filter;
    dom.filterValue.hidden = st.filter === "none";
    if (document.activeElement !== dom.filterValue) dom.filterValue.value = st.filter === "topk" ? st.k : st.thr;
    dom.filterValue.step = st.filter === "topk" ? "1" : "0.01";
    dom.sink.checked = st.sink;
  } else {
    ui.fillSelect(
      dom.part,
      viewsFor(m).map((p) => ({ value: p, label: V.partLabel(p) })),
      st.view,
    );
    ui.fillSelect(dom.rlayer, layers, st.layer);
    dom.sort.value = st.sort;
    if (document.activeElement !== dom.units) dom.units.value = st.units.join(", ");
  }
}

/** "…/gru.json: model card is missing" -> "model card is missing" (the path is in the tooltip). */
function shortReason(reason) {
  return (reason ?? "unknown").split(": ").pop();
}

function describe(m) {
  const size = m.n_params >= 1e6 ? `${(m.n_params / 1e6).toFixed(2)} M` : `${(m.n_params / 1e3).toFixed(1)} k`;
  const shape = m.n_heads
    ? `${m.n_layers} layers × ${m.n_heads} heads · d ${m.d_model}`
    : `${m.n_layers} layers × ${m.d_model} units`;
  return `${shape} · ${size} params · ${m.n_ctx} ctx`;
}

function wireControls() {
  const set = (patch) => store.set(patch);
  const num = (node) => Number(node.value);
  dom.text.addEventListener("input", () => set({ text: dom.text.value }));
  dom.text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      runTrace();
    }
  });
  $("#text-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    set({ text: dom.text.value });
    runTrace();
  });
  dom.sample.addEventListener("change", () => {
    if (dom.sample.value === "") return;
    set({ text: boot.samples[Number(dom.sample.value)].text, token: -1 });
    dom.sample.value = "";
    runTrace();
  });
  dom.model.addEventListener("change", () => set({ model: dom.model.value }));
  dom.view.addEventListener("change", () => set({ view: dom.view.value }));
  dom.part.addEventListener("change", () => set({ view: dom.part.value }));
  dom.layer.addEventListener("change", () => set({ layer: num(dom.layer) }));
  dom.rlayer.addEventListener("change", () => set({ layer: num(dom.rlayer) }));
  dom.head.addEventListener("change", () => set({ head: num(dom.head) }));
  dom.sink.addEventListener("change", () => set({ sink: dom.sink.checked }));
  dom.filter.addEventListener("change", () => set({ filter: dom.filter.value }));
  dom.filterValue.addEventListener("input", () => {
    const v = num(dom.filterValue);
    if (Number.isFinite(v) && v >= 0)
      set(store.get().filter === "topk" ? { k: Math.max(1, Math.round(v)) } : { thr: v });
  });
  dom.sort.addEventListener("change", () => set({ sort: dom.sort.value }));
  dom.units.addEventListener("change", () =>
    set({ units: (dom.units.value.match(/\d+/g) ?? []).map(Number).slice(0, 8) }),
  );
  $("#copy-link").addEventListener("click", copyLink);
  $("#dl-json").addEventListener("click", downloadTrace);
  $("#dl-csv").addEventListener("click", downloadCsv);
  $("#dl-png").addEventListener("click", () => downloadChart("png"));
  $("#dl-svg").addEventListener("click", () => downloadChart("svg"));
}

async function runTrace() {
  traceSoon.cancel();
  inflight?.abort();
  const st = store.get();
  if (!st.text.trim()) return showEmpty();
  const ctrl = new AbortController();
  inflight = ctrl;
  performance.mark("attz-submit");
  ui.setStatus(dom.status, `Tracing with ${st.model}…`, true);
  dom.views.setAttribute("aria-busy", "true");
  const started = performance.now();
  document.body.dataset.status = "loading"; // for tests and the benchmark
  try {
    const result = await fetchTrace({ model: st.model, text: st.text, parts: partsFor(info(st.model)) }, ctrl.signal);
    if (inflight !== ctrl) return;
    performance.mark("attz-fetched");
    trace = result;
    gridKey = null;
    ui.showError(dom.error, null);
    await render();
    document.body.dataset.status = "ready";
    const mean = trace.predictions.mean_surprisal_bits;
    ui.setStatus(
      dom.status,
      `${trace.n_tokens} tokens · ${Math.round(performance.now() - started)} ms` +
        (mean === null ? "" : ` · mean surprisal ${mean.toFixed(2)} bits/token`),
    );
  } catch (err) {
    if (err.name === "AbortError") return;
    document.body.dataset.status = "error";
    showFailure(err);
  } finally {
    if (inflight === ctrl) {
      inflight = null;
      dom.views.removeAttribute("aria-busy");
    }
  }
}

function showEmpty() {
  trace = null;
  document.body.dataset.status = "empty";
  dom.empty.hidden = false;
  dom.views.hidden = true;
  clearStrip();
  dom.count.textContent = "";
  ui.showError(dom.error, null);
  ui.setStatus(dom.status, "");
  ui.renderPredictions(dom.predictions, {}, [], null);
}

function showFailure(err) {
  trace = null;
  dom.views.hidden = true;
  clearStrip();
  ui.setStatus(dom.status, "");
  ui.showError(dom.error, err);
}

function clearStrip() {
  dom.strip.replaceChildren();
  dom.strip.shows = null;
}

/** Draw everything for the current trace and state; the large view first. */
async function render() {
  const st = store.get();
  if (!trace || trace.model !== st.model) return; // a new model's trace is on its way
  const strings = trace.tokens.strings;
  dom.empty.hidden = true;
  dom.views.hidden = false;
  dom.count.textContent = `(${trace.n_tokens} / ${info(st.model).n_ctx} tokens)`;
  if (dom.strip.shows !== trace) {
    // surprisal colours depend on the model too
    ui.renderStrip(dom.strip, strings, trace.predictions.surprisal_bits, focus);
    dom.strip.shows = trace;
  }
  if (focus.selected() >= strings.length) focus.select(null, null);
  performance.mark("attz-strip");
  if (trace.family === "transformer") await renderAttention(st, strings);
  else await renderRecurrent(st, strings);
  performance.mark("attz-main");
  afterPaint(() => performance.mark("attz-painted")); // read by bench/bench_frontend.py
  onFocus(focus.current(), null);
  afterPaint(async () => {
    // the grid must not delay the large map's first paint
    await renderGrid(store.get());
    performance.mark("attz-grid");
  });
}

/** Run `fn` once the next frame has been painted. */
const afterPaint = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));

async function renderAttention(st, strings) {
  const att = trace.parts.attention.self;
  dom.linesPlot.hidden = true;
  dom.mainPlot.hidden = false; // shown before sizing its labels
  const { fig, matrix, index } = V.attentionView(att, strings, { ...st, maxLabels: ui.labelsThatFit(dom.mainPlot) });
  const labels = index.map((t) => `#${t} ${strings[t]}`);
  shown = { matrix, rowLabels: labels, colLabels: labels, corner: "query \\ key" };
  await ui.renderPlot(dom.mainPlot, fig, `attenzione-${st.model}-attention`, { token: focus.current() });
  ui.linkPlot(
    dom.mainPlot,
    focus,
    (p) => plotIndex(p.y),
    (p) => focus.select(plotIndex(p.y), dom.mainPlot),
  );
  dom.mainPlot.indexMap = index;
}

const plotIndex = (pos) => (dom.mainPlot.indexMap ? dom.mainPlot.indexMap[pos] : pos);

async function renderRecurrent(st, strings) {
  const parts = V.recurrentParts(trace.parts);
  const { fig, matrix, order } = V.stateView(parts, strings, { ...st, maxLabels: ui.labelsThatFitWidth(dom.mainPlot) });
  shown = {
    matrix,
    rowLabels: strings.map((s, t) => `#${t} ${s}`),
    colLabels: matrix[0] ? Array.from(matrix[0], (_, u) => `unit ${u}`) : [],
    corner: `token \\ ${st.view}`,
  };
  dom.mainPlot.indexMap = null;
  dom.linesPlot.hidden = false; // before drawing, so the large map gets its final size
  await ui.renderPlot(dom.mainPlot, fig, `attenzione-${st.model}-${st.view}`, { token: focus.current() });
  ui.linkPlot(
    dom.mainPlot,
    focus,
    (p) => p.x,
    (p) => pickCell(p),
  );
  dom.mainPlot.unitOrder = order;
  const lines = V.linesView(matrix, strings, { ...st, maxLabels: ui.labelsThatFitWidth(dom.linesPlot, 80) });
  await ui.renderPlot(dom.linesPlot, lines, `attenzione-${st.model}-units`, { token: focus.current() });
  ui.linkPlot(
    dom.linesPlot,
    focus,
    (p) => p.x,
    (p) => focus.select(p.x, dom.linesPlot),
  );
}

/** A click on the state heatmap selects its token and plots its unit. */
function pickCell(p) {
  const unit = dom.mainPlot.unitOrder ? dom.mainPlot.unitOrder[p.y] : p.y;
  const units = store.get().units.filter((u) => u !== unit);
  store.set({ units: [...units, unit].slice(-8) });
  focus.select(p.x, dom.mainPlot);
}

async function renderGrid(st) {
  if (!trace || trace.model !== st.model) return;
  const transformer = trace.family === "transformer";
  const att = transformer ? trace.parts.attention.self : null;
  const parts = transformer ? null : V.recurrentParts(trace.parts);
  const cell = transformer ? V.modelViewCell(att, st) : V.recurrentCell(parts, st);
  const key = transformer ? JSON.stringify(V.displayOptions(st)) : "states";
  if (key === gridKey) {
    gridKeys.select(cell);
    return ui.setBaseShapes(dom.gridPlot, selectionShape(cell));
  }
  gridKey = key;
  const fig = transformer ? V.modelView(att, st) : V.recurrentGrid(parts, st);
  await ui.renderPlot(dom.gridPlot, fig, `attenzione-${st.model}-grid`, {
    token: focus.current(),
    shapes: selectionShape(cell),
  });
  const names = transformer ? V.modelViewNames(att) : V.recurrentNames(parts);
  gridKeys.update(fig.grid, names.label, names.cellLabel);
  gridKeys.select(cell);
  ui.linkPlot(
    dom.gridPlot,
    focus,
    () => null,
    (p) => pickThumbnail(p.curveNumber),
  );
}

/** Show thumbnail `cell` of the grid large (a click on it, or Enter/Space on its gridcell). */
function pickThumbnail(cell) {
  if (!trace) return;
  store.set(
    trace.family === "transformer"
      ? V.modelViewPick(trace.parts.attention.self, cell)
      : V.recurrentPick(V.recurrentParts(trace.parts), cell),
  );
}

/** The focused token (hovered, else selected) shown in every view and the predictions. */
function onFocus(t, source) {
  if (!trace) return;
  const selected = focus.selected();
  ui.markStripToken(dom.strip, t, selected);
  for (const gd of [dom.mainPlot, dom.linesPlot, dom.gridPlot])
    if (gd !== source && !gd.hidden) ui.highlightPlot(gd, t);
  const last = trace.tokens.strings.length - 1;
  ui.renderPredictions(dom.predictions, trace, trace.tokens.strings, t ?? last);
  if ((selected ?? -1) !== store.get().token) store.set({ token: selected ?? -1 });
}

async function copyLink() {
  try {
    await navigator.clipboard.writeText(location.href);
    ui.setStatus(dom.status, "Link copied: it restores this text, model and view.");
  } catch {
    ui.setStatus(dom.status, `Link: ${location.href}`);
  }
}

async function downloadTrace() {
  const st = store.get();
  if (!trace) return;
  try {
    const json = await fetchTraceJson({ model: st.model, text: st.text });
    ui.download(`attenzione-${st.model}-trace.json`, "application/json", JSON.stringify(json));
  } catch (err) {
    ui.showError(dom.error, err);
  }
}

function downloadCsv() {
  if (!trace || !shown) return;
  const name = isTransformer() ? store.get().view : `${store.get().view}-layer${store.get().layer}`;
  ui.download(
    `attenzione-${store.get().model}-${name}.csv`,
    "text/csv",
    toCsv(shown.matrix, shown.rowLabels, shown.colLabels, shown.corner),
  );
}

function downloadChart(format) {
  if (!trace) return;
  const gd = dom.mainPlot;
  Plotly.downloadImage(gd, {
    format,
    filename: `attenzione-${store.get().model}`,
    width: gd.clientWidth,
    height: gd.clientHeight,
  });
}

start();
