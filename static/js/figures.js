/**
 * Pure figure builders: `(data, options) -> {data, layout, highlight}` for Plotly.react.
 * No DOM, no Plotly at import time (unit-tested under node). `highlight` describes where
 * a token sits in the figure so `highlightShapes` can outline it.
 *
 * Axes are numeric with tickvals/ticktext: category axes would merge repeated tokens
 * ("the ... the") into one row.
 */

export * from "./matrix.js";

import { maxPool } from "./matrix.js";

// Colour-blind-safe sequential scales (viridis, cividis: perceptually uniform; YlOrRd:
// ColorBrewer, single-direction lightness).
export const VIRIDIS = [
  "#440154",
  "#482878",
  "#3e4989",
  "#31688e",
  "#26828e",
  "#1f9e89",
  "#35b779",
  "#6ece58",
  "#b5de2b",
  "#fde725",
].map((c, i, a) => [i / (a.length - 1), c]);
export const CIVIDIS = "Cividis";
export const YLORRD = [
  "#ffffcc",
  "#ffeda0",
  "#fed976",
  "#feb24c",
  "#fd8d3c",
  "#fc4e2a",
  "#e31a1c",
  "#bd0026",
  "#800026",
].map((c, i, a) => [i / (a.length - 1), c]);
export const SURPRISAL_MAX = 12; // bits: log2 of the 4096-token vocabulary, i.e. a uniform guess
const HIGHLIGHT = "#d55e00"; // Okabe-Ito vermillion: visible on viridis, cividis and white
const LINE_COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"];
const FONT = { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12, color: "#1d232b" };
// Plotly measures every tick label (a forced layout each): more than ~40 costs real time at
// 256 tokens, and the hover label names every token anyway.
export const MAX_TICK_LABELS = 40;

/** Tick positions and labels for `index` (original token indices along an axis). */
export function tokenTicks(strings, index, maxLabels = MAX_TICK_LABELS) {
  const stride = Math.max(1, Math.ceil(index.length / maxLabels));
  const tickvals = [];
  for (let p = 0; p < index.length; p += stride) tickvals.push(p);
  return { tickvals, ticktext: tickvals.map((p) => strings[index[p]]) };
}

// Margins sized from the labels, not plotly's automargin: automargin draws the figure again
// (2-4x the time of a 256-token heatmap). ~7 px per character at 12 px; x labels at -60°.
function leftMargin(labels, title = true) {
  return Math.min(130, (title ? 30 : 10) + 7 * Math.max(3, ...labels.map((s) => s.length)));
}

function bottomMargin(labels, title = true) {
  return Math.min(130, (title ? 34 : 16) + Math.round(6.1 * Math.max(3, ...labels.map((s) => s.length))));
}

function baseLayout(title, extra = {}) {
  return {
    title: {
      text: title,
      font: { size: 13 },
      x: 0,
      xanchor: "left",
      xref: "container",
      y: 1,
      yref: "container",
      yanchor: "top",
      pad: { t: 8, l: 8 },
    },
    font: FONT,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#eef0f3", // shows through masked (future) cells
    hoverlabel: { font: { family: FONT.family, size: 12 } },
    ...extra,
  };
}

// Cells a filter removed are drawn in their own colour, below the scale's zero, so they never
// read as small weights: the colour bar gets a grey band labelled "filtered out".
export const FILTERED_COLOUR = "#a6a6a6"; // neutral grey: on neither viridis nor the masked cells' #eef0f3
const FILTERED_BAND = 0.08; // of the scale's height

/**
 * The colour scale of an attention map over [0, zmax]: `scale` "abs" (default) is the
 * absolute 0–1 of a softmax weight, the same for every map; "p99" tops out at the 99th
 * percentile of `values` (rows of numbers or null). With `filtered`, removed cells get the
 * value `removed`, below 0, drawn grey. Returns {zmin, zmax, removed, colorscale, colorbar
 * (ticks), capped, note}.
 */
export function attentionScale(values, { scale = "abs", filtered = false } = {}) {
  const cap = scale === "p99" ? colourCap(values) : { zmax: 1, capped: false };
  const { zmax } = cap;
  const note = cap.capped ? `colours capped at the 99th percentile, ${zmax.toFixed(3)}` : "";
  if (!filtered) return { zmin: 0, zmax, removed: null, colorscale: VIRIDIS, ticks: {}, capped: cap.capped, note };
  const band = FILTERED_BAND * zmax;
  const cut = band / (zmax + band);
  const colorscale = [
    [0, FILTERED_COLOUR],
    [cut * 0.999, FILTERED_COLOUR],
    ...VIRIDIS.map(([stop, colour]) => [cut + stop * (1 - cut), colour]),
  ];
  const steps = niceSteps(zmax);
  const ticks = {
    tickmode: "array",
    tickvals: [-band / 2, ...steps],
    ticktext: ["filtered out", ...steps.map((v) => String(Number(v.toPrecision(3))))],
  };
  return { zmin: -band, zmax, removed: -band, colorscale, ticks, capped: cap.capped, note };
}

/** About five round ticks from 0 to `top`. */
function niceSteps(top) {
  const raw = top / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = 0; v <= top + step * 1e-9; v += step) out.push(Number(v.toFixed(12)));
  return out;
}

/** `matrix` with masked (future) cells null and cells a filter removed (null in `matrix`,
 * not masked) as `removed` (null: left null). */
function shownCells(matrix, index, causal, removed) {
  return matrix.map((row, i) =>
    Array.from(row, (v, j) => (causal && index[j] > index[i] ? null : v === null ? removed : v)),
  );
}

/**
 * One attention map. `matrix` rows are queries, columns keys, over the tokens `index`
 * (default all); cells a filter removed are null. Options: causal (blank the future), title,
 * notes (a second title line), scale ("abs": 0–1; "p99": capped), filtered (a filter is on:
 * removed cells grey), valueName, square (default true: square cells; false fills a wide
 * box), maxLabels (tick labels per axis).
 */
export function attentionFigure(matrix, strings, opts = {}) {
  const index = opts.index ?? matrix.map((_, i) => i);
  const values = shownCells(matrix, index, opts.causal, null);
  const colours = attentionScale(values, opts);
  const z = opts.filtered ? shownCells(matrix, index, opts.causal, colours.removed) : values;
  const ticks = tokenTicks(strings, index, opts.maxLabels);
  const label = index.map((t) => `#${t} ${strings[t]}`);
  const name = opts.valueName ?? "weight";
  const trace = {
    type: "heatmap",
    z,
    x: index.map((_, j) => j),
    y: index.map((_, i) => i),
    colorscale: colours.colorscale,
    zmin: colours.zmin,
    zmax: colours.zmax,
    hoverongaps: false,
    colorbar: { title: { text: name, side: "right" }, thickness: 12, len: 0.9, ...colours.ticks },
    text: values.map((row, i) =>
      row.map((v, j) => {
        const at = `query ${label[i]}<br>key ${label[j]}`;
        return v === null ? `${at}<br>filtered out` : `${at}<br>${name} ${v.toFixed(4)}`;
      }),
    ),
    hovertemplate: "%{text}<extra></extra>",
  };
  const axis = {
    ...ticks,
    showgrid: false,
    zeroline: false,
    range: [-0.5, index.length - 0.5],
    ticklabeloverflow: "allow",
    tickfont: { size: 11 },
  };
  const notes = [...(opts.notes ?? []), colours.note, opts.filtered ? "grey: removed by the filter" : ""].filter(
    Boolean,
  );
  const layout = baseLayout(opts.title ?? "Attention", {
    annotations: notes.length
      ? [
          {
            text: notes.join(" · "),
            xref: "paper",
            x: 0,
            xanchor: "left",
            yref: "paper",
            y: 1,
            yanchor: "bottom",
            yshift: 4,
            showarrow: false,
            font: { size: 11, color: "#5b6572" },
          },
        ]
      : [],
    margin: { t: notes.length ? 46 : 30, r: 10, b: bottomMargin(ticks.ticktext), l: leftMargin(ticks.ticktext) },
    xaxis: { ...axis, title: { text: "key (attended to)" }, tickangle: -60, constrain: "domain" },
    yaxis: {
      ...axis,
      title: { text: "query (attending)" },
      range: [index.length - 0.5, -0.5],
      ...(opts.square === false ? {} : { scaleanchor: "x", constrain: "domain" }),
    },
  });
  const highlight = [{ xref: "x", yref: "y", index, along: "both", extent: index.length }];
  return { data: [trace], layout, highlight };
}

/**
 * Top of the colour scale: the 99th percentile of the shown values (the maximum for small
 * maps). On long texts a few early rows (one key, weight 1) would otherwise leave every
 * other cell the darkest colour. Returns {zmax, capped: whether some values exceed it}.
 */
export function colourCap(z, q = 0.99) {
  const values = [];
  for (const row of z) for (const v of row) if (v !== null && !Number.isNaN(v)) values.push(v);
  if (!values.length) return { zmax: 1, capped: false };
  const sorted = Float64Array.from(values).sort();
  const max = sorted[sorted.length - 1];
  const zmax = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return zmax > 0 && zmax < max ? { zmax, capped: true } : { zmax: max || 1, capped: false };
}

/**
 * A grid of small heatmaps (`cells`: [{row, col, z, zmin, zmax}]) sharing one figure, so
 * it renders in one pass and exports as one image. Cells are clickable (plotly_click
 * gives curveNumber = index into `cells`). `grid` tells the keyboard layer where each cell
 * sits: {nRows, nCols, margin, cells: [{row, col, x, y}]} with x, y the paper domains.
 * `hint` (how to use the grid) follows the title on the page, not in exports
 * (`exportLayout`: the layout keys an export replaces, exportFigure).
 */
export function thumbnailGrid(cells, opts) {
  const { nRows, nCols, rowLabels, colLabels, colorscale = VIRIDIS, title, hint } = opts;
  const gap = 0.02;
  const data = [];
  const margin = { t: 46, r: 6, b: 6, l: 34 };
  const layout = baseLayout(hint ? `${title} · ${hint}` : title, {
    margin,
    showlegend: false,
    annotations: [],
    shapes: [],
  });
  const grid = { nRows, nCols, margin: { ...margin }, cells: [] };
  cells.forEach((cell, k) => {
    const ax = k === 0 ? "" : String(k + 1);
    const [x0, x1] = [cell.col / nCols + gap, (cell.col + 1) / nCols - gap];
    const [y0, y1] = [1 - (cell.row + 1) / nRows + gap, 1 - cell.row / nRows - gap];
    data.push({
      type: "heatmap",
      z: cell.z,
      xaxis: `x${ax}`,
      yaxis: `y${ax}`,
      colorscale,
      showscale: false,
      zmin: cell.zmin,
      zmax: cell.zmax,
      hoverinfo: "none",
      hoverongaps: false,
    });
    const hidden = { showticklabels: false, showgrid: false, zeroline: false, ticks: "", fixedrange: true };
    layout[`xaxis${ax}`] = { ...hidden, domain: [x0, x1], anchor: `y${ax}` };
    layout[`yaxis${ax}`] = { ...hidden, domain: [y0, y1], anchor: `x${ax}`, autorange: "reversed" };
    grid.cells.push({ row: cell.row, col: cell.col, x: [x0, x1], y: [y0, y1] });
  });
  colLabels.forEach((text, c) => {
    layout.annotations.push({
      text,
      xref: "paper",
      yref: "paper",
      x: (c + 0.5) / nCols,
      y: 1,
      yanchor: "bottom",
      showarrow: false,
    });
  });
  rowLabels.forEach((text, r) => {
    layout.annotations.push({
      text,
      xref: "paper",
      yref: "paper",
      x: 0,
      xanchor: "right",
      xshift: -4,
      y: 1 - (r + 0.5) / nRows,
      showarrow: false,
    });
  });
  const highlight = cells.map((c, k) => ({ ...c.highlight, cell: k }));
  const exportLayout = { title: { ...layout.title, text: title } }; // exports leave out the hint
  return { data, layout, highlight, grid, exportLayout };
}

/** An outline around thumbnail `cell` of a grid (the one shown large). */
export function selectionShape(cell) {
  if (cell === null || cell === undefined || cell < 0) return [];
  const ax = cell === 0 ? "" : String(cell + 1);
  return [
    {
      type: "rect",
      xref: `x${ax} domain`,
      yref: `y${ax} domain`,
      x0: -0.04,
      x1: 1.04,
      y0: -0.04,
      y1: 1.04,
      line: { color: "#1d232b", width: 2.5 },
    },
  ];
}

/** Pool factor so a thumbnail has at most `cells` cells per side. */
export function poolFactor(n, cells = 64) {
  return Math.max(1, Math.ceil(n / cells));
}

/**
 * The model view: every layer x head attention map as a thumbnail. `maps[l][h]` is
 * {matrix, index} (after display options); `causal` blanks the future. Cell k is layer
 * floor(k / heads), head k % heads.
 */
export function modelViewFigure(maps, opts = {}) {
  const n = maps[0][0].index.length;
  const pool = poolFactor(n);
  const shown = maps.map((heads) =>
    heads.map(({ matrix, index }) => ({ matrix, index, values: shownCells(matrix, index, opts.causal, null) })),
  );
  // one scale for every thumbnail (and, on the absolute scale, for the large map too)
  const colours = attentionScale(
    shown.flatMap((heads) => heads.flatMap((m) => m.values)),
    opts,
  );
  const cells = shown.flatMap((heads, l) =>
    heads.map(({ matrix, values, index }, h) => {
      // removed cells sit below 0: a block keeps its largest weight, grey only if all removed
      const z = maxPool(opts.filtered ? shownCells(matrix, index, opts.causal, colours.removed) : values, pool);
      return {
        row: l,
        col: h,
        z,
        zmin: colours.zmin,
        zmax: colours.zmax,
        highlight: { index, pool, along: "both", extent: z.length },
      };
    }),
  );
  const note = pool > 1 ? ` (max-pooled ${pool}×${pool})` : "";
  const range = colours.capped ? `colours 0–${colours.zmax.toFixed(3)} (99th percentile)` : "colours 0–1";
  return thumbnailGrid(cells, {
    nRows: maps.length,
    nCols: maps[0].length,
    colorscale: colours.colorscale,
    title: `All layers × heads${note} · ${range}${opts.filtered ? ", grey: filtered out" : ""}`,
    hint: "click to enlarge",
    rowLabels: maps.map((_, l) => `L${l}`),
    colLabels: maps[0].map((_, h) => `H${h}`),
  });
}

/**
 * One recurrent state or gate as units x positions. `matrix` is [T][D]; `order` lists the
 * units top to bottom (default 0..D-1); `range` fixes the colour scale. With `scaled` (the
 * same [T][D] divided per unit, matrix.js scaleUnits) the colours show it and the hover the
 * real value.
 */
export function stateFigure(matrix, strings, opts = {}) {
  const D = matrix[0].length;
  const order = opts.order ?? Array.from({ length: D }, (_, u) => u);
  const shown = opts.scaled ?? matrix;
  const z = order.map((u) => shown.map((row) => row[u]));
  const positions = matrix.map((_, t) => t);
  const xt = tokenTicks(strings, positions, opts.maxLabels);
  const stride = Math.max(1, Math.ceil(D / 12));
  const yvals = order.map((_, r) => r).filter((r) => r % stride === 0);
  const [zmin, zmax] = opts.range ?? [-1, 1];
  const name = opts.valueName ?? "value";
  const real = opts.scaled ? { customdata: order.map((u) => matrix.map((row) => row[u])) } : {};
  const trace = {
    type: "heatmap",
    z,
    ...real,
    x: positions,
    y: order.map((_, r) => r),
    colorscale: CIVIDIS,
    zmin,
    zmax,
    colorbar: {
      title: { text: opts.scaled ? `${name} ÷ its unit's max |${name}|` : name, side: "right" },
      thickness: 12,
      len: 0.9,
    },
    text: z.map((row, r) => row.map((_, t) => `unit ${order[r]}<br>token #${t} ${strings[t]}`)),
    hovertemplate: opts.scaled
      ? `%{text}<br>${name} %{customdata:.4f} (%{z:.2f} of the unit's max |${name}|)<extra></extra>`
      : `%{text}<br>${name} %{z:.4f}<extra></extra>`,
  };
  const layout = baseLayout(opts.title ?? name, {
    margin: { t: 30, r: 10, b: bottomMargin(xt.ticktext, false), l: 58 },
    xaxis: {
      ...xt,
      tickangle: -60,
      showgrid: false,
      zeroline: false,
      range: [-0.5, matrix.length - 0.5],
      ticklabeloverflow: "allow",
    },
    yaxis: {
      tickvals: yvals,
      ticktext: yvals.map((r) => String(order[r])),
      title: { text: "unit" },
      range: [D - 0.5, -0.5],
      showgrid: false,
      zeroline: false,
      ticklabeloverflow: "allow",
    },
  });
  return { data: [trace], layout, highlight: [{ xref: "x", yref: "y", index: positions, along: "x", extent: D }] };
}

/** Thumbnails of every recurrent part (columns) at every layer (rows); cell k is part
 * floor(k / layers), layer k % layers. Options: ranges (part -> [zmin, zmax]), note. */
export function recurrentGridFigure(maps, opts = {}) {
  const parts = Object.keys(maps);
  const nLayers = maps[parts[0]].length;
  const T = maps[parts[0]][0].length;
  const D = maps[parts[0]][0][0].length;
  const pool = poolFactor(T);
  const unitPool = poolFactor(D);
  const cells = parts.flatMap((part, c) =>
    maps[part].map((m, l) => {
      const [zmin, zmax] = opts.ranges?.[part] ?? [-1, 1];
      const z = maxPoolSigned(m, unitPool, pool);
      return {
        row: l,
        col: c,
        z,
        zmin,
        zmax,
        highlight: { index: m.map((_, t) => t), pool, along: "x", extent: z.length },
      };
    }),
  );
  const pooled = pool > 1 || unitPool > 1 ? " (pooled)" : "";
  const note = opts.note ? `${pooled} · ${opts.note}` : pooled;
  return thumbnailGrid(cells, {
    nRows: nLayers,
    nCols: parts.length,
    colorscale: CIVIDIS,
    title: `All states and gates${note}`,
    hint: "click to enlarge",
    rowLabels: maps[parts[0]].map((_, l) => `L${l}`),
    colLabels: parts,
  });
}

/** Units x positions thumbnail of a [T][D] state, pooled by largest magnitude (keeps sign). */
function maxPoolSigned(m, unitFactor, posFactor) {
  const units = Math.ceil(m[0].length / unitFactor);
  const out = Array.from({ length: units }, () => new Array(Math.ceil(m.length / posFactor)).fill(0));
  m.forEach((row, t) => {
    const c = Math.floor(t / posFactor);
    for (let u = 0; u < row.length; u++) {
      const o = out[Math.floor(u / unitFactor)];
      if (Math.abs(row[u]) > Math.abs(o[c])) o[c] = row[u];
    }
  });
  return out;
}

/** Line chart of chosen `units` of a [T][D] state over positions. */
export function unitLinesFigure(matrix, units, strings, opts = {}) {
  const positions = matrix.map((_, t) => t);
  const data = units.map((u, k) => ({
    type: "scatter",
    mode: "lines+markers",
    name: `unit ${u}`,
    x: positions,
    y: matrix.map((row) => row[u]),
    text: positions.map((t) => `#${t} ${strings[t]}`),
    line: { color: LINE_COLOURS[k % LINE_COLOURS.length], width: 1.5 },
    marker: { size: 4 },
    hovertemplate: `unit ${u} · %{text}<br>%{y:.4f}<extra></extra>`,
  }));
  const xt = tokenTicks(strings, positions, opts.maxLabels ?? 32);
  const layout = baseLayout(opts.title ?? "Units over positions", {
    margin: { t: 30, r: 10, b: bottomMargin(xt.ticktext, false), l: 58 },
    plot_bgcolor: "#ffffff",
    xaxis: {
      ...xt,
      tickangle: -60,
      range: [-0.5, matrix.length - 0.5],
      showgrid: false,
      zeroline: false,
      ticklabeloverflow: "allow",
    },
    yaxis: {
      title: { text: opts.valueName ?? "value" },
      zeroline: true,
      zerolinecolor: "#c8ccd2",
      ticklabeloverflow: "allow",
    },
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
  });
  return { data, layout, highlight: [{ xref: "x", yref: "paper", index: positions, along: "x", paper: true }] };
}

/**
 * Outline shapes marking token `t` in a figure's `highlight` targets: a dotted band on its
 * column (and a solid one on its row for attention). Tokens not shown (e.g. a hidden first
 * token) get no shape. Each target: {index, pool?, along: "x"|"both", extent | paper, cell?}.
 */
export function highlightShapes(highlight, t) {
  if (!(t >= 0)) return [];
  return highlight.flatMap((target) => {
    const p = target.index.indexOf(t);
    if (p < 0) return [];
    const q = Math.floor(p / (target.pool ?? 1));
    const ax = target.cell ? String(target.cell + 1) : "";
    const xref = target.xref ?? `x${ax}`;
    const yref = target.yref ?? `y${ax}`;
    const span = target.paper ? [0, 1] : [-0.5, target.extent - 0.5];
    const band = { type: "rect", xref, yref, layer: "above", fillcolor: "rgba(0,0,0,0)" };
    const line = { color: HIGHLIGHT, width: 2 };
    const shapes = [{ ...band, x0: q - 0.5, x1: q + 0.5, y0: span[0], y1: span[1], line: { ...line, dash: "dot" } }];
    if (target.along === "both") shapes.push({ ...band, x0: span[0], x1: span[1], y0: q - 0.5, y1: q + 0.5, line });
    return shapes;
  });
}

/**
 * The figure as exported: on white (the page's figures are transparent over the page), with
 * its own shapes but not the page's marks (the focused token's outline, the selection frame),
 * and `fig.exportLayout` applied (e.g. a title without its "click to enlarge" hint). Pure.
 */
export function exportFigure(fig) {
  const layout = { ...fig.layout, ...fig.exportLayout, paper_bgcolor: "#ffffff", shapes: fig.layout.shapes ?? [] };
  return { data: fig.data, layout };
}

/** A CSS colour for `value` on a [lo, hi] scale of [[stop, "#rrggbb"], ...]. */
export function colourAt(value, scale = YLORRD, lo = 0, hi = SURPRISAL_MAX) {
  const x = Math.min(1, Math.max(0, (value - lo) / (hi - lo || 1)));
  const k = Math.max(
    1,
    scale.findIndex(([s]) => s >= x),
  );
  const [[s0, c0], [s1, c1]] = [scale[k - 1], scale[k]];
  const f = (x - s0) / (s1 - s0);
  const rgb = [1, 3, 5].map((o) => {
    const a = parseInt(c0.slice(o, o + 2), 16);
    const b = parseInt(c1.slice(o, o + 2), 16);
    return Math.round(a + f * (b - a));
  });
  return `rgb(${rgb.join(",")})`;
}

/** Black or white text, whichever reads better on the CSS rgb()/hex `background`. */
export function inkFor(background) {
  const nums = background.startsWith("#")
    ? [1, 3, 5].map((o) => parseInt(background.slice(o, o + 2), 16))
    : background.match(/\d+/g).map(Number);
  const lum = (0.2126 * nums[0] + 0.7152 * nums[1] + 0.0722 * nums[2]) / 255;
  return lum > 0.55 ? "#1d232b" : "#ffffff";
}
