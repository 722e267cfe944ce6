/**
 * Pure helpers of the translate page: which attention map a model shows (a layer and a head
 * or the mean over heads, clamped to the kind it declares), its alignment (the French
 * tokens produced, down, against the English tokens, across), the figures for plotly, the
 * beam's alternatives and the CSV export. No DOM, no Plotly (unit-tested under node).
 *
 * The API's target tokens are [BOS, French tokens..., EOS?] and row t of the cross-attention
 * belongs to the decoder step that reads target token t and produces token t + 1 (as in a
 * language model's trace). The alignment shows that row against the token it produced, so
 * its row r is target token r + 1; `token_probs[r]` is that token's probability.
 */

import { layerHeads, meanOf, tensorMatrix, toCsv, VIRIDIS } from "./figures.js";

const FONT = { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12, color: "#1d232b" };
const HIGHLIGHT = "#d55e00"; // the plot highlights' colour on every page (figures.js)
export const MEAN = "mean"; // the head select's value for the mean over heads

/** The attention kind `name` ("cross", "encoder_self", ...) a model's spec declares, or null. */
export const attentionKind = (spec, name) => spec?.attention?.find((k) => k.name === name) ?? null;

/**
 * The map to show of a declared attention `kind` ({n_layers, n_heads}): `layer` (negative
 * or past the end: the last) and `head` ("mean" or a head number; past the end: the mean).
 * Returns {layer, head (-1 for the mean), label}.
 */
export function mapChoice(kind, layer, head) {
  const l = layer >= 0 && layer < kind.n_layers ? layer : kind.n_layers - 1;
  const h = head !== MEAN && /^\d+$/.test(String(head)) && Number(head) < kind.n_heads ? Number(head) : -1;
  if (kind.n_layers === 1 && kind.n_heads === 1) return { layer: 0, head: 0, label: "its one attention map" };
  const which = h < 0 ? `mean over ${kind.n_heads} heads` : `head ${h}`;
  return { layer: l, head: h, label: `layer ${l} · ${which}` };
}

/** The [rows][cols] map of a decoded [layer, head, Q, K] tensor at a `mapChoice`. */
export function attentionMap(tensor, choice) {
  if (choice.head < 0) return meanOf(layerHeads(tensor, choice.layer));
  return tensorMatrix(tensor, choice.layer, choice.head).map((row) => Array.from(row));
}

/** Rows of `cross` for the tokens produced: one per target token after BOS (see above). */
export function alignmentRows(cross, nTarget) {
  return cross.slice(0, Math.max(0, nTarget - 1));
}

/** Surprisal in bits of each produced token, from its probability. */
export const surprisalBits = (probs) => probs.map((p) => (p > 0 ? -Math.log2(p) : Infinity));

/** The alignment row of target token `t` (BOS and tokens not shown: -1). */
export const rowOfTarget = (t, nTarget) => (t !== null && t >= 1 && t < nTarget ? t - 1 : -1);

/** A token as plotly text: plotly reads tags in labels ("<s>" would strike the rest through). */
export const plotText = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function layout(title, source, rows, opts) {
  const longest = (labels) => Math.max(3, ...labels.map((s) => s.length));
  const ticks = (labels) => ({ tickvals: labels.map((_, i) => i), ticktext: labels.map(plotText) });
  const axis = { showgrid: false, zeroline: false, ticklabeloverflow: "allow", tickfont: { size: 11 } };
  return {
    title: { text: title, font: { size: 13 }, x: 0, xanchor: "left", xref: "container", pad: { t: 8, l: 8 } },
    font: FONT,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#eef0f3",
    hoverlabel: { font: { family: FONT.family, size: 12 } },
    margin: {
      t: 30,
      r: 10,
      b: Math.min(130, 34 + Math.round(6.1 * longest(source))),
      l: Math.min(150, 30 + 7 * longest(rows)),
    },
    xaxis: {
      ...axis,
      ...ticks(source),
      range: [-0.5, source.length - 0.5],
      tickangle: -60,
      title: { text: opts.xTitle },
    },
    yaxis: { ...axis, ...ticks(rows), range: [rows.length - 0.5, -0.5], title: { text: opts.yTitle } },
  };
}

function heatmap(z, hover, valueName) {
  return {
    type: "heatmap",
    z,
    x: z[0]?.map((_, j) => j) ?? [],
    y: z.map((_, i) => i),
    colorscale: VIRIDIS,
    zmin: 0,
    zmax: 1, // one fixed scale, so the models' maps read alike side by side
    colorbar: { title: { text: valueName, side: "right" }, thickness: 12, len: 0.9 },
    text: hover,
    hovertemplate: `%{text}<br>${valueName} %{z:.4f}<extra></extra>`,
  };
}

/**
 * The alignment heatmap: `matrix` [produced][source], `source` the English token strings,
 * `target` the target token strings (BOS first). `highlight` outlines a focused English
 * token's column (createPlot's `token`); `rowShapes` the focused French token's row.
 */
export function alignmentFigure(matrix, source, target, { title = "Cross-attention" } = {}) {
  const produced = target.slice(1, matrix.length + 1);
  const [src, tgt] = [source.map(plotText), target.map(plotText)];
  const hover = matrix.map((row, i) =>
    Array.from(row, (_, j) => `producing #${i + 1} ${tgt[i + 1]} (reading ${tgt[i]})<br>from #${j} ${src[j]}`),
  );
  return {
    data: [heatmap(matrix, hover, "weight")],
    layout: layout(title, source, produced, { xTitle: "English (attended to)", yTitle: "French (produced)" }),
    highlight: [{ index: source.map((_, j) => j), along: "x", extent: matrix.length }],
  };
}

/** The encoder's self-attention over the English tokens: rows queries, columns keys. */
export function encoderFigure(matrix, source, { title = "Encoder self-attention" } = {}) {
  const src = source.map(plotText);
  const hover = matrix.map((row, i) => Array.from(row, (_, j) => `query #${i} ${src[i]}<br>key #${j} ${src[j]}`));
  return {
    data: [heatmap(matrix, hover, "weight")],
    layout: layout(title, source, source, { xTitle: "key (attended to)", yTitle: "query (attending)" }),
    highlight: [{ index: source.map((_, j) => j), along: "both", extent: source.length }],
  };
}

/** The outline of alignment row `row` across `nCols` columns (none for -1). */
export function rowShapes(row, nCols) {
  if (!(row >= 0)) return [];
  return [
    {
      type: "rect",
      xref: "x",
      yref: "y",
      layer: "above",
      fillcolor: "rgba(0,0,0,0)",
      x0: -0.5,
      x1: nCols - 0.5,
      y0: row - 0.5,
      y1: row + 0.5,
      line: { color: HIGHLIGHT, width: 2 },
    },
  ];
}

/** The beam's alternatives as rows: {rank, text, score, logProb, finished, chosen}. */
export function alternativeRows(entry) {
  return entry.alternatives.map((a, k) => ({
    rank: k + 1,
    text: a.text.trim(),
    score: a.score,
    logProb: a.log_prob,
    finished: a.finished,
    chosen: k === 0,
  }));
}

/** CSV of one model's alignment: a row per French token produced, a column per English one. */
export function alignmentCsv(matrix, source, target) {
  const rows = target.slice(1, matrix.length + 1).map((s, i) => `#${i + 1} ${s}`);
  return toCsv(
    matrix,
    rows,
    source.map((s, j) => `#${j} ${s}`),
    "French \\ English",
  );
}
