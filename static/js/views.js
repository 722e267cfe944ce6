/**
 * From a decoded trace and the page state to figures: which matrix a view shows, its
 * title, colour range and unit order. Pure (no DOM, no Plotly), shared by both pages.
 */

import {
  absMax,
  attentionFigure,
  layerHeads,
  maxOf,
  meanOf,
  modelViewFigure,
  orderByActivation,
  orderByVariance,
  prepareAttention,
  recurrentGridFigure,
  rollout,
  scaleUnits,
  stateFigure,
  tensorMatrix,
  unitLinesFigure,
} from "./figures.js";

/** The views of one attention kind: a head, aggregates over heads, the rollout. */
export const ATTENTION_VIEWS = [
  { value: "head", label: "one head" },
  { value: "mean", label: "mean over heads" },
  { value: "max", label: "max over heads" },
  { value: "rollout", label: "rollout to layer" },
];

// Colour ranges fixed by a part's squashing function (by the name models declare it under).
const SIGMOID = new Set(["i", "f", "o", "r", "z"]); // in [0, 1]
const TANH = new Set(["h", "g", "n"]); // in [-1, 1]

/** The display options of the state: hide the first token, a row filter, and the colour
 * scale ("abs": 0–1, the default; "p99": capped at the 99th percentile). */
export function displayOptions(st) {
  const filter =
    st.filter === "topk"
      ? { kind: "topk", value: Math.max(1, Math.round(st.k)) }
      : st.filter === "threshold"
        ? { kind: "threshold", value: st.thr }
        : { kind: "none" };
  return { hideFirst: Boolean(st.sink), filter, scale: st.scale === "p99" ? "p99" : "abs" };
}

const rollouts = new WeakMap(); // attention tensor -> Map(layer -> rollout matrix)

/** The full T x T matrix the view shows: a head, a head aggregate, or the rollout. */
export function attentionMatrix(att, st) {
  if (st.view === "mean") return meanOf(layerHeads(att, st.layer));
  if (st.view === "max") return maxOf(layerHeads(att, st.layer));
  if (st.view === "rollout") {
    if (!rollouts.has(att)) rollouts.set(att, new Map());
    const memo = rollouts.get(att);
    if (!memo.has(st.layer)) {
      const layers = Array.from({ length: st.layer + 1 }, (_, l) => layerHeads(att, l));
      memo.set(st.layer, rollout(layers, st.layer));
    }
    return memo.get(st.layer);
  }
  return tensorMatrix(att, st.layer, st.head);
}

/** The view's name and its display notes (hidden sink, filter), for the figure title. */
export function attentionTitle(st) {
  const what =
    {
      head: `Layer ${st.layer} · head ${st.head}`,
      mean: `Layer ${st.layer} · mean over heads`,
      max: `Layer ${st.layer} · max over heads (rows need not sum to 1)`,
      rollout: `Rollout through layers 0–${st.layer} (Abnar & Zuidema 2020)`,
    }[st.view] ?? "";
  const { hideFirst, filter } = displayOptions(st);
  const notes = [
    hideFirst ? "first token hidden, rows renormalised" : "",
    filter.kind === "topk" ? `top ${filter.value} per row` : "",
    filter.kind === "threshold" ? `weights ≥ ${filter.value}` : "",
  ].filter(Boolean);
  return { title: what, notes };
}

/**
 * What an attention export shows, recorded in its file name, CSV header and JSON: view,
 * layer, head (for one head), the first token (sink) shown or hidden, the filter, the colours.
 */
export function attentionRecord(st) {
  const { hideFirst, filter, scale } = displayOptions(st);
  const kept = { topk: `top${filter.value}`, threshold: `ge${filter.value}` }[filter.kind] ?? "none";
  const head = st.view.endsWith("head") ? { head: st.head } : {};
  return {
    view: st.view,
    layer: st.layer,
    ...head,
    sink: hideFirst ? "hidden" : "shown",
    filter: kept,
    colours: scale,
  };
}

/** What a state export shows: view (the part), layer, units as they are or scaled. */
export function stateRecord(st) {
  return { view: st.view, layer: st.layer, units: st.unitnorm ? "scaled" : "raw" };
}

/** An export's file name (no extension) from its record: "attenzione-transformer-head-layer1-head0-…". */
export function exportName(record) {
  const { model, view, ...rest } = record;
  const parts = [
    "attenzione",
    model,
    view,
    ...Object.entries(rest).map(([k, v]) => `${k}${/^\d/.test(v) ? "" : "-"}${v}`),
  ];
  return parts.join("-").replace(/[^\w.-]+/g, "_");
}

/** The record as a CSV header's words: "model transformer · view head · layer 1 · …". */
export const recordText = (record) =>
  Object.entries(record)
    .map(([k, v]) => `${k} ${v}`)
    .join(" · ");

/** The token shown on `row` of an attention map over `n` tokens (rows start after a
 * hidden first token). */
export function attentionToken(n, st, row) {
  return row + (st.sink && n > 1 ? 1 : 0);
}

/** The large attention map: {fig, matrix, index} with display options applied. */
export function attentionView(att, strings, st) {
  const opts = displayOptions(st);
  const { matrix, index } = prepareAttention(attentionMatrix(att, st), opts);
  const valueName = st.view === "rollout" ? "rollout" : "weight";
  const { title, notes } = attentionTitle(st);
  const fig = attentionFigure(matrix, strings, {
    index,
    causal: att.causal,
    scale: opts.scale,
    filtered: opts.filter.kind !== "none",
    title,
    notes,
    valueName,
    square: st.square,
    maxLabels: st.maxLabels,
  });
  return { fig, matrix, index };
}

/** Thumbnails of every layer x head, with the same display options. */
export function modelView(att, st) {
  const [L, H] = att.shape;
  const opts = displayOptions(st);
  const maps = Array.from({ length: L }, (_, l) =>
    Array.from({ length: H }, (_, h) => prepareAttention(tensorMatrix(att, l, h), opts)),
  );
  return modelViewFigure(maps, { causal: att.causal, scale: opts.scale, filtered: opts.filter.kind !== "none" });
}

/** Which model-view thumbnail the large map shows (-1: an aggregate, none). */
export function modelViewCell(att, st) {
  return st.view === "head" ? st.layer * att.shape[1] + st.head : -1;
}

/** The state a model-view thumbnail click selects. */
export function modelViewPick(att, cell) {
  return { view: "head", layer: Math.floor(cell / att.shape[1]), head: cell % att.shape[1] };
}

/** Accessible names of the model view (for the keyboard grid): {label, cellLabel(cell)}. */
export function modelViewNames(att) {
  return {
    label: "Attention maps by layer and head",
    cellLabel: (cell) => {
      const { layer, head } = modelViewPick(att, cell);
      return `Layer ${layer}, head ${head}`;
    },
  };
}

/**
 * The state and gate tensors of a trace as one flat map in the order given: {h, c, i, f,
 * g, o}, {resid}, ... (`states` are trace parts, `gates` live under parts.gates). Names
 * the trace lacks are left out.
 */
export function stateTensors(parts, states, gates = []) {
  const out = {};
  for (const name of states) if (parts[name]) out[name] = parts[name];
  for (const name of gates) if (parts.gates?.[name]) out[name] = parts.gates[name];
  return out;
}

/** Colour range of a part: fixed by its squashing function, else symmetric around 0;
 * scaled per unit (`unitScaled`), [-1, 1] (a gate's [0, 1]). */
export function partRange(name, matrix, unitScaled = false) {
  if (SIGMOID.has(name)) return [0, 1];
  if (unitScaled) return [-1, 1];
  if (TANH.has(name)) return [-1, 1];
  const m = absMax(matrix) || 1;
  return [-m, m];
}

/** Units top to bottom for the sort option; `token` is the selected position. */
export function unitOrder(matrix, sort, token) {
  if (sort === "variance") return orderByVariance(matrix);
  if (sort === "token")
    return orderByActivation(matrix, token >= 0 && token < matrix.length ? token : matrix.length - 1);
  return null;
}

/** The large units x positions heatmap of part `st.view` (titled `st.label`) at one layer:
 * {fig, matrix, order}. */
export function stateView(parts, strings, st) {
  const matrix = tensorMatrix(parts[st.view], st.layer);
  const order = unitOrder(matrix, st.sort, st.token);
  const sorted = { variance: " · units by variance", token: " · units by value at the selected token" }[st.sort] ?? "";
  const scaled = st.unitnorm ? scaleUnits(matrix) : undefined;
  const fig = stateFigure(matrix, strings, {
    order: order ?? undefined,
    scaled,
    range: partRange(st.view, matrix, Boolean(scaled)),
    valueName: st.view,
    maxLabels: st.maxLabels,
    title: `Layer ${st.layer} · ${st.label ?? st.view}${sorted}${scaled ? " · each unit scaled by its max |value|" : ""}`,
  });
  return { fig, matrix, order };
}

/** The chosen units (or the 3 of highest variance) over positions. */
export function linesView(matrix, strings, st) {
  const D = matrix[0].length;
  const chosen = (st.units ?? []).filter((u) => u < D);
  const units = chosen.length ? chosen : orderByVariance(matrix).slice(0, 3);
  const how = chosen.length ? "chosen units" : "3 units of highest variance (click a cell to choose)";
  return unitLinesFigure(matrix, units, strings, {
    valueName: st.view,
    title: `Layer ${st.layer} · ${st.view}: ${how}`,
    maxLabels: st.maxLabels,
  });
}

/** Thumbnails of every part at every layer (`parts`: name -> [layer, position, unit]);
 * `unitnorm`: each unit scaled by its max |value| at its layer, as the large view. */
export function recurrentGrid(parts, { unitnorm = false } = {}) {
  const maps = {};
  const ranges = {};
  for (const [name, tensor] of Object.entries(parts)) {
    maps[name] = Array.from({ length: tensor.shape[0] }, (_, l) => {
      const m = tensorMatrix(tensor, l);
      return unitnorm ? scaleUnits(m) : m;
    });
    ranges[name] = partRange(name, maps[name].flat(), unitnorm);
  }
  return recurrentGridFigure(maps, { ranges, note: unitnorm ? "units scaled" : "" });
}

/** Which state thumbnail shows the selected part and layer (-1: none). */
export function recurrentCell(parts, st) {
  const names = Object.keys(parts);
  const p = names.indexOf(st.view);
  return p < 0 ? -1 : p * parts[names[0]].shape[0] + st.layer;
}

/** The state a state-grid thumbnail click selects. */
export function recurrentPick(parts, cell) {
  const names = Object.keys(parts);
  const L = parts[names[0]].shape[0];
  return { view: names[Math.floor(cell / L)], layer: cell % L };
}

/** Accessible names of the state grid (for the keyboard grid): {label, cellLabel(cell)};
 * `labelOf(name)` is a part's display name. */
export function recurrentNames(parts, labelOf = (name) => name) {
  return {
    label: "States and gates by layer and part",
    cellLabel: (cell) => {
      const { view, layer } = recurrentPick(parts, cell);
      return `Layer ${layer}, ${labelOf(view)}`;
    },
  };
}

/** Token `t` of one tokenisation to the first overlapping token of another (by spans). */
export function mapToken(t, fromSpans, toSpans) {
  if (t === null || t < 0) return -1;
  if (fromSpans === toSpans) return t;
  const [a, b] = fromSpans[t];
  return toSpans.findIndex(([c, d]) => c < b && d > a);
}

/**
 * Rows of the comparison table over the tokens `strings`: per position each model's top-1
 * next token, its probability, the surprisal of the actual next token, whether the guess
 * was right (`hit`) and the lowest surprisal (`best`); `disagree` when top-1s differ.
 * `models[k].at(t)` gives that model's position for token t (tokenisations may differ).
 */
export function comparisonRows(strings, models) {
  return strings.map((token, t) => {
    const next = t + 1 < strings.length ? strings[t + 1] : null;
    const cells = models.map(({ predictions: p, at = (i) => i }) => {
      const i = at(t);
      if (i < 0) return { top: null, prob: null, bits: null, hit: false };
      const top = p.top_strings[i][0];
      return { top, prob: p.top_probs[i][0], bits: p.surprisal_bits[i], hit: next !== null && top === next };
    });
    const known = cells.map((c) => c.bits).filter((b) => b !== null && b !== undefined);
    const best = known.length > 1 ? Math.min(...known) : null;
    cells.forEach((c) => {
      c.best = best !== null && c.bits === best;
    });
    const tops = new Set(cells.map((c) => c.top).filter((x) => x !== null));
    return { t, token, next, cells, disagree: tops.size > 1 };
  });
}
