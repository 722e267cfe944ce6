/**
 * The explore page: one model, one text. What it shows comes from the model's controllers
 * (controllers/), chosen by the parts and attention kinds the model declares: the page
 * shows the active controller's panel, large view, line chart and thumbnails, and every
 * plot event asks the controller active *now* what the point under the pointer means.
 * The large map is drawn first, the thumbnails on a later frame so the first paint is not
 * delayed.
 */

import { fetchTrace, fetchTraceJson } from "./api.js";
import {
  availableModels,
  cardLine,
  defaultModel,
  describeModel,
  modelNamed,
  modelOptions,
  modelsThatFit,
} from "./catalog.js";
import { activeController, controllersFor, normaliseView } from "./controllers/index.js";
import { createBinder } from "./controls.js";
import { afterPaint, download, el, fillSelect, showError } from "./dom.js";
import { selectionShape, sentPrecision, toCsv } from "./figures.js";
import { openPage } from "./page.js";
import { createPlot, labelsThatFit, labelsThatFitWidth } from "./plot.js";
import { axisLabels, tokenPieces } from "./tokentext.js";
import { explain, term, VIEW_TERMS } from "./tooltip.js";
import { exportName, recordText } from "./views.js";
import { keyboardGrid, renderPredictions } from "./widgets.js";

const SCHEMA = {
  text: { type: "string", fallback: "" },
  model: { type: "string", fallback: "" },
  view: { type: "string", fallback: "" },
  layer: { type: "int", fallback: 0 },
  head: { type: "int", fallback: 0 },
  sink: { type: "bool", fallback: false },
  filter: { type: "string", fallback: "none" },
  k: { type: "int", fallback: 3 }, // the attention filter's "top k per row", not top_k predictions
  thr: { type: "number", fallback: 0.1 },
  scale: { type: "string", fallback: "abs" }, // attention colours: "abs" 0–1, or "p99" capped
  token: { type: "int", fallback: -1 },
  sort: { type: "string", fallback: "index" },
  units: { type: "ints", fallback: [] },
  unitnorm: { type: "bool", fallback: false }, // states: each unit scaled by its max |value|
};

const page = openPage({
  schema: SCHEMA,
  ids: "model model-info kinds kind-options views main-plot lines-plot grid-plot grid-keys predictions"
    .split(" ")
    .concat(["dl-json", "dl-csv", "dl-png", "dl-svg"]),
  copied: "Link copied: it restores this text, model and view.",
  pushed: ["model", "view", "layer", "head"], // Back/Forward steps through these (and the texts traced)
  carry: (st) => ({ text: st.text, model: st.model }),
  run: {
    blocked: (st) => (st.text.trim() ? null : ""),
    busyText: (st) => `Tracing with ${st.model}…`,
    request: (st, signal) => {
      requested = requestKey(st);
      return fetchTrace({ model: st.model, text: st.text, parts: partsFor(st), top_k: catalog.default_top_k }, signal);
    },
    render: (trace) => {
      store.set({ trace }); // the decoded response shown now (not in the URL)
      return render();
    },
    done: (trace, ms) => {
      const mean = trace.predictions.mean_surprisal_bits;
      const surprisal = mean === null ? "" : ` · mean surprisal ${mean.toFixed(2)} bits/token`;
      return `${trace.n_tokens} tokens · ${ms} ms${surprisal}`;
    },
    clear,
    // a text too long for the model: switching to the smallest model that reads it all
    actions: (err, st) =>
      (Number.isInteger(err.problem?.n_tokens) ? modelsThatFit(catalog, st.model, err.problem.n_tokens) : [])
        .slice(0, 1)
        .map((m) => ({
          id: "switch",
          label: `Switch to ${m.name} (reads ${m.spec.n_ctx} tokens)`,
          run: () => store.set(withModel(m.name)),
        })),
    busy: "views",
    shows: ["strip", "views", "predictions"],
  },
});
const { store, focus, dom, strip } = page;

let catalog = null;
const made = new Map(); // model name -> its controllers
let gridShown = null; // {trace, key} of the thumbnails drawn
let requested = ""; // the model and parts of the last request

/** The controllers of model `name` (made once from the catalog). */
function controllers(name) {
  if (!made.has(name)) made.set(name, controllersFor(catalog, modelNamed(catalog, name)));
  return made.get(name);
}

const active = (st = store.get()) => activeController(controllers(st.model), st.view);

/** Parts to fetch: what the active controller draws, and the predictions. */
const partsFor = (st) => [...(active(st)?.parts ?? []), "predictions"];
const requestKey = (st) => `${st.model} ${partsFor(st).join()}`;

const labelledTraces = new WeakMap(); // trace -> the same with its tokens as the axes write them

/** The trace with the plots' token labels: byte pieces as the character they form, repeated
 * tokens told apart by their position (tokentext.js); ids and spans unchanged. */
function labelled(trace) {
  if (!labelledTraces.has(trace)) {
    const { strings, spans } = trace.tokens;
    labelledTraces.set(trace, {
      ...trace,
      tokens: { ...trace.tokens, strings: axisLabels(strings, spans, trace.text) },
    });
  }
  return labelledTraces.get(trace);
}

/** What the plots show now: {st, c, trace} when the trace shown is this model's and has
 * what the active controller draws; else null (a new trace is on its way). `trace` has the
 * plots' token labels. */
function current() {
  const st = store.get();
  const c = active(st);
  const trace = st.trace;
  return trace && c && trace.model === st.model && c.has(trace) ? { st, c, trace: labelled(trace) } : null;
}

/** A plot's pointer events: each asks the controller active now what the point means. */
function pointer(name) {
  return {
    hover(point) {
      const v = current();
      if (v) focus.hover(v.c.token(v.trace, v.st, name, point), plots[name]);
    },
    unhover: () => focus.hover(null, plots[name]),
    click(point) {
      const v = current();
      if (!v) return;
      const { token, patch } = v.c.click(v.trace, v.st, name, point);
      if (patch) store.set(patch);
      focus.select(token, plots[name]);
    },
  };
}

const plots = {
  main: createPlot(dom.mainPlot, pointer("main")),
  lines: createPlot(dom.linesPlot, pointer("lines")),
};
const gridPlot = createPlot(dom.gridPlot, { click: (point) => pick(point.curveNumber) });
const gridKeys = keyboardGrid(dom.gridKeys, (cell) => pick(cell));
const binder = createBinder(
  store,
  () => active(),
  (id) => document.getElementById(id),
);

/** The state for model `name`: its view, layer, head... made valid for it. */
function withModel(name, st = store.get()) {
  return { model: name, ...normaliseView(controllers(name), { ...st, model: name }) };
}

dom.model.addEventListener("change", () => store.set(withModel(dom.model.value)));
dom.kinds.addEventListener("change", (ev) => {
  const c = controllers(store.get().model).find((x) => x.id === ev.target.value);
  if (!c) return;
  const view = c.views[0].value;
  store.set({ view, ...c.normalise({ ...store.get(), view }) });
});
dom.dlJson.addEventListener("click", downloadTrace);
dom.dlCsv.addEventListener("click", downloadCsv);
dom.dlPng.addEventListener("click", () => downloadChart("png"));
dom.dlSvg.addEventListener("click", () => downloadChart("svg"));

async function start() {
  catalog = await page.catalog;
  if (!catalog) return;
  fillSelect(dom.model, modelOptions(catalog));
  const usable = availableModels(catalog);
  dom.model.disabled = !usable.length;
  if (!usable.length) {
    const detail = catalog.models.map((m) => `${m.name}: ${m.reason}`).join("; ");
    showError(dom.error, { title: "No model available", detail });
    return;
  }
  const st = store.get();
  store.set(withModel(modelNamed(catalog, st.model)?.available ? st.model : defaultModel(catalog).name));
  focus.select(st.token >= 0 ? st.token : null, null);
  focus.subscribe(onFocus);
  syncControls();
  await page.start(onChange);
}

function onChange(st, changed) {
  if (changed.size === 1 && changed.has("trace")) return; // render() draws it
  syncControls(st);
  // another model, or a controller whose parts the last request (shown or on its way) lacks
  if (requestKey(st) !== requested) return page.run();
  if (changed.has("text")) return page.runSoon();
  const c = active(st);
  if (c && current() && c.redraws(changed, st)) render();
}

let kindsShown = "";

/** The controls show the state: model, the chooser between controllers, and the active
 * controller's panel (the others' hidden). */
function syncControls(st = store.get()) {
  if (dom.text.value !== st.text) dom.text.value = st.text;
  const m = modelNamed(catalog, st.model);
  if (!m) return;
  dom.model.value = st.model;
  dom.modelInfo.replaceChildren(
    describeModel(m),
    el("br"),
    el("span", { class: "card-metrics", title: "from the model card" }, cardLine(m)),
  );
  const cs = controllers(st.model);
  const c = activeController(cs, st.view);
  const kinds = cs.map((x) => `${x.id}=${x.label}`).join("\n");
  if (kinds !== kindsShown) {
    kindsShown = kinds;
    dom.kindOptions.replaceChildren(
      ...cs.map((x) =>
        el("label", { class: "kind" }, el("input", { type: "radio", name: "kind", value: x.id }), " ", kindLabel(x)),
      ),
    );
  }
  dom.kinds.hidden = cs.length < 2;
  for (const input of dom.kindOptions.querySelectorAll("input")) input.checked = input.value === c?.id;
  for (const panel of document.querySelectorAll("[data-panel]")) {
    panel.hidden = panel.id !== c?.panel;
    if (panel.hidden) continue;
    const legend = panel.querySelector("legend");
    legend.textContent = c.label;
    explain(legend, glossaryKey(c)); // what "States and gates", "Attention"... mean
  }
  if (c) binder.sync(c, st);
  explain(document.getElementById("view"), VIEW_TERMS[st.view]); // the glossary's word on what each select shows
  explain(document.getElementById("part"), st.view);
}

/** The glossary's key for a controller: its one view ("resid"), else its kind ("states",
 * "attention"). */
const glossaryKey = (c) => (c.views.length === 1 ? c.views[0].value : c.id.split(":")[0]);

/** A controller's name in the chooser, explained by the glossary when it has the term. */
const kindLabel = (c) => term(glossaryKey(c), c.label);

function clear() {
  store.set({ trace: null });
  gridShown = null;
  dom.views.hidden = true;
  renderPredictions(dom.predictions, {}, [], null);
}

/** Labels that fit a plot: `rows` along its height, `cols` along its width. */
const fit = (node, reserved) => ({ rows: labelsThatFit(node), cols: labelsThatFitWidth(node, reserved) });

/** Draw everything for the current trace and state; the large view first. */
async function render() {
  const st = store.get();
  const trace = st.trace;
  if (!trace || trace.model !== st.model) return; // a new model's trace is on its way
  const strings = trace.tokens.strings;
  dom.views.hidden = false;
  dom.count.textContent = `(${trace.n_tokens} / ${modelNamed(catalog, st.model).spec.n_ctx} tokens)`;
  const pieces = tokenPieces(strings, trace.tokens.spans, trace.text); // byte pieces shown as characters
  strip.show(strings, trace.predictions.surprisal_bits, trace, { pieces, ids: trace.tokens.ids }); // colours depend on the model too
  if (focus.selected() >= strings.length) focus.select(null, null);
  performance.mark("attz-strip");
  const v = current();
  if (!v) {
    // nothing to draw for this model (no controller), or its parts are on their way
    if (!active(st)) for (const node of [dom.mainPlot, dom.linesPlot, dom.gridPlot, dom.gridKeys]) node.hidden = true;
    return onFocus(focus.current(), null);
  }
  const { c } = v;
  dom.linesPlot.hidden = !c.lines; // before drawing, so the large map gets its final size
  dom.mainPlot.hidden = false;
  const main = c.main(v.trace, st, fit(dom.mainPlot));
  const file = exportName({ model: st.model, ...main.record }); // what the view shows
  await plots.main.render(main.fig, { filename: file, token: focus.current() });
  if (c.lines) {
    const lines = c.lines(v.trace, st, fit(dom.linesPlot, 80));
    await plots.lines.render(lines.fig, { filename: `${file}-${lines.name}`, token: focus.current() });
  }
  performance.mark("attz-main");
  afterPaint(() => performance.mark("attz-painted")); // read by bench/bench_frontend.py
  onFocus(focus.current(), null);
  afterPaint(async () => {
    // the grid must not delay the large map's first paint
    await renderGrid();
    performance.mark("attz-grid");
  });
}

/** The thumbnails; redrawn only for a new trace, controller or grid key, else the frame
 * around the one shown large moves. */
async function renderGrid() {
  const v = current();
  if (!v) return;
  const { st, c, trace } = v;
  const grid = c.grid(trace, st);
  const key = `${c.id} ${grid.key}`;
  if (gridShown?.trace === trace && gridShown.key === key) {
    gridKeys.select(grid.cell);
    gridPlot.setShapes(selectionShape(grid.cell));
    return;
  }
  gridShown = { trace, key };
  const fig = grid.figure();
  await gridPlot.render(fig, {
    filename: `attenzione-${st.model}-grid`,
    token: focus.current(),
    shapes: selectionShape(grid.cell),
  });
  gridKeys.update(fig.grid, grid.names.label, grid.names.cellLabel);
  gridKeys.select(grid.cell);
}

/** Show thumbnail `cell` of the grid large (a click on it, or Enter/Space on its gridcell). */
function pick(cell) {
  const v = current();
  if (v) store.set(v.c.pick(v.trace, cell));
}

/** The focused token (hovered, else selected) shown in every view and the predictions;
 * the selected one goes into the state (and the URL). */
function onFocus(t, source) {
  const st = store.get();
  const trace = st.trace;
  if (!trace) return;
  const selected = focus.selected();
  strip.mark(t, selected);
  for (const plot of [plots.main, plots.lines, gridPlot]) if (plot !== source && plot.shown()) plot.highlight(t);
  const strings = trace.tokens.strings;
  renderPredictions(dom.predictions, trace, strings, t ?? strings.length - 1);
  if ((selected ?? -1) !== st.token) store.set({ token: selected ?? -1 });
}

async function downloadTrace() {
  const st = store.get();
  if (!st.trace) return;
  try {
    const json = await fetchTraceJson({ model: st.model, text: st.text, top_k: catalog.default_top_k });
    const v = current();
    const display = { model: st.model, ...(v ? v.c.main(v.trace, v.st).record : {}) }; // the view on the page
    download(`${exportName(display)}-trace.json`, "application/json", JSON.stringify({ ...json, display }));
  } catch (err) {
    showError(dom.error, err);
  }
}

function downloadCsv() {
  const v = current();
  if (!v) return;
  const { csv, record } = v.c.main(v.trace, v.st, fit(dom.mainPlot));
  const shown = { model: v.st.model, ...record };
  const sent = sentPrecision(v.trace); // no more digits than the server sent
  const corner = `${csv.corner} · ${recordText(shown)} · ${sent.text}`;
  download(`${exportName(shown)}.csv`, "text/csv", toCsv(csv.matrix, csv.rowLabels, csv.colLabels, corner, sent.round));
}

function downloadChart(format) {
  if (current()) plots.main.download(format);
}

start();
