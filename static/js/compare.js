/**
 * The compare page: 2-4 models on one text, one column each, a shared token focus, and a
 * table of every model's next-token guesses and surprisal with disagreements marked. Each
 * column shows its model's first controller (controllers/): attention where the model
 * declares it, else its states; the attention view and the state part are chosen once for
 * all columns.
 */

import { fetchCompare, fetchCompareJson } from "./api.js";
import { availableModels, modelNamed } from "./catalog.js";
import { controllersFor } from "./controllers/index.js";
import { download, el, fillSelect, showError } from "./dom.js";
import { colourAt, inkFor, toCsv } from "./figures.js";
import { openPage } from "./page.js";
import { createPlot, labelsThatFit, labelsThatFitWidth } from "./plot.js";
import { explain, VIEW_TERMS } from "./tooltip.js";
import { comparisonRows, mapToken } from "./views.js";

const SCHEMA = {
  text: { type: "string", fallback: "" },
  models: { type: "list", fallback: [] },
  view: { type: "string", fallback: "head" },
  layer: { type: "int", fallback: 0 },
  head: { type: "int", fallback: 0 },
  part: { type: "string", fallback: "h" },
};
const MAX_MODELS = 4;

const page = openPage({
  schema: SCHEMA,
  ids: ["model-boxes", "view", "layer", "head", "part", "columns", "pred-table", "dl-json", "dl-csv"],
  copied: "Link copied: it restores this text, the models and the view.",
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
      // until the columns can show a refusal of their own, a model that refused the text
      // (more tokens than its n_ctx) fails the view with its reason
      const refused = res.models.find((m) => m.error);
      if (refused) throw { title: refused.error.title, detail: refused.error.detail };
      // each model's response with its tokens, read as a trace by the controllers
      const columns = res.models.map((m) => ({ ...m, tokens: res.tokenizations[m.tokenizer] }));
      store.set({ trace: { ...res, columns } });
      return render();
    },
    done: (res, ms) => `${primary(res).n_tokens} tokens · ${res.models.length} models · ${ms} ms`,
    clear,
    busy: "columns",
  },
});
const { store, focus, dom, strip } = page;

let catalog = null;
let rows = [];
const made = new Map(); // model name -> its controllers
const plots = new Map(); // model name -> the plot of its column

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
  const trace = res?.columns.find((m) => m.model === name);
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
]) {
  dom[id].addEventListener("change", () => store.set({ [key]: int ? Number(dom[id].value) : dom[id].value }));
}

async function start() {
  catalog = await page.catalog;
  if (!catalog) return;
  const usable = availableModels(catalog).map((m) => m.name);
  let chosen = store
    .get()
    .models.filter((n) => usable.includes(n))
    .slice(0, MAX_MODELS);
  if (chosen.length < 2) chosen = defaultPair();
  store.set({ models: chosen });
  renderModelBoxes();
  syncControls();
  focus.subscribe(onFocus);
  await page.start(onChange);
}

/** A model with attention and one without, if there are both: the comparison the app is
 * about; else the first two available. */
function defaultPair() {
  const usable = availableModels(catalog);
  const attends = (m) => m.spec.attention.length > 0;
  const pair = [usable.find(attends), usable.find((m) => !attends(m))].filter(Boolean);
  return [...new Set([...pair, ...usable].map((m) => m.name))].slice(0, 2);
}

function onChange(st, changed) {
  if (changed.size === 1 && changed.has("trace")) return; // render() draws it
  syncControls(st);
  if (changed.has("models")) page.run();
  else if (changed.has("text")) page.runSoon();
  else if (st.trace) renderColumns();
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
}

function clear() {
  store.set({ trace: null });
  for (const plot of plots.values()) plot.purge();
  plots.clear();
  for (const node of [dom.columns, dom.predTable]) node.replaceChildren();
}

async function render() {
  const res = store.get().trace;
  const tok = primary(res);
  dom.count.textContent = `(${tok.n_tokens} tokens)`;
  strip.show(tok.strings, [], res); // colours differ per model: see the table
  if (focus.selected() >= tok.strings.length) focus.select(null, null);
  const names = res.models.map((m) => m.model);
  if ([...plots.keys()].join() !== names.join()) {
    for (const plot of plots.values()) plot.purge();
    plots.clear();
    dom.columns.replaceChildren(
      ...names.map((name) => {
        const node = el("div", { class: "plot", id: `plot-${name}` });
        plots.set(name, createPlot(node, pointer(name)));
        return el(
          "article",
          { class: "col", "data-model": name },
          el("header", {}, el("h2", {}, name), el("span", { class: "muted" }, "")),
          node,
        );
      }),
    );
  }
  renderTable(res);
  await renderColumns();
  onFocus(focus.current(), null);
}

/** Each model's view at the chosen layer/head (clamped to what the model has). */
async function renderColumns() {
  const res = store.get().trace;
  await Promise.all(
    res.columns.map(async (trace, k) => {
      const v = column(trace.model);
      const col = dom.columns.children[k];
      const mean = trace.predictions.mean_surprisal_bits;
      const family = trace.family === trace.model ? "" : `${trace.family} · `;
      col.querySelector("header .muted").textContent =
        `${family}mean surprisal ${mean === null ? "—" : mean.toFixed(2)} bits/token`;
      if (!v) return;
      const node = v.plot.node;
      const fit = { rows: labelsThatFit(node, 116), cols: labelsThatFitWidth(node), square: false };
      const { fig } = v.c.main(trace, v.st, fit);
      fig.layout.title.text = fig.layout.title.text
        .replace(" (Abnar & Zuidema 2020)", "")
        .replace(" (rows need not sum to 1)", "");
      await v.plot.render(fig, {
        filename: `attenzione-compare-${trace.model}`,
        token: toModel(res, trace, focus.current()),
      });
    }),
  );
}

function renderTable(res) {
  rows = comparisonRows(
    primary(res).strings,
    res.columns.map((m) => ({ predictions: m.predictions, at: (t) => toModel(res, m, t) })),
  );
  const names = res.models.map((m) => m.model);
  const head = el(
    "tr",
    {},
    el("th", {}, "#"),
    el("th", {}, "token"),
    el("th", {}, "actual next"),
    el("th", { title: "top-1 guesses differ" }, "≠"),
    ...names.flatMap((n) => [el("th", {}, `${n}: top guess`), el("th", { class: "num" }, "bits")]),
  );
  const body = rows.map((r) =>
    el(
      "tr",
      { "data-t": r.t, class: r.disagree ? "disagree" : null },
      el("td", { class: "num" }, String(r.t)),
      el("td", { class: "tokcell" }, r.token),
      el("td", { class: "tokcell" }, r.next ?? "—"),
      el("td", { class: "flag" }, r.disagree ? "≠" : ""),
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
  const foot = el(
    "tr",
    {},
    el("td", { colspan: "4" }, "mean surprisal (bits/token)"),
    ...res.models.flatMap((m) => [el("td", {}), el("td", { class: "num" }, fmt(m.predictions.mean_surprisal_bits))]),
  );
  dom.predTable.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body), el("tfoot", {}, foot));
}

/** The table's rows hover and select tokens (listeners on the table, added once). */
function wireTable() {
  const rowOf = (ev) => ev.target.closest("tbody tr")?.dataset.t;
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
  for (const trace of res.columns) {
    const plot = plots.get(trace.model);
    if (plot && plot !== source && plot.shown()) plot.highlight(toModel(res, trace, t));
  }
  for (const r of dom.predTable.querySelectorAll("tr.focus")) r.classList.remove("focus");
  const row = t === null ? null : dom.predTable.querySelector(`tbody tr[data-t="${t}"]`);
  row?.classList.add("focus");
  if (row && source !== dom.predTable && t === focus.selected()) row.scrollIntoView({ block: "nearest" });
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
  const names = res.models.map((m) => m.model);
  const cols = ["next", ...names.flatMap((n) => [`${n} top`, `${n} p`, `${n} bits`])];
  const matrix = rows.map((r) =>
    [r.next ?? "", ...r.cells.flatMap((c) => [c.top ?? "", c.prob ?? "", c.bits ?? ""])].map((v) =>
      typeof v === "string" ? `"${v.replace(/"/g, '""')}"` : v,
    ),
  );
  const labels = rows.map((r) => `#${r.t} ${r.token}`);
  download("attenzione-compare.csv", "text/csv", toCsv(matrix, labels, cols, "token"));
}

start();
