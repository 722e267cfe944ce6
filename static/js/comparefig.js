/**
 * Figure builders of the compare page, pure `(data, options) -> {data, layout}` for
 * Plotly.react: every model's surprisal per token on one chart, an influence (or rollout, or
 * difference) map on a colour range the caller gives, the influence-by-distance profiles,
 * and a minimal pair's Δbits. Axes are numeric with tickvals/ticktext, thinned to the labels
 * that fit. No DOM: unit-tested under node.
 */

import { tokenTicks } from "./figures.js";

/** One colour per model, in the page's column order (Okabe-Ito, colour-blind safe). */
export const MODEL_COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7"];
const FONT = { family: "system-ui, -apple-system, Segoe UI, sans-serif", size: 12, color: "#1d232b" };
const MUTED = "#5b6572";
// Diverging, colour-blind safe (ColorBrewer RdBu reversed: blue negative, red positive).
export const DIVERGING = [
  [0, "#2166ac"],
  [0.25, "#92c5de"],
  [0.5, "#f7f7f7"],
  [0.75, "#f4a582"],
  [1, "#b2182b"],
];
const SEQUENTIAL = "Viridis";

/** `#rrggbb` at opacity `a`, as rgba(). */
export function faint(hex, a = 0.35) {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

function base(title, extra = {}) {
  return {
    title: { text: title, font: { size: 13 }, x: 0, xanchor: "left", xref: "container", pad: { l: 8 } },
    font: FONT,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    hoverlabel: { font: { family: FONT.family, size: 12 } },
    ...extra,
  };
}

const slanted = (ticks, n) => ({
  ...ticks,
  tickangle: -60,
  tickfont: { size: 11 },
  ticklabeloverflow: "allow",
  range: [-0.5, n - 0.5],
  showgrid: false,
  zeroline: false,
});

const bottom = (labels) => Math.min(110, 24 + Math.round(6.1 * Math.max(3, ...labels.map((s) => s.length))));

/**
 * Every model's surprisal of each token on one chart. `labels`: the tokens (told apart);
 * `series`: [{name, bits (token-indexed), guess (token-indexed: the model's top guess for
 * that token and its probability, or null)}]. Options: maxLabels, title.
 */
export function surprisalFigure(labels, series, opts = {}) {
  const x = labels.map((_, t) => t);
  const ticks = tokenTicks(labels, x, opts.maxLabels);
  const data = series.map((s, k) => ({
    type: "scatter",
    mode: labels.length > 80 ? "lines" : "lines+markers",
    name: s.name,
    x,
    y: s.bits,
    connectgaps: false,
    line: { color: MODEL_COLOURS[k % MODEL_COLOURS.length], width: 2 },
    marker: { size: 5 },
    text: labels.map((_, t) =>
      s.guess[t] ? `guessed ${s.guess[t].top} (${(100 * s.guess[t].prob).toFixed(0)}%)` : "no guess",
    ),
    customdata: labels,
    hovertemplate: `${s.name}: %{y:.2f} bits for %{customdata}<br>%{text}<extra></extra>`,
  }));
  return {
    data,
    layout: base(opts.title ?? "Surprisal of each token, every model", {
      hovermode: "x unified",
      margin: { t: 28, r: 10, b: bottom(ticks.ticktext), l: 48 },
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", font: { size: 11 } },
      xaxis: slanted(ticks, labels.length),
      yaxis: { title: { text: "bits" }, rangemode: "tozero", gridcolor: "#e6e8eb", zeroline: false },
    }),
    highlight: [{ xref: "x", yref: "paper", index: x, along: "x", paper: true }],
  };
}

// Slanted 11 px labels clear each other ~12.7 px apart (11 / sin 60°), level ones ~13 px:
// a label every 14 px, with room for the plot area's estimate being a pixel or two long.
export const MIN_TICK_PX = 14;
const COLORBAR_PX = 96; // a heatmap's colour bar with its tick labels and title, as drawn (80-95 px)

/** The plot area of `fig` in a `width` x `height` box: less its margins and colour bar, and
 * square (the shorter side) when y is anchored to x. */
export function plotArea(fig, width, height) {
  const m = fig.layout.margin;
  const bar = fig.data.some((d) => d.type === "heatmap" && d.showscale !== false) ? COLORBAR_PX : 0;
  const across = Math.max(0, width - m.l - m.r - bar);
  const down = Math.max(0, height - m.t - m.b);
  const side = Math.min(across, down);
  return fig.layout.yaxis?.scaleanchor === "x" ? { width: side, height: side } : { width: across, height: down };
}

/**
 * `fig` (a map with tokens along x, and along y too when its highlight runs along both)
 * with every k-th token labelled, k from the px a token gets in a `width` x `height` box,
 * so that no two labels collide. `labels`: the tokens of its axes.
 */
export function fitTicks(fig, labels, width, height) {
  const area = plotArea(fig, width, height);
  const idx = labels.map((_, i) => i);
  const along = (px) => tokenTicks(labels, idx, Math.max(1, Math.floor(px / MIN_TICK_PX)));
  const both = fig.highlight?.some((h) => h.along === "both");
  const { xaxis, yaxis } = fig.layout;
  return {
    ...fig,
    layout: {
      ...fig.layout,
      xaxis: { ...xaxis, ...along(area.width) },
      yaxis: both ? { ...yaxis, ...along(area.height) } : yaxis,
    },
  };
}

/** `fig` as a small multiple: the map alone, without labels, titles, notes or colour bar. */
export function thumbnail(fig) {
  const bare = (axis) => ({ ...axis, tickvals: [], ticktext: [], title: { text: "" } });
  return {
    ...fig,
    data: fig.data.map((d) => ({ ...d, showscale: false })),
    layout: {
      ...fig.layout,
      title: { ...fig.layout.title, text: "" },
      annotations: [],
      margin: { t: 4, r: 4, b: 4, l: 4 },
      xaxis: bare(fig.layout.xaxis),
      yaxis: bare(fig.layout.yaxis),
    },
  };
}

/**
 * One T x T map: row t the prediction made at token t, column s an earlier token.
 * Options: zmin, zmax (the colour range, shared by the caller), diverging (default true),
 * title, valueName, maxLabels (per axis), small (a thumbnail: no labels, no colour bar),
 * showScale.
 */
export function mapFigure(matrix, labels, opts = {}) {
  const n = labels.length;
  const idx = labels.map((_, i) => i);
  // above the diagonal nothing is measured (no prediction sees a later token)
  const z = matrix.map((row, t) => Array.from(row, (v, s) => (s > t || !Number.isFinite(v) ? null : v)));
  const valueName = opts.valueName ?? "influence";
  const small = Boolean(opts.small);
  const ticks = tokenTicks(labels, idx, opts.maxLabels);
  const trace = {
    type: "heatmap",
    z,
    x: idx,
    y: idx,
    zmin: opts.zmin,
    zmax: opts.zmax,
    colorscale: opts.diverging === false ? SEQUENTIAL : DIVERGING,
    hoverongaps: false,
    showscale: opts.showScale !== false,
    colorbar: { title: { text: valueName, side: "right" }, thickness: 10, len: 0.85 },
    text: z.map((row, t) => row.map((_, s) => `predicting after ${labels[t]}<br>from ${labels[s]}`)),
    hovertemplate: `%{text}<br>${valueName} %{z:.4g}<extra></extra>`,
  };
  const axis = (title) => ({ ...slanted(ticks, n), title: { text: title, font: { size: 11 } } });
  const layout = base(opts.title ?? "", {
    margin: {
      t: 28,
      r: 6,
      b: bottom(ticks.ticktext),
      l: Math.min(110, 16 + 7 * Math.max(3, ...ticks.ticktext.map((s) => s.length))),
    },
    plot_bgcolor: "#eef0f3",
    xaxis: { ...axis("earlier token s"), constrain: "domain" },
    yaxis: {
      ...axis("prediction at t"),
      tickangle: 0,
      range: [n - 0.5, -0.5],
      scaleanchor: "x",
      constrain: "domain",
    },
  });
  const fig = { data: [trace], layout, highlight: [{ xref: "x", yref: "y", index: idx, along: "both", extent: n }] };
  return small ? thumbnail(fig) : fig;
}

/**
 * Influence by distance, one line per model (log y), with each card's held-out profile as
 * a faint dotted line where there is one. `series`: [{name, colour, x, y, reference?: {x,
 * y}}]. Options: yTitle, title.
 */
export function profileFigure(series, opts = {}) {
  const data = [];
  series.forEach((s) => {
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: `${s.name}: this text`,
      x: s.x,
      y: s.y,
      line: { color: s.colour, width: 2 },
      marker: { size: 4 },
      hovertemplate: `${s.name}, this text<br>d %{x}: %{y:.3g}<extra></extra>`,
    });
    if (s.reference)
      data.push({
        type: "scatter",
        mode: "lines",
        name: `${s.name}: held out (card)`,
        x: s.reference.x,
        y: s.reference.y,
        line: { color: faint(s.colour), width: 2, dash: "dot" },
        hovertemplate: `${s.name}, held-out mean (model card)<br>d %{x}: %{y:.3g}<extra></extra>`,
      });
  });
  return {
    data,
    layout: base(opts.title ?? "", {
      margin: { t: opts.title ? 28 : 8, r: 10, b: 40, l: 56 },
      legend: { font: { size: 10 }, x: 1.02, xanchor: "left", y: 1 }, // outside: lines stay visible
      xaxis: { title: { text: "distance d = t − s (tokens back)" }, type: "log", gridcolor: "#e6e8eb" },
      yaxis: { title: { text: opts.yTitle ?? "" }, type: "log", gridcolor: "#e6e8eb", exponentformat: "power" },
    }),
  };
}

/** Tick labels for a minimal pair's slots: every differing slot labelled, the others thinned
 * to `maxLabels` (at least a stride apart from a differing one, so no two collide). */
export function differingTicks(labels, differs, maxLabels = 40) {
  const must = labels.map((_, k) => k).filter((k) => differs[k]);
  const stride = Math.max(1, Math.ceil(labels.length / maxLabels));
  const rest = [];
  for (let k = 0; k < labels.length; k += stride) if (must.every((m) => Math.abs(m - k) >= stride)) rest.push(k);
  const tickvals = [...new Set([...must, ...rest])].sort((a, b) => a - b);
  return { tickvals, ticktext: tickvals.map((k) => labels[k]) };
}

/**
 * A minimal pair's Δbits: one bar per model at every aligned slot (B's surprisal minus A's).
 * `labels`: one per slot ("␣is → ␣are" where they differ); `series`: [{name, delta}];
 * `differs`: slot -> boolean (shaded). Options: maxLabels.
 */
export function deltaFigure(labels, series, differs, opts = {}) {
  const x = labels.map((_, k) => k);
  const ticks = differingTicks(labels, differs, opts.maxLabels);
  const data = series.map((s, k) => ({
    type: "bar",
    name: s.name,
    x,
    y: s.delta,
    marker: { color: MODEL_COLOURS[k % MODEL_COLOURS.length] },
    customdata: labels,
    hovertemplate: `${s.name}: %{y:+.2f} bits at %{customdata}<extra></extra>`,
  }));
  const shapes = x
    .filter((k) => differs[k])
    .map((k) => ({
      type: "rect",
      xref: "x",
      yref: "paper",
      x0: k - 0.5,
      x1: k + 0.5,
      y0: 0,
      y1: 1,
      fillcolor: "#fff4d6",
      line: { width: 0 },
      layer: "below",
    }));
  return {
    data,
    layout: base(opts.title ?? "", {
      barmode: "group",
      margin: { t: opts.title ? 28 : 8, r: 10, b: bottom(ticks.ticktext), l: 56 },
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", font: { size: 11 } },
      shapes,
      xaxis: slanted(ticks, labels.length),
      yaxis: {
        title: { text: "Δbits (B − A)" },
        gridcolor: "#e6e8eb",
        zeroline: true,
        zerolinecolor: MUTED,
      },
    }),
  };
}
