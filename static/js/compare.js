/**
 * The compare page, built around where 2-4 models differ on one text: one column each (its
 * first controller: attention where the model declares it, else its states; a model that
 * refuses the text shows why in its column), side by side or, where they would be too
 * narrow to read, one large and the others as small multiples; every model's surprisal per
 * token on one chart, the predictions table sortable by the gap in bits between models, with
 * a threshold the user sets; then the influence section (compareinfluence.js) and minimal
 * pairs (comparepair.js). A shared token focus runs through all of it.
 */

import { fetchCompare, fetchCompareJson } from "./api.js";
import { availableModels, cardLine, modelNamed } from "./catalog.js";
import { fitTicks, surprisalFigure, thumbnail } from "./comparefig.js";
import { createInfluence } from "./compareinfluence.js";
import { largeColumn, MIN_CELL_PX, PAIR_SAMPLES, sortRows, tokenBits, withGaps } from "./comparemath.js";
import { createPair } from "./comparepair.js";
import { controllersFor } from "./controllers/index.js";
import { download, el, fillSelect, showError } from "./dom.js";
import { colourAt, inkFor, toCsv } from "./figures.js";
import { openPage } from "./page.js";
import { createPlot, labelsThatFit, labelsThatFitWidth } from "./plot.js";
import { createLane } from "./state.js";
import { axisLabels, tokenPieces } from "./tokentext.js";
import { explain, term, VIEW_TERMS } from "./tooltip.js";
import { comparisonRows, mapToken } from "./views.js";

const SCHEMA = {
  text: { type: "string", fallback: "" },
  models: { type: "list", fallback: [] },
  view: { type: "string", fallback: "head" },
  layer: { type: "int", fallback: 0 },
  head: { type: "int", fallback: 0 },
  part: { type: "string", fallback: "h" },
  gap: { type: "number", fallback: 2 }, // bits: a gap above it marks a disagreement
  order: { type: "string", fallback: "position" }, // the table's order: "position" or "gap"
  // the columns' maps: a name: that one large, the others small; "all": side by side; "":
  // side by side where each map gives a token MIN_CELL_PX across, else the first one large
  cmap: { type: "string", fallback: "" },
  imethod: { type: "string", fallback: "gradient" },
  imap: { type: "string", fallback: "" }, // "": every influence map side by side; a name: that one large
  rollout: { type: "bool", fallback: true },
  diffa: { type: "string", fallback: "" },
  diffb: { type: "string", fallback: "" },
  pa: { type: "string", fallback: PAIR_SAMPLES[0].a }, // the minimal pair's two texts
  pb: { type: "string", fallback: PAIR_SAMPLES[0].b },
  pat: { type: "int", fallback: -1 }, // the differing place compared (-1: the last)
};
const MAX_MODELS = 4;

const page = openPage({
  schema: SCHEMA,
  ids: [
    "model-boxes",
    "view",
    "layer",
    "head",
    "part",
    "columns",
    "pred-table",
    "dl-json",
    "dl-csv",
    "surprisal-plot",
    "gap",
    "order",
    "cmap",
    "cmap-note",
  ],
  copied: "Link copied: it restores this text, the models and the view.",
  pushed: ["models", "view", "layer", "head", "part"], // Back/Forward steps through these (and the texts traced)
  carry: (st) => ({ text: st.text, model: st.models[0] }),
  run: {
    blocked: (st) =>
      st.models.length < 2
        ? "Tick at least two models to compare them."
        : st.text.trim()
          ? null
          : "Nothing to compare yet. Type a sentence, or pick a sample.",
    busyText: (st) => `Tracing with ${st.models.join(", ")}…`,
    request: (st, signal) =>
      fetchCompare({ models: st.models, text: st.text, parts: partsFor(st), top_k: catalog.default_top_k }, signal),
    render: (res) => {
      // each model's response with its tokens labelled as on the axes, read as a trace by
      // the controllers; a model that refused the text (over its n_ctx) keeps its `error`
      const columns = res.models.map((m) => ({ ...m, tokens: labelled(res.tokenizations[m.tokenizer], res.text) }));
      store.set({ trace: { ...res, columns } });
      return render();
    },
    done: (res, ms) => `${primary(res).n_tokens} tokens · ${res.models.length} models · ${ms} ms`,
    clear,
    busy: "columns",
    shows: ["strip", "surprisal-plot", "pred-table", "columns", "influence"],
  },
});
const { store, focus, dom, strip } = page;

let catalog = null;
let rows = [];
const made = new Map(); // model name -> its controllers
const plots = new Map(); // model name -> the plot of its column
let large = null; // the column shown large (the others small), or null: side by side
const traced = (res) => res.columns.filter((m) => !m.error);
const surprisalPlot = createPlot(dom.surprisalPlot, {
  hover: (p) => focus.hover(p.x, surprisalPlot),
  unhover: () => focus.hover(null, surprisalPlot),
  click: (p) => focus.select(p.x, surprisalPlot),
});
// The influence and minimal-pair sections send their requests one at a time, through one
// lane: with the server's inference slots (2 by default) that leaves one free for the
// page's own trace, which then never waits behind them.
const lane = createLane();
const influence = createInfluence({ store, focus, lane, catalog: () => catalog });
const pair = createPair({ store, lane });

/** Tokens with the plots' labels: byte pieces as the character they form ("é (1/2)"),
 * repeated labels told apart by a subscript, as on Explore. */
const labelled = (tok, text) => ({ ...tok, strings: axisLabels(tok.strings, tok.spans, text) });

/** A column's controller: the model's first (attention where it has it, else states). */
function columnController(name) {
  if (!made.has(name)) made.set(name, controllersFor(catalog, modelNamed(catalog, name)));
  return made.get(name)[0] ?? null;
}

/** The state a column draws: the page's attention view or state part, whichever its
 * controller draws, and layer and head in range. */
function columnState(c, st) {
  const view = c.owns(st.view) ? st.view : c.owns(st.part) ? st.part : c.views[0].value;
  const local = { ...st, view, sort: "index", units: [], token: -1, sink: false, filter: "none" };
  return { ...local, ...c.normalise(local) };
}

/** Parts to fetch: what the columns draw, and the predictions. */
function partsFor(st) {
  const parts = st.models.flatMap((name) => columnController(name)?.parts ?? []);
  return [...new Set([...parts, "predictions"])];
}

/** The first model's tokenisation: the strip and the table rows follow it. */
const primary = (res) => res.tokenizations[res.models[0].tokenizer];
const toModel = (res, column, t) => mapToken(t, primary(res).spans, column.tokens.spans);

/** What column `name` shows now, or null: {trace, st, c, plot, toPrimary(i)}. */
function column(name) {
  const res = store.get().trace;
  const trace = res?.columns.find((m) => m.model === name && !m.error);
  const c = trace && columnController(name);
  if (!c?.has(trace)) return null;
  const toPrimary = (i) => (i === null ? null : mapToken(i, trace.tokens.spans, primary(res).spans));
  return { trace, c, st: columnState(c, store.get()), plot: plots.get(name), toPrimary };
}

/** A column plot's pointer events: each asks what the column shows now. */
function pointer(name) {
  return {
    hover(point) {
      const v = column(name);
      if (v) focus.hover(v.toPrimary(v.c.token(v.trace, v.st, "main", point)), v.plot);
    },
    unhover: () => focus.hover(null, plots.get(name)),
    click(point) {
      if (large !== null && name !== large) return store.set({ cmap: name }); // a small one: enlarge it
      const v = column(name);
      if (v) focus.select(v.toPrimary(v.c.click(v.trace, v.st, "main", point).token), v.plot);
    },
  };
}

wireTable();
dom.dlJson.addEventListener("click", downloadJson);
dom.dlCsv.addEventListener("click", downloadCsv);
for (const [id, key, int] of [
  ["view", "view", false],
  ["layer", "layer", true],
  ["head", "head", true],
  ["part", "part", false],
  ["order", "order", false],
  ["cmap", "cmap", false],
]) {
  dom[id].addEventListener("change", () => store.set({ [key]: int ? Number(dom[id].value) : dom[id].value }));
}
dom.columns.addEventListener("click", (ev) => {
  const name = ev.target.closest("button.enlarge")?.dataset.model;
  if (name !== undefined) store.set({ cmap: name });
});
// tick labels are fitted to the charts' sizes when drawn: draw again when the window changes
// them (and the columns' layout with them)
let resized = 0;
window.addEventListener("resize", () => {
  clearTimeout(resized);
  resized = setTimeout(() => {
    const st = store.get();
    if (!st.trace) return;
    renderColumns();
    renderSurprisal(st.trace);
    influence.changed(st, new Set());
  }, 150);
});
dom.gap.addEventListener("input", () => {
  const v = Number(dom.gap.value);
  if (dom.gap.value !== "" && Number.isFinite(v) && v >= 0) store.set({ gap: v });
});

async function start() {
  catalog = await page.catalog;
  if (!catalog) return;
  const usable = availableModels(catalog).map((m) => m.name);
  let chosen = store
    .get()
    .models.filter((n) => usable.includes(n))
    .slice(0, MAX_MODELS);
  if (chosen.length < 2) chosen = [...new Set([...chosen, ...defaultPair(chosen[0])])].slice(0, 2);
  store.set({ models: chosen });
  renderModelBoxes();
  syncControls();
  focus.subscribe(onFocus);
  pair.start();
  await page.start(onChange);
}

/** A model with attention and one without, if there are both: the comparison the app is
 * about; else the first two available. Given `first` (a model another page showed), it and
 * a model of the other kind. */
function defaultPair(first) {
  const usable = availableModels(catalog);
  const attends = (m) => m.spec.attention.length > 0;
  const given = usable.find((m) => m.name === first);
  const pair = given
    ? [given, usable.find((m) => attends(m) !== attends(given))]
    : [usable.find(attends), usable.find((m) => !attends(m))];
  return [...new Set([...pair.filter(Boolean), ...usable].map((m) => m.name))].slice(0, 2);
}

const TABLE_KEYS = ["gap", "order"];
const PAIR_KEYS = ["pa", "pb", "pat"]; // the minimal pair's own (comparepair.js)

function onChange(st, changed) {
  if (changed.size === 1 && changed.has("trace")) return; // render() draws it
  syncControls(st);
  pair.changed(st, changed);
  if (changed.has("models")) return page.run();
  if (changed.has("text")) return page.runSoon();
  const only = (keys) => [...changed].every((k) => keys.includes(k));
  if (!st.trace || only(PAIR_KEYS)) return;
  if (only(TABLE_KEYS)) renderTable(st.trace);
  else if (influence.owns(changed)) influence.changed(st, changed);
  else renderColumns();
}

/** One checkbox per model; unavailable ones disabled with the reason; at most four. */
function renderModelBoxes() {
  const boxes = catalog.models.map((m) => {
    const input = el("input", { type: "checkbox", value: m.name, disabled: !m.available, name: "models" });
    input.addEventListener("change", () => {
      // keep the user's column order
      const others = store.get().models.filter((n) => n !== m.name);
      store.set({ models: input.checked ? [...others, m.name] : others });
    });
    const title = m.reason ?? `${m.spec.architecture}, ${m.spec.n_layers} layers`;
    return el(
      "label",
      { class: m.available ? null : "off", title },
      input,
      m.available ? m.name : `${m.name} (unavailable)`,
    );
  });
  dom.modelBoxes.replaceChildren(
    el("legend", {}, `Models (2 to ${MAX_MODELS})`),
    el("div", { class: "boxes" }, ...boxes),
  );
}

/** The columns' layout select: side by side, or one model large. */
function fillLayout(names, shown) {
  const options = names.map((n) => ({ value: n, label: `${n} large, others small` }));
  fillSelect(
    dom.cmap,
    [{ value: "all", label: "all side by side" }, ...options],
    names.includes(shown) ? shown : "all",
  );
}

const numbered = (n) => Array.from({ length: n }, (_, i) => ({ value: i, label: `${i}` }));

function syncControls(st = store.get()) {
  if (dom.text.value !== st.text) dom.text.value = st.text;
  for (const input of dom.modelBoxes.querySelectorAll("input")) {
    const m = modelNamed(catalog, input.value);
    input.checked = st.models.includes(input.value);
    input.disabled = !m?.available || (!input.checked && st.models.length >= MAX_MODELS);
  }
  const chosen = st.models.map((n) => modelNamed(catalog, n)).filter(Boolean);
  const nLayers = Math.max(1, ...chosen.map((m) => m.spec.n_layers));
  const nHeads = Math.max(1, ...chosen.map((m) => m.spec.n_heads ?? 0));
  fillSelect(dom.layer, numbered(nLayers), Math.min(st.layer, nLayers - 1));
  fillSelect(dom.head, numbered(nHeads), Math.min(st.head, nHeads - 1));
  dom.view.value = st.view;
  dom.head.disabled = st.view !== "head";
  // the state parts: every view of a column that does not draw the attention view
  const parts = new Map();
  for (const c of st.models.map(columnController)) {
    if (c && !c.owns(st.view)) for (const v of c.views) parts.set(v.value, v);
  }
  // a part no column draws shows as the first one, as the columns fall back to their first
  fillSelect(dom.part, [...parts.values()], parts.has(st.part) ? st.part : parts.keys().next().value);
  dom.part.disabled = !parts.size;
  explain(dom.view, VIEW_TERMS[st.view]); // the glossary's word on what each select shows
  explain(dom.part, dom.part.value);
  if (Number(dom.gap.value) !== st.gap) dom.gap.value = String(st.gap);
  dom.order.value = st.order;
  fillLayout(st.models, st.models.includes(st.cmap) ? st.cmap : large);
  influence.syncControls(st);
}

function clear() {
  store.set({ trace: null });
  for (const plot of plots.values()) plot.purge();
  plots.clear();
  for (const node of [dom.columns, dom.predTable]) node.replaceChildren();
  delete dom.columns.dataset.shows;
  dom.columns.classList.remove("one");
  large = null;
  dom.cmapNote.textContent = "";
  surprisalPlot.purge();
  dom.surprisalPlot.hidden = true;
  influence.clear();
}

/** A column: the model's name, its card's held-out numbers, and its plot or its refusal. */
function columnNode(m) {
  const header = el(
    "header",
    {},
    el("h2", {}, m.model),
    el("span", { class: "card-metrics", title: "from the model card" }, cardLine(modelNamed(catalog, m.model))),
    el("span", { class: "muted" }, ""),
    el(
      "button",
      { type: "button", class: "enlarge", "data-model": m.model, title: `Show ${m.model} large` },
      "enlarge",
    ),
  );
  if (m.error) {
    const reason = el(
      "div",
      { class: "refusal", role: "note" },
      el("strong", {}, m.error.title ?? "Refused"),
      " ",
      el("span", { class: "detail" }, m.error.detail ?? ""),
    );
    return el("article", { class: "col refused", "data-model": m.model }, header, reason);
  }
  const node = el("div", { class: "plot", id: `plot-${m.model}` });
  plots.set(m.model, createPlot(node, pointer(m.model)));
  return el("article", { class: "col", "data-model": m.model }, header, node);
}

async function render() {
  const res = store.get().trace;
  const tok = primary(res);
  dom.count.textContent = `(${tok.n_tokens} tokens)`;
  const pieces = tokenPieces(tok.strings, tok.spans, res.text); // byte pieces shown as characters
  strip.show(tok.strings, [], res, { pieces, ids: tok.ids }); // colours differ per model: see the table
  if (focus.selected() >= tok.strings.length) focus.select(null, null);
  const signature = res.models.map((m) => `${m.model}${m.error ? "!" : ""}`).join();
  if (dom.columns.dataset.shows !== signature) {
    for (const plot of plots.values()) plot.purge();
    plots.clear();
    dom.columns.replaceChildren(...res.models.map(columnNode));
    dom.columns.dataset.shows = signature;
  }
  renderTable(res);
  await Promise.all([renderColumns(), renderSurprisal(res)]);
  onFocus(focus.current(), null);
  influence.load(res, store.get());
}

/** Every traced model's surprisal of each token (on the first model's tokens), one line each. */
async function renderSurprisal(res) {
  const tok = primary(res);
  const series = traced(res).map((m) => {
    const bits = tokenBits(m.predictions.surprisal_bits);
    const at = (t) => toModel(res, m, t);
    return {
      name: m.model,
      bits: tok.strings.map((_, t) => (at(t) > 0 ? bits[at(t)] : null)),
      // the guess for token t was made at the position before it
      guess: tok.strings.map((_, t) => {
        const i = at(t) - 1;
        const p = m.predictions;
        return i >= 0 && p.top_strings[i] ? { top: p.top_strings[i][0], prob: p.top_probs[i][0] } : null;
      }),
    };
  });
  const fig = surprisalFigure(axisLabels(tok.strings, tok.spans, res.text), series, {
    maxLabels: labelsThatFitWidth(dom.surprisalPlot, 80),
  });
  await surprisalPlot.render(fig, { filename: "attenzione-compare-surprisal", token: focus.current() });
}

/** Lay the columns out side by side, or one large and the others small (the page's `cmap`,
 * or, unless it says "all", when side by side a token would get under MIN_CELL_PX). */
function arrange(res) {
  const st = store.get();
  const names = traced(res)
    .map((m) => m.model)
    .filter((n) => plots.has(n));
  dom.columns.classList.remove("one"); // side by side, to measure the width a map gets there
  const width = Math.min(...names.map((n) => plots.get(n).node.clientWidth));
  const n = Math.max(...traced(res).map((m) => m.tokens.n_tokens));
  large = largeColumn(st.cmap, names, width, n);
  dom.columns.classList.toggle("one", large !== null);
  for (const col of dom.columns.children) {
    col.classList.toggle("large", large !== null && col.dataset.model === large);
    col.classList.toggle("small", large !== null && col.dataset.model !== large);
  }
  fillLayout(st.models, large);
  const auto = large !== null && large !== st.cmap;
  dom.cmapNote.textContent =
    large === null
      ? ""
      : `${auto ? `${n} tokens: side by side a token would get under ${MIN_CELL_PX} px. ` : ""}Click a small map to enlarge it.`;
}

/** Each model's view at the chosen layer/head (clamped to what the model has): the large
 * and side-by-side ones labelled every k-th token as fits, the small ones bare. */
async function renderColumns() {
  const res = store.get().trace;
  arrange(res);
  await Promise.all(
    res.columns.map(async (trace, k) => {
      const col = dom.columns.children[k];
      const family = trace.family === trace.model ? "" : `${trace.family} · `;
      if (trace.error) {
        col.querySelector("header .muted").textContent = `${family}refused this text`;
        return;
      }
      const v = column(trace.model);
      const mean = trace.predictions.mean_surprisal_bits;
      col.querySelector("header .muted").textContent =
        `${family}mean surprisal ${mean === null ? "—" : mean.toFixed(2)} bits/token`;
      if (!v) return;
      const node = v.plot.node;
      const fit = { rows: labelsThatFit(node, 116), cols: labelsThatFitWidth(node), square: false };
      const { fig } = v.c.main(trace, v.st, fit);
      fig.layout.title.text = fig.layout.title.text
        .replace(" (Abnar & Zuidema 2020)", "")
        .replace(" (rows need not sum to 1)", "");
      const small = large !== null && trace.model !== large;
      const shown = small ? thumbnail(fig) : fitTicks(fig, trace.tokens.strings, node.clientWidth, node.clientHeight);
      await v.plot.render(shown, {
        filename: `attenzione-compare-${trace.model}`,
        toolbar: !small,
        token: toModel(res, trace, focus.current()),
      });
    }),
  );
}

/** The predictions table: each traced model's guess and surprisal at every position, the
 * gap in bits between the models, rows with a gap above the threshold marked, in the
 * order chosen (the text's, or the largest gap first). */
function renderTable(res) {
  const st = store.get();
  const models = traced(res);
  rows = withGaps(
    comparisonRows(
      primary(res).strings,
      models.map((m) => ({ predictions: m.predictions, at: (t) => toModel(res, m, t) })),
    ),
    st.gap,
  );
  // the "#" and gap headers sort the rows (aria-sort says how they are sorted now)
  const sortable = (key, label, title, ...more) =>
    el(
      "th",
      {
        class: key === "gap" ? "num" : null,
        "aria-sort": st.order !== key ? "none" : key === "gap" ? "descending" : "ascending",
      },
      el("button", { type: "button", class: "sort", "data-order": key, title }, label),
      ...more,
    );
  const head = el(
    "tr",
    {},
    sortable("position", "#", "In the text's order"),
    el("th", {}, "token"),
    el("th", {}, "actual next"),
    sortable("gap", "gap", "Largest gap in surprisal between the models first", " ", term("gap", "(bits)")),
    ...models.flatMap((m) => [el("th", {}, `${m.model}: top guess`), el("th", { class: "num" }, "bits")]),
  );
  const body = sortRows(rows, st.order).map((r) =>
    el(
      "tr",
      { "data-t": r.t, class: r.disagree ? "disagree" : null },
      el("td", { class: "num" }, String(r.t)),
      el("td", { class: "tokcell" }, r.token),
      el("td", { class: "tokcell" }, r.next ?? "—"),
      el("td", { class: `num gapcell${r.disagree ? " flag" : ""}` }, r.gap === null ? "—" : r.gap.toFixed(2)),
      ...r.cells.flatMap((c) => [
        el(
          "td",
          { class: `tokcell pred${c.hit ? " hit" : ""}` },
          c.top === null ? "—" : `${c.top}  ${(100 * c.prob).toFixed(0)}%`,
        ),
        bitsCell(c),
      ]),
    ),
  );
  const marked = rows.filter((r) => r.disagree).length;
  const foot = el(
    "tr",
    {},
    el("td", { colspan: "3" }, "mean surprisal (bits/token)"),
    el("td", { class: "num", title: `positions with a gap above ${st.gap} bits` }, `${marked} ⚑`),
    ...models.flatMap((m) => [el("td", {}), el("td", { class: "num" }, fmt(m.predictions.mean_surprisal_bits))]),
  );
  dom.predTable.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body), el("tfoot", {}, foot));
  onFocus(focus.current(), null);
}

/** The table's rows hover and select tokens (listeners on the table, added once). */
function wireTable() {
  const rowOf = (ev) => ev.target.closest("tbody tr")?.dataset.t;
  dom.predTable.addEventListener("click", (ev) => {
    const order = ev.target.closest("button.sort")?.dataset.order;
    if (order) store.set({ order });
  });
  dom.predTable.addEventListener("mouseover", (ev) => {
    const t = rowOf(ev);
    if (t) focus.hover(Number(t), dom.predTable);
  });
  dom.predTable.addEventListener("mouseleave", () => focus.hover(null, dom.predTable));
  dom.predTable.addEventListener("click", (ev) => {
    const t = rowOf(ev);
    if (t) focus.select(Number(t), dom.predTable);
  });
}

const fmt = (v) => (v === null || v === undefined ? "—" : v.toFixed(2));

function bitsCell(c) {
  if (c.bits === null || c.bits === undefined) return el("td", { class: "num" }, "—");
  const bg = colourAt(c.bits);
  return el("td", { class: `num${c.best ? " best" : ""}`, style: `background:${bg};color:${inkFor(bg)}` }, fmt(c.bits));
}

/** The focused token in the strip, every column and the table. */
function onFocus(t, source) {
  const res = store.get().trace;
  if (!res) return;
  strip.mark(t, focus.selected());
  for (const trace of traced(res)) {
    const plot = plots.get(trace.model);
    if (plot && plot !== source && plot.shown()) plot.highlight(toModel(res, trace, t));
  }
  if (surprisalPlot !== source && surprisalPlot.shown()) surprisalPlot.highlight(t);
  influence.highlight(t, source);
  for (const r of dom.predTable.querySelectorAll("tr.focus")) r.classList.remove("focus");
  const row = t === null ? null : dom.predTable.querySelector(`tbody tr[data-t="${t}"]`);
  row?.classList.add("focus");
  if (row && source !== dom.predTable && t === focus.selected()) scrollWithin(row);
}

/** Scroll the table's own box (not the page) so that `row` shows below the sticky head and
 * above the sticky foot. */
function scrollWithin(row) {
  const wrap = row.closest(".table-wrap");
  const r = row.getBoundingClientRect();
  const w = wrap.getBoundingClientRect();
  const [head, foot] = [26, 28];
  if (r.top < w.top + head) wrap.scrollTop -= w.top + head - r.top;
  else if (r.bottom > w.bottom - foot) wrap.scrollTop += r.bottom - (w.bottom - foot);
}

async function downloadJson() {
  const st = store.get();
  if (!st.trace) return;
  try {
    const json = await fetchCompareJson({ models: st.models, text: st.text, top_k: catalog.default_top_k });
    download("attenzione-compare.json", "application/json", JSON.stringify(json));
  } catch (err) {
    showError(dom.error, err);
  }
}

function downloadCsv() {
  const res = store.get().trace;
  if (!res) return;
  const names = traced(res).map((m) => m.model);
  const cols = ["next", "gap bits", ...names.flatMap((n) => [`${n} top`, `${n} p`, `${n} bits`])];
  const matrix = rows.map((r) =>
    [r.next ?? "", r.gap ?? "", ...r.cells.flatMap((c) => [c.top ?? "", c.prob ?? "", c.bits ?? ""])].map((v) =>
      typeof v === "string" ? `"${v.replace(/"/g, '""')}"` : v,
    ),
  );
  const labels = rows.map((r) => `#${r.t} ${r.token}`);
  download("attenzione-compare.csv", "text/csv", toCsv(matrix, labels, cols, "token"));
}

start();
