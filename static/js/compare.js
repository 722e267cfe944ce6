/**
 * The compare page: 2-4 models on one text, one column each (attention for the
 * Transformer, a state heatmap for recurrent nets), a shared token focus, and a table of
 * every model's next-token guesses and surprisal with disagreements marked.
 */

import { fetchCompare, fetchCompareJson, fetchModels } from "./api.js";
import { colourAt, inkFor, toCsv } from "./figures.js";
import { createStore, debounce, readQuery, syncUrl } from "./state.js";
import * as ui from "./ui.js";
import * as V from "./views.js";

const { $, el } = ui;
const SCHEMA = {
  text: { type: "string", fallback: "" },
  models: { type: "list", fallback: [] },
  view: { type: "string", fallback: "head" },
  layer: { type: "int", fallback: 0 },
  head: { type: "int", fallback: 0 },
  part: { type: "string", fallback: "h" },
};
const MAX_MODELS = 4;

const boot = JSON.parse($("#boot").textContent);
const modelsRequest = fetchModels(); // in flight while plotly.js is still parsing
const store = createStore(readQuery(location.search, SCHEMA));
if (!new URLSearchParams(location.search).has("text")) store.set({ text: boot.samples[0].text });
const focus = ui.createFocus();
const dom = Object.fromEntries(
  [
    "text",
    "sample",
    "count",
    "model-boxes",
    "view",
    "layer",
    "head",
    "part",
    "status",
    "legend",
    "error",
    "strip",
    "empty",
    "columns",
    "pred-table",
  ].map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), $(`#${id}`)]),
);

let models = [];
let result = null; // the decoded comparison shown now
let rows = [];
let inflight = null;
const traceSoon = debounce(() => runCompare(), 300);
const info = (name) => models.find((m) => m.name === name);

async function start() {
  const list = await ui.openPage(dom, boot, modelsRequest, wireControls);
  if (!list) return;
  models = list;
  const usable = models.filter((m) => m.available).map((m) => m.name);
  let chosen = store
    .get()
    .models.filter((n) => usable.includes(n))
    .slice(0, MAX_MODELS);
  if (chosen.length < 2) chosen = defaultPair(usable);
  store.set({ models: chosen });
  renderModelBoxes();
  syncControls();
  syncUrl(store, SCHEMA);
  store.subscribe(onChange);
  focus.subscribe(onFocus);
  await ui.plotlyReady;
  runCompare();
}

/** A Transformer and an LSTM if there are both: the comparison the app is about. */
function defaultPair(usable) {
  const pick = ["transformer", "lstm", "gru", "rnn"].filter((n) => usable.includes(n));
  return [...new Set([...pick, ...usable])].slice(0, 2);
}

function onChange(_st, changed) {
  syncControls();
  if (changed.has("models")) runCompare();
  else if (changed.has("text")) traceSoon();
  else if (result) renderColumns();
}

function wireControls() {
  const set = (patch) => store.set(patch);
  dom.text.addEventListener("input", () => set({ text: dom.text.value }));
  dom.text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      runCompare();
    }
  });
  $("#text-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    set({ text: dom.text.value });
    runCompare();
  });
  dom.sample.addEventListener("change", () => {
    if (dom.sample.value === "") return;
    set({ text: boot.samples[Number(dom.sample.value)].text });
    dom.sample.value = "";
    runCompare();
  });
  dom.view.addEventListener("change", () => set({ view: dom.view.value }));
  dom.layer.addEventListener("change", () => set({ layer: Number(dom.layer.value) }));
  dom.head.addEventListener("change", () => set({ head: Number(dom.head.value) }));
  dom.part.addEventListener("change", () => set({ part: dom.part.value }));
  $("#copy-link").addEventListener("click", copyLink);
  $("#dl-json").addEventListener("click", downloadJson);
  $("#dl-csv").addEventListener("click", downloadCsv);
}

/** One checkbox per model; unavailable ones disabled with the reason; at most four. */
function renderModelBoxes() {
  const boxes = models.map((m) => {
    const input = el("input", { type: "checkbox", value: m.name, disabled: !m.available, name: "models" });
    input.addEventListener("change", () => {
      // keep the user's column order
      const others = store.get().models.filter((n) => n !== m.name);
      store.set({ models: input.checked ? [...others, m.name] : others });
    });
    return el(
      "label",
      { class: m.available ? null : "off", title: m.reason ?? `${m.family}, ${m.n_layers} layers` },
      input,
      m.available ? m.name : `${m.name} (unavailable)`,
    );
  });
  dom.modelBoxes.replaceChildren(
    el("legend", {}, `Models (2 to ${MAX_MODELS})`),
    el("div", { class: "boxes" }, ...boxes),
  );
}

function syncControls() {
  const st = store.get();
  if (dom.text.value !== st.text) dom.text.value = st.text;
  const chosen = st.models.map(info).filter(Boolean);
  dom.modelBoxes.querySelectorAll("input").forEach((input) => {
    const m = info(input.value);
    input.checked = st.models.includes(input.value);
    input.disabled = !m?.available || (!input.checked && st.models.length >= MAX_MODELS);
  });
  const nLayers = Math.max(1, ...chosen.map((m) => m.n_layers));
  const nHeads = Math.max(1, ...chosen.map((m) => m.n_heads ?? 0));
  ui.fillSelect(
    dom.layer,
    Array.from({ length: nLayers }, (_, l) => ({ value: l, label: `${l}` })),
    Math.min(st.layer, nLayers - 1),
  );
  ui.fillSelect(
    dom.head,
    Array.from({ length: nHeads }, (_, h) => ({ value: h, label: `${h}` })),
    Math.min(st.head, nHeads - 1),
  );
  dom.view.value = st.view;
  dom.head.disabled = st.view !== "head";
  dom.part.value = st.part;
}

async function runCompare() {
  traceSoon.cancel();
  inflight?.abort();
  const st = store.get();
  if (!st.text.trim() || st.models.length < 2) return showEmpty(st.models.length < 2);
  const ctrl = new AbortController();
  inflight = ctrl;
  ui.setStatus(dom.status, `Tracing with ${st.models.join(", ")}…`, true);
  dom.columns.setAttribute("aria-busy", "true");
  const started = performance.now();
  document.body.dataset.status = "loading"; // for tests and the benchmark
  try {
    const res = await fetchCompare({ models: st.models, text: st.text }, ctrl.signal);
    if (inflight !== ctrl) return;
    result = res;
    ui.showError(dom.error, null);
    await render();
    document.body.dataset.status = "ready";
    ui.setStatus(
      dom.status,
      `${primary().n_tokens} tokens · ${result.models.length} models · ${Math.round(performance.now() - started)} ms`,
    );
  } catch (err) {
    if (err.name === "AbortError") return;
    document.body.dataset.status = "error";
    result = null;
    dom.columns.replaceChildren();
    dom.predTable.replaceChildren();
    dom.strip.replaceChildren();
    ui.setStatus(dom.status, "");
    ui.showError(dom.error, err);
  } finally {
    if (inflight === ctrl) {
      inflight = null;
      dom.columns.removeAttribute("aria-busy");
    }
  }
}

function showEmpty(tooFewModels) {
  result = null;
  document.body.dataset.status = "empty";
  dom.empty.hidden = false;
  dom.empty.querySelector("p").textContent = tooFewModels
    ? "Tick at least two models to compare them."
    : "Nothing to compare yet. Type a sentence, or pick a sample.";
  for (const node of [dom.columns, dom.predTable, dom.strip]) node.replaceChildren();
  ui.showError(dom.error, null);
  ui.setStatus(dom.status, "");
}

/** The first model's tokenisation: the strip and the table rows follow it. */
const primary = () => result.tokenizations[result.models[0].tokenizer];
const tokensOf = (m) => result.tokenizations[m.tokenizer];
const toModel = (m, t) => V.mapToken(t, primary().spans, tokensOf(m).spans);

async function render() {
  dom.empty.hidden = true;
  const tok = primary();
  dom.count.textContent = `(${tok.n_tokens} tokens)`;
  ui.renderStrip(dom.strip, tok.strings, [], focus); // colours differ per model: see the table
  if (focus.selected() >= tok.strings.length) focus.select(null, null);
  const shownNames = [...dom.columns.children].map((c) => c.dataset.model).join();
  if (shownNames !== result.models.map((m) => m.model).join()) {
    for (const gd of dom.columns.querySelectorAll(".js-plotly-plot")) Plotly.purge(gd);
    dom.columns.replaceChildren(
      ...result.models.map((m) =>
        el(
          "article",
          { class: "col", "data-model": m.model },
          el("header", {}, el("h2", {}, m.model), el("span", { class: "muted" }, "")),
          el("div", { class: "plot", id: `plot-${m.model}` }),
        ),
      ),
    );
  }
  renderTable();
  await renderColumns();
  onFocus(focus.current(), null);
}

/** Each model's view at the chosen layer/head (clamped to what the model has). */
async function renderColumns() {
  const st = store.get();
  await Promise.all(
    result.models.map(async (m, k) => {
      const col = dom.columns.children[k];
      const strings = tokensOf(m).strings;
      const mi = info(m.model);
      const layer = Math.min(st.layer, mi.n_layers - 1);
      const mean = m.predictions.mean_surprisal_bits;
      const family = m.family === m.model ? "" : `${m.family} · `;
      col.querySelector("header .muted").textContent =
        `${family}mean surprisal ${mean === null ? "—" : mean.toFixed(2)} bits/token`;
      const gd = col.querySelector(".plot");
      let fig;
      let toToken;
      if (m.parts.attention) {
        const head = Math.min(st.head, mi.n_heads - 1);
        ({ fig } = V.attentionView(m.parts.attention.self, strings, {
          view: st.view,
          layer,
          head,
          square: false,
          maxLabels: ui.labelsThatFit(gd, 116),
        }));
        toToken = (p) => p.y;
      } else {
        const parts = V.recurrentParts(m.parts);
        const part = parts[st.part] ? st.part : "h";
        ({ fig } = V.stateView(parts, strings, {
          view: part,
          layer,
          sort: "index",
          maxLabels: ui.labelsThatFitWidth(gd),
        }));
        toToken = (p) => p.x;
      }
      fig.layout.title.text = fig.layout.title.text
        .replace(" (Abnar & Zuidema 2020)", "")
        .replace(" (rows need not sum to 1)", "");
      await ui.renderPlot(gd, fig, `attenzione-compare-${m.model}`, { token: toModel(m, focus.current()) });
      gd.toPrimary = (i) => V.mapToken(i, tokensOf(m).spans, primary().spans);
      ui.linkPlot(
        gd,
        focus,
        (p) => gd.toPrimary(toToken(p)),
        (p) => focus.select(gd.toPrimary(toToken(p)), gd),
      );
    }),
  );
}

function renderTable() {
  rows = V.comparisonRows(
    primary().strings,
    result.models.map((m) => ({ predictions: m.predictions, at: (t) => toModel(m, t) })),
  );
  const names = result.models.map((m) => m.model);
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
    ...result.models.flatMap((m) => [el("td", {}), el("td", { class: "num" }, fmt(m.predictions.mean_surprisal_bits))]),
  );
  dom.predTable.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body), el("tfoot", {}, foot));
  if (dom.predTable.wired) return;
  dom.predTable.wired = true;
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
  if (!result) return;
  ui.markStripToken(dom.strip, t, focus.selected());
  result.models.forEach((m, k) => {
    const gd = dom.columns.children[k]?.querySelector(".plot");
    if (gd && gd !== source) ui.highlightPlot(gd, toModel(m, t));
  });
  for (const r of dom.predTable.querySelectorAll("tr.focus")) r.classList.remove("focus");
  const row = t === null ? null : dom.predTable.querySelector(`tbody tr[data-t="${t}"]`);
  row?.classList.add("focus");
  if (row && source !== dom.predTable && t === focus.selected()) row.scrollIntoView({ block: "nearest" });
}

async function copyLink() {
  try {
    await navigator.clipboard.writeText(location.href);
    ui.setStatus(dom.status, "Link copied: it restores this text, the models and the view.");
  } catch {
    ui.setStatus(dom.status, `Link: ${location.href}`);
  }
}

async function downloadJson() {
  if (!result) return;
  try {
    const json = await fetchCompareJson({ models: store.get().models, text: store.get().text });
    ui.download("attenzione-compare.json", "application/json", JSON.stringify(json));
  } catch (err) {
    ui.showError(dom.error, err);
  }
}

function downloadCsv() {
  if (!result) return;
  const names = result.models.map((m) => m.model);
  const cols = ["next", ...names.flatMap((n) => [`${n} top`, `${n} p`, `${n} bits`])];
  const matrix = rows.map((r) =>
    [r.next ?? "", ...r.cells.flatMap((c) => [c.top ?? "", c.prob ?? "", c.bits ?? ""])].map((v) =>
      typeof v === "string" ? `"${v.replace(/"/g, '""')}"` : v,
    ),
  );
  ui.download(
    "attenzione-compare.csv",
    "text/csv",
    toCsv(
      matrix,
      rows.map((r) => `#${r.t} ${r.token}`),
      cols,
      "token",
    ),
  );
}

start();
