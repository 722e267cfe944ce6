/**
 * The translate page: every translation model on one English sentence, side by side — its
 * French (searched greedily or with a beam, or the user's own French, forced), the
 * probability of each French token, the beam's alternatives, and its cross-attention as an
 * alignment map (the Transformer's per layer and head or their mean; the LSTM's one map).
 * One French-token focus is shared by every column: hovering a token chip or a map row in one
 * model shows where each model looked in the English while producing its token there.
 */

import { fetchTranslate, fetchTranslateJson } from "./api.js";
import { availableModels } from "./catalog.js";
import { download, el, fillSelect, showError } from "./dom.js";
import { colourAt, inkFor, VIRIDIS } from "./figures.js";
import { openPage } from "./page.js";
import { createPlot } from "./plot.js";
import { createFocus } from "./state.js";
import { term } from "./tooltip.js";
import {
  alignmentCsv,
  alignmentFigure,
  alignmentRows,
  alternativeRows,
  attentionKind,
  attentionMap,
  encoderFigure,
  MEAN,
  mapChoice,
  rowOfTarget,
  rowShapes,
  surprisalBits,
} from "./translatefig.js";
import { createStrip } from "./widgets.js";

const SCHEMA = {
  text: { type: "string", fallback: "" },
  target: { type: "string", fallback: "" },
  beam: { type: "int", fallback: 1 },
  layer: { type: "int", fallback: -1 }, // -1: each model's last layer
  head: { type: "string", fallback: MEAN },
  enc: { type: "bool", fallback: false },
};
const MAX_MODELS = 4; // what one /translate request takes

const page = openPage({
  task: "translation",
  schema: SCHEMA,
  ids: ["target", "beam", "layer", "head", "encoder", "columns", "dl-json", "dl-csv", "data-credit"],
  copied: "Link copied: it restores the sentence, your French, the beam and the view.",
  run: {
    blocked: (st) => {
      if (!usable().length) return "No translation model is available yet: each column says why.";
      return st.text.trim() ? null : "Nothing to translate yet. Type an English sentence, or pick a sample.";
    },
    busyText: (st) => `${forced(st) ? "Aligning your French" : "Translating"} with ${usable().join(", ")}…`,
    request: (st, signal) => fetchTranslate(requestFor(st), signal),
    render: (res) => {
      store.set({ result: res });
      return render();
    },
    done: (res, ms) => {
      const ok = res.models.find((m) => !m.error);
      const how = ok.forced ? "your French, forced" : ok.beam === 1 ? "greedy" : `beam ${ok.beam}`;
      return `${ok.tokens.source.strings.length} English tokens · ${res.models.length} models · ${how} · ${ms} ms`;
    },
    clear,
    busy: "columns",
    shows: ["columns"],
  },
});
const { store, dom } = page;
const englishFocus = page.focus; // an English token: its column outlined in every map
const frenchFocus = createFocus(); // a French token index, shared by every column

let catalog = null;
const columns = new Map(); // model name -> {node, strip, plot, enc, ...} (made once, from the catalog)

const forced = (st) => st.target.trim() !== "";
const translationModels = () => catalog.models.filter((m) => m.task === "translation");
const usable = () =>
  catalog
    ? availableModels(catalog)
        .filter((m) => m.task === "translation")
        .map((m) => m.name)
        .slice(0, MAX_MODELS)
    : [];

function requestFor(st) {
  const body = { models: usable(), text: st.text, parts: ["attention"] };
  return forced(st) ? { ...body, target: st.target.trim() } : { ...body, beam: st.beam };
}

for (const [id, key, read] of [
  ["beam", "beam", Number],
  ["layer", "layer", Number],
  ["head", "head", String],
]) {
  dom[id].addEventListener("change", () => store.set({ [key]: read(dom[id].value) }));
}
dom.encoder.addEventListener("change", () => store.set({ enc: dom.encoder.checked }));
dom.target.addEventListener("input", () => store.set({ target: dom.target.value }));
dom.dlJson.addEventListener("click", downloadJson);
dom.dlCsv.addEventListener("click", downloadCsv);

async function start() {
  catalog = await page.catalog;
  if (!catalog) return;
  makeColumns();
  syncControls();
  frenchFocus.subscribe(onFrench);
  englishFocus.subscribe(onEnglish);
  await page.start(onChange);
}

function onChange(st, changed) {
  if (changed.size === 1 && changed.has("result")) return; // render() draws it
  syncControls(st);
  if (changed.has("beam")) page.run();
  else if (changed.has("text") || changed.has("target")) page.runSoon();
  else if (st.result) renderMaps();
}

const numbered = (n) => Array.from({ length: n }, (_, i) => ({ value: i, label: `${i}` }));

/** The page's layer and head: as many as the deepest and widest cross-attention declared. */
function syncControls(st = store.get()) {
  if (dom.text.value !== st.text) dom.text.value = st.text;
  if (dom.target.value !== st.target) dom.target.value = st.target;
  dom.beam.value = String(st.beam);
  dom.beam.disabled = forced(st);
  dom.beam.title = forced(st) ? "Forced decoding scores your French: there is no search." : "";
  dom.encoder.checked = st.enc;
  const kinds = availableModels(catalog)
    .map((m) => attentionKind(m.spec, "cross"))
    .filter(Boolean);
  const nLayers = Math.max(1, ...kinds.map((k) => k.n_layers));
  const nHeads = Math.max(1, ...kinds.map((k) => k.n_heads));
  fillSelect(dom.layer, numbered(nLayers), st.layer >= 0 && st.layer < nLayers ? st.layer : nLayers - 1);
  const heads = [{ value: MEAN, label: "mean" }, ...numbered(nHeads)];
  fillSelect(dom.head, heads, heads.some((h) => String(h.value) === st.head) ? st.head : MEAN);
  dom.layer.disabled = nLayers === 1;
  dom.head.disabled = nHeads === 1;
}

/** One column per translation model the server knows; an unavailable one says why. */
function makeColumns() {
  const models = translationModels();
  if (!models.length) {
    dom.columns.replaceChildren(el("p", { class: "muted" }, "This server has no translation models."));
    return;
  }
  dom.columns.replaceChildren(...models.map((m) => makeColumn(m)));
}

function makeColumn(m) {
  const header = el("header", {}, el("h2", {}, m.name), el("span", { class: "muted" }, modelFacts(m)));
  if (!m.available) {
    const node = el(
      "article",
      { class: "col tr-col off", "data-model": m.name },
      header,
      el("p", { class: "unavailable" }, "Unavailable: ", m.reason ?? "unknown reason"),
    );
    return node;
  }
  const strip = el("div", { class: "strip tgt-strip", role: "toolbar", "aria-label": `French tokens of ${m.name}` });
  const align = el("div", { class: "plot align-plot", id: `align-${m.name}` });
  const enc = el("div", { class: "plot enc-plot", id: `enc-${m.name}`, hidden: true });
  const c = {
    model: m,
    error: el("div", { class: "error", role: "alert", hidden: true }),
    text: el("p", { class: "translation", lang: "fr" }),
    how: el("p", { class: "muted small" }),
    strip: createStrip(strip, frenchFocus),
    stripNode: strip,
    source: el("div", { class: "src-chips", role: "list", "aria-label": "English tokens, by attention weight" }),
    encNote: el("p", { class: "muted small", hidden: true }),
    alts: el("div", { class: "alts" }),
    shown: null, // {entry, matrix, source, target} drawn now
  };
  c.source.addEventListener("mouseover", (ev) => {
    const j = ev.target.closest(".src")?.dataset.j;
    if (j !== undefined) englishFocus.hover(Number(j), c.source);
  });
  c.source.addEventListener("mouseleave", () => englishFocus.hover(null, c.source));
  c.plot = createPlot(align, {
    hover: (p) => frenchFocus.hover(p.y + 1, c.plot),
    unhover: () => frenchFocus.hover(null, c.plot),
    click: (p) => frenchFocus.select(p.y + 1, c.plot),
  });
  c.enc = createPlot(enc, {
    hover: (p) => englishFocus.hover(p.x, c.enc),
    unhover: () => englishFocus.hover(null, c.enc),
  });
  c.body = el("div", { class: "tr-body" }, c.text, c.how, strip, c.source, align, c.encNote, enc, c.alts);
  columns.set(m.name, c);
  return el("article", { class: "col tr-col", "data-model": m.name }, header, c.error, c.body);
}

/** "transformer · 2 layers × 2 heads · test BLEU 30.1, chrF 50.2 (greedy)", from the catalog. */
function modelFacts(m) {
  if (!m.available) return "";
  const cross = attentionKind(m.spec, "cross");
  const shape =
    cross && cross.n_heads > 1 ? `${m.spec.n_layers} layers × ${m.spec.n_heads} heads` : "one attention map";
  const test = m.card?.metrics?.test?.greedy;
  const score = test ? ` · test BLEU ${test.bleu.toFixed(1)}, chrF ${test.chrf.toFixed(1)} (greedy)` : "";
  return `${m.spec.architecture} · ${shape}${score}`;
}

function clear() {
  store.set({ result: null });
  for (const c of columns.values()) {
    c.shown = null;
    c.plot.purge();
    c.enc.purge();
    c.strip.clear();
    for (const node of [c.text, c.how, c.source, c.alts]) node.replaceChildren();
    showError(c.error, null);
  }
}

async function render() {
  const res = store.get().result;
  if (res.data_credit) dom.dataCredit.textContent = res.data_credit;
  const first = res.models.find((m) => !m.error);
  dom.count.textContent = `(${first.tokens.source.strings.length} tokens)`;
  for (const entry of res.models) {
    const c = columns.get(entry.model);
    if (!c) continue;
    showError(c.error, entry.error ?? null);
    c.body.hidden = Boolean(entry.error);
    if (entry.error) {
      c.shown = null;
      continue;
    }
    renderOutput(c, entry);
  }
  const n = Math.max(...res.models.map((m) => m.tokens?.target.strings.length ?? 0));
  if (frenchFocus.selected() >= n) frenchFocus.select(null, null);
  await renderMaps();
  onFrench(frenchFocus.current(), null);
  onEnglish(englishFocus.current(), null);
}

function renderOutput(c, entry) {
  const target = entry.tokens.target.strings;
  c.text.textContent = entry.translation.trim() || "(empty)";
  const how = entry.forced
    ? [term("forced", "forced"), ": the probability of each of your tokens"]
    : [entry.beam === 1 ? term("greedy", "greedy search") : term("beam", `beam of ${entry.beam}`)];
  c.how.replaceChildren(
    ...how,
    ` · log-probability ${entry.log_prob.toFixed(2)}`,
    entry.finished ? "" : " · stopped at the length limit, unfinished",
  );
  const bits = surprisalBits(entry.token_probs);
  c.strip.show(target, bits, entry);
  for (const b of c.stripNode.querySelectorAll(".tok")) {
    const t = Number(b.dataset.t);
    const p = entry.token_probs[t - 1];
    const tip =
      t === 0 ? "the start token: the decoder reads it first" : `p = ${p.toFixed(4)} (${bits[t - 1].toFixed(2)} bits)`;
    b.title = `#${t} ${target[t]} — ${tip}`;
    b.setAttribute("aria-label", `French token ${t} ${target[t]}, ${tip}`);
  }
  c.source.replaceChildren(
    ...entry.tokens.source.strings.map((s, j) =>
      el("span", { class: "src", role: "listitem", "data-j": j, title: `#${j} ${s}` }, s),
    ),
  );
  renderAlternatives(c, entry);
}

function renderAlternatives(c, entry) {
  const rows = alternativeRows(entry);
  const heading = el("h3", {}, entry.forced ? "Your French, scored" : "Beam alternatives");
  if (!entry.forced && entry.beam === 1) {
    c.alts.replaceChildren(
      heading,
      el("p", { class: "muted small" }, "Greedy search keeps one translation: choose a beam of 2 or more."),
    );
    return;
  }
  const items = rows.map((r) =>
    el(
      "li",
      { class: r.chosen ? "chosen" : null },
      el("span", { class: "alt-text", lang: "fr" }, r.text || "(empty)"),
      el("span", { class: "num" }, `score ${r.score.toFixed(3)}`),
      el("span", { class: "num muted" }, `log p ${r.logProb.toFixed(2)}${r.finished ? "" : ", unfinished"}`),
    ),
  );
  c.alts.replaceChildren(
    heading,
    el("p", { class: "muted small" }, term("beam-score", "score"), " = log-probability ÷ length; the first is shown"),
    el("ol", { class: "alt-list" }, ...items),
  );
}

/** Each model's alignment (and encoder self-attention) at the page's layer and head. */
async function renderMaps() {
  const st = store.get();
  const res = st.result;
  if (!res) return;
  await Promise.all(
    res.models
      .filter((entry) => !entry.error && columns.has(entry.model))
      .map(async (entry) => {
        const c = columns.get(entry.model);
        const source = entry.tokens.source.strings;
        const target = entry.tokens.target.strings;
        const cross = attentionKind(c.model.spec, "cross");
        const choice = mapChoice(cross, st.layer, st.head);
        const matrix = alignmentRows(attentionMap(entry.parts.attention.cross, choice), target.length);
        c.shown = { entry, matrix, source, target };
        const fig = alignmentFigure(matrix, source, target, { title: `Cross-attention · ${choice.label}` });
        const row = rowOfTarget(frenchFocus.current(), target.length);
        await c.plot.render(fig, {
          filename: `attenzione-translate-${entry.model}`,
          token: englishFocus.current(),
          shapes: rowShapes(row, source.length),
        });
        await renderEncoder(c, entry, st);
      }),
  );
}

async function renderEncoder(c, entry, st) {
  const kind = attentionKind(c.model.spec, "encoder_self");
  c.encNote.hidden = !st.enc || Boolean(kind);
  c.encNote.textContent = `${entry.model} declares no encoder self-attention: its encoder does not attend over the English.`;
  if (!st.enc || !kind) {
    c.enc.node.hidden = true;
    return;
  }
  const choice = mapChoice(kind, st.layer, st.head);
  const source = entry.tokens.source.strings;
  const fig = encoderFigure(attentionMap(entry.parts.attention.encoder_self, choice), source, {
    title: `Encoder self-attention · ${choice.label}`,
  });
  await c.enc.render(fig, { filename: `attenzione-translate-${entry.model}-encoder`, token: englishFocus.current() });
}

/** French token `t` focused: its chip and map row in every column, and the English tokens
 * each model attended to while producing its token there. */
function onFrench(t) {
  for (const c of columns.values()) {
    if (!c.shown) continue;
    const { matrix, source, target } = c.shown;
    c.strip.mark(t, frenchFocus.selected());
    const row = rowOfTarget(t, target.length);
    c.plot.setShapes(rowShapes(row, source.length)); // its own row too: plotly marks only the cell
    const weights = row >= 0 ? matrix[row] : null;
    const top = weights ? Array.from(weights).indexOf(Math.max(...weights)) : -1;
    for (const chip of c.source.querySelectorAll(".src")) {
      const j = Number(chip.dataset.j);
      const w = weights ? weights[j] : null;
      const bg = w === null ? null : colourAt(w, VIRIDIS, 0, 1);
      chip.style.background = bg ?? "";
      chip.style.color = bg ? inkFor(bg) : "";
      chip.classList.toggle("top", j === top);
      if (w === null) delete chip.dataset.weight;
      else chip.dataset.weight = w.toFixed(4);
      chip.title =
        w === null ? `#${j} ${source[j]}` : `#${j} ${source[j]} — weight ${w.toFixed(3)} producing ${target[t]}`;
    }
  }
}

/** English token `j` focused: its column outlined in every map. */
function onEnglish(j) {
  for (const c of columns.values()) {
    if (!c.shown) continue;
    c.plot.highlight(j);
    if (c.enc.shown()) c.enc.highlight(j);
    for (const chip of c.source.querySelectorAll(".src")) chip.classList.toggle("focus", Number(chip.dataset.j) === j);
  }
}

async function downloadJson() {
  const st = store.get();
  if (!st.result) return;
  try {
    const { parts: _, ...body } = requestFor(st);
    const json = await fetchTranslateJson(body);
    download("attenzione-translate.json", "application/json", JSON.stringify(json));
  } catch (err) {
    showError(dom.error, err);
  }
}

function downloadCsv() {
  const shown = [...columns.values()].filter((c) => c.shown);
  if (!shown.length) return;
  const st = store.get();
  const blocks = shown.map((c) => {
    const choice = mapChoice(attentionKind(c.model.spec, "cross"), st.layer, st.head);
    const { matrix, source, target } = c.shown;
    return `# ${c.model.name}: cross-attention, ${choice.label}\n${alignmentCsv(matrix, source, target)}`;
  });
  download("attenzione-translate.csv", "text/csv", blocks.join("\n"));
}

start();
