/**
 * Pure figure builders for /learn: `(data, options) -> {data, layout}` for Plotly.react.
 * Vectors and small matrices as heatmaps (a diverging scale centred on 0), attention
 * weights with a what-if beside them, the memory horizon, line and bar charts of measured
 * results, and the growing maps of a generation. No DOM, no Plotly (node --test).
 */

import { absMax, tokenTicks, VIRIDIS } from "./figures.js";

// ColorBrewer PuOr (diverging, colour-blind safe): orange below 0, purple above.
export const PUOR = [
  "#b35806",
  "#e08214",
  "#fdb863",
  "#fee0b6",
  "#f7f7f7",
  "#d8daeb",
  "#b2abd2",
  "#8073ac",
  "#542788",
].map((c, i, a) => [i / (a.length - 1), c]);
// Okabe-Ito: colour-blind safe categorical colours, one per model or series.
export const SERIES = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"];
const FONT = { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12, color: "#1d232b" };
const MUTED = "#5b6572";

function layoutBase(title, extra = {}) {
  return {
    title: title
      ? {
          text: title,
          font: { size: 13 },
          x: 0,
          xanchor: "left",
          xref: "container",
          pad: { l: 8 },
          y: 0.98,
          yanchor: "top",
        }
      : undefined,
    font: FONT,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    hoverlabel: { font: { family: FONT.family, size: 12 } },
    ...extra,
  };
}

const fmt = (v) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toPrecision(4));

/**
 * Named vectors as the rows of one heatmap: `rows` [{name, values}] (equal lengths).
 * Options: title, xTitle ("dimension"), range (symmetric, default the largest |value|),
 * masked (row indices drawn greyed: keys the query may not see), colorscale, zmin/zmax.
 */
export function vectorFigure(rows, opts = {}) {
  const z = rows.map((r) => Array.from(r.values, (v) => (v === null ? null : Number(v)))); // null: no value (a gap)
  const m = opts.range ?? (absMax(z) || 1);
  const names = rows.map((r) => r.name);
  const ys = names.map((_, i) => i);
  const ticks = tokenTicks(names, ys, opts.maxLabels ?? 24);
  const trace = {
    type: "heatmap",
    z,
    x: z[0].map((_, j) => j),
    y: ys,
    colorscale: opts.colorscale ?? PUOR,
    hoverongaps: false,
    zmin: opts.zmin ?? -m,
    zmax: opts.zmax ?? m,
    colorbar: { thickness: 10, len: 1, outlinewidth: 0, tickfont: { size: 10 } },
    text: z.map((row, i) => row.map((_, j) => `${names[i]} · ${opts.xTitle ?? "dimension"} ${j}`)),
    hovertemplate: "%{text}<br>%{z:.5g}<extra></extra>",
  };
  const shapes = (opts.masked ?? []).map((i) => ({
    type: "rect",
    xref: "paper",
    x0: 0,
    x1: 1,
    yref: "y",
    y0: i - 0.5,
    y1: i + 0.5,
    fillcolor: "rgba(238,240,243,0.85)",
    line: { width: 0 },
  }));
  const left = Math.min(120, 16 + 7 * Math.max(4, ...ticks.ticktext.map((s) => s.length)));
  return {
    data: [trace],
    layout: layoutBase(opts.title, {
      margin: { t: opts.title ? 26 : 6, r: 6, b: 30, l: left },
      xaxis: {
        title: { text: opts.xTitle ?? "dimension", standoff: 2, font: { size: 11 } },
        showgrid: false,
        zeroline: false,
      },
      yaxis: { ...ticks, autorange: "reversed", showgrid: false, zeroline: false, tickfont: { size: 11 } },
      shapes,
    }),
  };
}

/**
 * One attention row: the model's softmax weights over every key (bars), and — when `tau`
 * is not 1 — the what-if weights at temperature τ beside them, marked as not the model.
 * Keys the query may not see are labelled "masked". `query` is outlined.
 */
export function weightsFigure({ strings, visible, weights, whatIf = null, tau = 1, query }) {
  const x = strings.map((_, j) => j);
  const ticks = tokenTicks(strings, x, 40);
  const data = [
    {
      type: "bar",
      name: "the model: softmax(scores/√d_k)",
      x,
      y: Array.from(weights),
      marker: { color: SERIES[0] },
      textposition: "none",
      text: strings.map((s, j) => `key #${j} ${s}`),
      hovertemplate: "%{text}<br>weight %{y:.6f}<extra>model</extra>",
    },
  ];
  if (whatIf && tau !== 1) {
    data.push({
      type: "bar",
      name: `what-if, not the model: τ = ${tau}`,
      x,
      y: Array.from(whatIf),
      marker: { color: "rgba(213,94,0,0.25)", line: { color: SERIES[5], width: 1.5 }, pattern: { shape: "/" } },
      textposition: "none",
      text: strings.map((s, j) => `key #${j} ${s}`),
      hovertemplate: `%{text}<br>what-if weight %{y:.6f} (τ = ${tau})<extra>what-if</extra>`,
    });
  }
  const annotations = x
    .filter((j) => !visible[j])
    .map((j) => ({
      x: j,
      y: 0,
      yanchor: "bottom",
      text: "masked",
      textangle: -90,
      showarrow: false,
      font: { size: 10, color: MUTED },
    }));
  return {
    data,
    layout: layoutBase(null, {
      barmode: "group",
      bargap: 0.25,
      margin: { t: 8, r: 8, b: 70, l: 44 },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
      xaxis: { ...ticks, tickangle: -45, range: [-0.5, x.length - 0.5], showgrid: false, zeroline: false },
      yaxis: { title: { text: "weight" }, range: [0, 1.05], zeroline: true },
      annotations,
      shapes: [
        {
          type: "rect",
          xref: "x",
          yref: "paper",
          x0: query - 0.5,
          x1: query + 0.5,
          y0: 0,
          y1: 1,
          line: { color: "#d55e00", width: 1.5, dash: "dot" },
          fillcolor: "rgba(0,0,0,0)",
        },
      ],
    }),
  };
}

/**
 * The memory horizon: how much of each unit's old state survives d steps later (units top
 * to bottom in `order`, distance left to right), 0 to 1. `halfLife[u]` (−1: never below
 * one half) is marked on each row.
 */
export function memoryFigure(survival, { order, halfLife = null, title, gate = "f" } = {}) {
  const units = order ?? survival.map((_, u) => u);
  const z = units.map((u) => Array.from(survival[u]));
  const D = z[0]?.length ?? 0;
  const stride = Math.max(1, Math.ceil(units.length / 16));
  const yvals = units.map((_, r) => r).filter((r) => r % stride === 0);
  const data = [
    {
      type: "heatmap",
      z,
      x: Array.from({ length: D }, (_, d) => d),
      y: units.map((_, r) => r),
      colorscale: VIRIDIS,
      zmin: 0,
      zmax: 1,
      colorbar: { title: { text: "kept", side: "right" }, thickness: 10, len: 0.9 },
      text: z.map((row, r) => row.map((_, d) => `unit ${units[r]} · ${d} steps back`)),
      hovertemplate: `%{text}<br>product of ${gate}: %{z:.4f}<extra></extra>`,
    },
  ];
  if (halfLife) {
    const rows = units.map((u, r) => [halfLife[u], r]).filter(([h]) => h >= 0);
    data.push({
      type: "scatter",
      mode: "markers",
      name: "half-life",
      x: rows.map(([h]) => h),
      y: rows.map(([, r]) => r),
      marker: { symbol: "line-ns-open", size: 7, color: "#ffffff", line: { width: 2, color: "#ffffff" } },
      hovertemplate: "half-life %{x} steps<extra></extra>",
      showlegend: false,
    });
  }
  return {
    data,
    layout: layoutBase(title, {
      margin: { t: title ? 28 : 8, r: 8, b: 40, l: 50 },
      plot_bgcolor: "#eef0f3",
      xaxis: {
        title: { text: "distance d = t − s (tokens back)" },
        range: [-0.5, D - 0.5],
        showgrid: false,
        zeroline: false,
      },
      yaxis: {
        title: { text: "unit" },
        tickvals: yvals,
        ticktext: yvals.map((r) => String(units[r])),
        range: [units.length - 0.5, -0.5],
        showgrid: false,
        zeroline: false,
      },
    }),
  };
}

/**
 * Lines of measured results: `series` [{name, x, y, lo?, hi?, dash?}] (y null: a gap;
 * lo/hi an interval drawn as error bars). Options: title, xTitle, yTitle, logX, logY,
 * yRange, hline ({y, text}: a reference such as chance or "no help"), mode.
 */
export function linesFigure(series, opts = {}) {
  const data = series.map((s, k) => {
    const trace = {
      type: "scatter",
      mode: opts.mode ?? "lines+markers",
      name: s.name,
      x: s.x,
      y: s.y,
      connectgaps: false,
      line: { color: s.colour ?? SERIES[k % SERIES.length], width: 2, dash: s.dash ?? "solid" },
      marker: { size: 5 },
      hovertemplate: `${s.name}<br>${opts.xTitle ?? "x"} %{x}<br>${opts.yTitle ?? "y"} %{y:.4g}<extra></extra>`,
    };
    if (s.lo && s.hi) {
      trace.error_y = {
        type: "data",
        symmetric: false,
        array: s.y.map((y, i) => (y === null || s.hi[i] === null ? null : s.hi[i] - y)),
        arrayminus: s.y.map((y, i) => (y === null || s.lo[i] === null ? null : y - s.lo[i])),
        thickness: 1,
        width: 3,
        color: s.colour ?? SERIES[k % SERIES.length],
      };
    }
    return trace;
  });
  const shapes = opts.hline
    ? [
        {
          type: "line",
          xref: "paper",
          x0: 0,
          x1: 1,
          yref: "y",
          y0: opts.hline.y,
          y1: opts.hline.y,
          line: { color: MUTED, dash: "dash", width: 1 },
        },
      ]
    : [];
  const annotations = opts.hline?.text
    ? [
        {
          xref: "paper",
          x: 1,
          xanchor: "right",
          yref: "y",
          y: opts.hline.y,
          yanchor: "bottom",
          text: opts.hline.text,
          showarrow: false,
          font: { size: 10, color: MUTED },
        },
      ]
    : [];
  return {
    data,
    layout: layoutBase(opts.title, {
      margin: { t: opts.title ? 30 : 10, r: 10, b: 44, l: 56 },
      legend: { orientation: "h", x: 0, y: -0.22, yanchor: "top", font: { size: 11 } },
      xaxis: {
        title: { text: opts.xTitle ?? "" },
        type: opts.logX ? "log" : "linear",
        zeroline: false,
        gridcolor: "#eceef1",
      },
      yaxis: {
        title: { text: opts.yTitle ?? "" },
        type: opts.logY ? "log" : "linear",
        range: opts.yRange,
        zeroline: false,
        gridcolor: "#eceef1",
      },
      shapes,
      annotations,
    }),
  };
}

/** Grouped bars: one group per category, one bar per series [{name, values, text?}]. */
export function barsFigure(categories, series, opts = {}) {
  const x = categories.map((_, i) => i);
  const data = series.map((s, k) => ({
    type: "bar",
    name: s.name,
    x,
    y: s.values,
    marker: { color: s.colour ?? SERIES[k % SERIES.length] },
    text: s.text,
    textposition: s.text ? "outside" : "none",
    cliponaxis: false,
    error_y: s.lo
      ? {
          type: "data",
          symmetric: false,
          array: s.values.map((v, i) => (v === null ? null : s.hi[i] - v)),
          arrayminus: s.values.map((v, i) => (v === null ? null : v - s.lo[i])),
          thickness: 1,
          width: 3,
        }
      : undefined,
    hovertemplate: `${s.name}<br>%{customdata}: %{y:.4g}<extra></extra>`,
    customdata: categories,
  }));
  const shapes = opts.hline
    ? [
        {
          type: "line",
          xref: "paper",
          x0: 0,
          x1: 1,
          yref: "y",
          y0: opts.hline.y,
          y1: opts.hline.y,
          line: { color: MUTED, dash: "dash", width: 1 },
        },
      ]
    : [];
  return {
    data,
    layout: layoutBase(opts.title, {
      barmode: "group",
      margin: { t: opts.title ? 30 : 12, r: 10, b: opts.bottom ?? 40, l: 56 },
      legend: { orientation: "h", x: 0, y: -0.25, yanchor: "top", font: { size: 11 } },
      showlegend: series.length > 1,
      xaxis: { tickvals: x, ticktext: categories, showgrid: false },
      yaxis: {
        title: { text: opts.yTitle ?? "" },
        type: opts.logY ? "log" : "linear",
        range: opts.yRange,
        gridcolor: "#eceef1",
      },
      shapes,
    }),
  };
}

/**
 * A generation's attention as it grows: one row per generated token (the query), its
 * weights over every token before it, prompt included; `rows` [{position, weights}],
 * `strings` every token so far. Cells after a row's own position are blank.
 */
export function growingAttentionFigure(rows, strings, opts = {}) {
  const N = strings.length;
  const z = rows.map((r) => Array.from({ length: N }, (_, j) => (j < r.weights.length ? r.weights[j] : null)));
  const xs = strings.map((_, j) => j);
  const ys = rows.map((_, i) => i);
  const labels = rows.map((r) => strings[r.position]);
  const xt = tokenTicks(strings, xs, opts.maxLabels ?? 40);
  const yt = tokenTicks(labels, ys, 24);
  return {
    data: [
      {
        type: "heatmap",
        z,
        x: xs,
        y: ys,
        colorscale: VIRIDIS,
        zmin: 0,
        zmax: 1,
        hoverongaps: false,
        colorbar: { title: { text: "weight", side: "right" }, thickness: 10, len: 0.9 },
        text: z.map((row, i) => row.map((_, j) => `new #${rows[i].position} ${labels[i]} → #${j} ${strings[j]}`)),
        hovertemplate: "%{text}<br>weight %{z:.4f}<extra></extra>",
      },
    ],
    layout: layoutBase(opts.title, {
      margin: { t: opts.title ? 28 : 8, r: 8, b: 70, l: 90 },
      plot_bgcolor: "#eef0f3",
      xaxis: {
        ...xt,
        tickangle: -60,
        range: [-0.5, Math.max(N, 1) - 0.5],
        showgrid: false,
        zeroline: false,
        title: { text: "key (every token so far)" },
      },
      yaxis: {
        ...yt,
        range: [Math.max(rows.length, 1) - 0.5, -0.5],
        showgrid: false,
        zeroline: false,
        title: { text: "new token" },
      },
    }),
  };
}

/**
 * A generation's state as it grows: one column per generated token, its state vector
 * (`columns` [{position, values}]) from top (unit 0) to bottom. `range` fixes the colours
 * ([-1, 1] for h), else symmetric around 0.
 */
export function growingStatesFigure(columns, strings, opts = {}) {
  const D = columns[0]?.values.length ?? 0;
  const z = Array.from({ length: D }, (_, u) => columns.map((c) => c.values[u]));
  const xs = columns.map((_, i) => i);
  const labels = columns.map((c) => strings[c.position]);
  const xt = tokenTicks(labels, xs, opts.maxLabels ?? 40);
  const [zmin, zmax] = opts.range ?? [-(absMax(z) || 1), absMax(z) || 1];
  const stride = Math.max(1, Math.ceil(D / 12));
  const yv = Array.from({ length: D }, (_, u) => u).filter((u) => u % stride === 0);
  return {
    data: [
      {
        type: "heatmap",
        z,
        x: xs,
        y: Array.from({ length: D }, (_, u) => u),
        colorscale: PUOR,
        zmin,
        zmax,
        colorbar: { title: { text: opts.valueName ?? "value", side: "right" }, thickness: 10, len: 0.9 },
        text: z.map((row, u) => row.map((_, i) => `unit ${u} · new #${columns[i].position} ${labels[i]}`)),
        hovertemplate: "%{text}<br>%{z:.4f}<extra></extra>",
      },
    ],
    layout: layoutBase(opts.title, {
      margin: { t: opts.title ? 28 : 8, r: 8, b: 70, l: 50 },
      xaxis: {
        ...xt,
        tickangle: -60,
        range: [-0.5, Math.max(columns.length, 1) - 0.5],
        showgrid: false,
        zeroline: false,
        title: { text: "new token" },
      },
      yaxis: {
        tickvals: yv,
        ticktext: yv.map(String),
        range: [D - 0.5, -0.5],
        showgrid: false,
        zeroline: false,
        title: { text: "unit" },
      },
    }),
  };
}

/** A number for the page: 4 significant digits, "–" for none. */
export const formatNumber = fmt;

/** A difference as the identity lines show it: "3.0e-8", "0" for exactly equal. */
export function formatDiff(d) {
  if (d === 0) return "0";
  if (!Number.isFinite(d)) return "∞";
  return d.toExponential(1);
}
