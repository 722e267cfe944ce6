/**
 * Plot rendering: one plotly.js chart per element, drawn with Plotly.react (no re-creation),
 * with PNG/SVG export buttons and the focused token outlined. Uses the global `Plotly` from
 * the classic script tag; browser only.
 */

import { exportFigure, highlightShapes } from "./figures.js";

const SVG_ICON = {
  width: 1000,
  height: 1000,
  path: "M150 100h500l200 200v600H150zM250 550l120-150 100 120 80-80 200 210H250z",
};

/** Resolves once plotly.js (a deferred classic script) has run. */
export const plotlyReady = new Promise((resolve) => {
  if (window.Plotly) resolve();
  else document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
});

/** Plotly config: PNG (the camera) and SVG from the toolbar, both through `exporter(format)`
 * (a clean copy of the figure, see exportFigure); no logo. */
export function plotConfig(filename, exporter) {
  return {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false, // plotly.js 4 offers uploading to Plotly Cloud: never, this app is offline
    scrollZoom: false,
    toImageButtonOptions: { format: "png", filename, scale: EXPORT_SCALE.png },
    // plotly's own camera would save the page's figure as it is (transparent, the token outlined)
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"],
    modeBarButtonsToAdd: [
      {
        name: "Download plot as a PNG",
        icon: globalThis.Plotly?.Icons?.camera ?? SVG_ICON,
        click: () => exporter("png"),
      },
      { name: "Download plot as SVG", icon: SVG_ICON, click: () => exporter("svg") },
    ],
  };
}

/** Pixels per CSS pixel of an exported image. */
export const EXPORT_SCALE = { png: 2, svg: 1 };

/** How many token labels fit along a plot's height (11 px text: ~12.5 px each, after margins). */
export function labelsThatFit(node, reserved = 130) {
  return Math.max(8, Math.floor((node.clientHeight - reserved) / 12.5));
}

/** How many slanted token labels fit along a plot's width (~13 px each, after margins). */
export function labelsThatFitWidth(node, reserved = 140) {
  return Math.max(8, Math.floor((node.clientWidth - reserved) / 13));
}

/**
 * A chart in `node`. Its pointer events go to `on.hover(point)`, `on.unhover()` and
 * `on.click(point)`, wired once, when it is first drawn: these are the page's functions,
 * which look up what the plot shows *now* on every event (the page's state), so a chart
 * redrawn for another model or view never keeps the meaning of the first one. Returns
 * {node, render, download, highlight, setShapes, shown, purge}.
 */
export function createPlot(node, on = {}) {
  let targets = []; // where tokens sit in the figure drawn (fig.highlight)
  let figShapes = []; // the figure's own shapes
  let extra = []; // fixed shapes added by the page (a selection frame)
  let token = null; // the token outlined now
  let fig = null; // the figure drawn
  let name = "attenzione"; // its export file name, without extension
  let drawn = false;
  let wired = false;
  let frame = 0;
  const shapes = () => [...figShapes, ...extra, ...highlightShapes(targets, token)];

  // Refit when the box changes (panels shown or hidden), not only on window resize; fires
  // with size 0 when the plot is hidden or removed: plotly can only resize a shown one.
  const watcher = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      if (drawn && node.isConnected && node.offsetParent) Plotly.Plots.resize(node);
    });
  });
  watcher.observe(node);

  /** Save the figure drawn as "png" (2x, on white) or "svg", at its size on the page,
   * without the page's marks; `filename` (no extension) defaults to the one it was drawn with. */
  function download(format, filename = name) {
    if (!drawn) return Promise.resolve();
    const size = { width: node.clientWidth, height: node.clientHeight, scale: EXPORT_SCALE[format] };
    return Plotly.downloadImage(exportFigure(fig), { format, filename, ...size });
  }

  const wire = () => {
    if (wired) return;
    wired = true;
    node.on("plotly_hover", (ev) => on.hover?.(ev.points[0]));
    node.on("plotly_unhover", () => on.unhover?.());
    node.on("plotly_click", (ev) => on.click?.(ev.points[0]));
  };

  return {
    node,
    /** Draw or update `fig` ({data, layout, highlight}); `shapes`: fixed extra shapes;
     * `toolbar`: false for a small multiple (the toolbar would cover it). */
    async render(next, { filename = "attenzione", token: t = null, shapes: more = [], toolbar = true } = {}) {
      node.hidden = false;
      fig = next;
      name = filename;
      targets = fig.highlight ?? [];
      figShapes = fig.layout.shapes ?? [];
      extra = more;
      token = t;
      const config = { ...plotConfig(filename, download), ...(toolbar ? {} : { displayModeBar: false }) };
      await Plotly.react(node, fig.data, { ...fig.layout, shapes: shapes() }, config);
      drawn = true;
      wire();
    },
    download,
    /** Outline token `t` (null: none); no-op if already shown. */
    highlight(t) {
      if (!drawn || token === t) return;
      token = t;
      Plotly.relayout(node, { shapes: shapes() });
    },
    /** Replace the fixed extra shapes (e.g. move the selection frame), cheaply. */
    setShapes(more) {
      if (!drawn) return;
      extra = more;
      Plotly.relayout(node, { shapes: shapes() });
    },
    /** Drawn and not hidden. */
    shown: () => drawn && !node.hidden,
    /** Remove the chart and its listeners (the element is about to go). */
    purge() {
      watcher.disconnect();
      if (drawn) Plotly.purge(node);
      drawn = false;
      wired = false;
    },
  };
}
