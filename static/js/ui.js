/**
 * DOM helpers shared by the explore and compare pages: plots (Plotly.react with export
 * buttons and token highlights), the token strip, status and error messages, downloads.
 * Uses the global `Plotly` from the classic script tag.
 */

import { colourAt, highlightShapes, inkFor, SURPRISAL_MAX } from "./figures.js";
import { cellBox, cellIndex, gridMove } from "./gridnav.js";

export const $ = (sel, root = document) => root.querySelector(sel);

/** Make an element: el("button", {class: "x", onclick: f}, "text", child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const SVG_ICON = {
  width: 1000,
  height: 1000,
  path: "M150 100h500l200 200v600H150zM250 550l120-150 100 120 80-80 200 210H250z",
};

/** Plotly config: PNG from the camera button, SVG from an added button, no logo. */
export function plotConfig(filename) {
  return {
    responsive: true,
    displaylogo: false,
    showSendToCloud: false, // plotly.js 4 offers uploading to Plotly Cloud: never, this app is offline
    scrollZoom: false,
    toImageButtonOptions: { format: "png", filename, scale: 2 },
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    modeBarButtonsToAdd: [
      {
        name: "Download plot as SVG",
        icon: SVG_ICON,
        click: (gd) => Plotly.downloadImage(gd, { format: "svg", filename }),
      },
    ],
  };
}

/**
 * Draw or update a figure in `gd` (Plotly.react: no re-creation). Remembers where tokens
 * sit so `highlightPlot` can outline one; `shapes` are extra fixed shapes (a selection).
 */
export async function renderPlot(gd, fig, filename, { token = null, shapes = [] } = {}) {
  gd.hidden = false;
  watchSize(gd);
  gd.highlightTargets = fig.highlight ?? [];
  gd.baseShapes = [...(fig.layout.shapes ?? []), ...shapes];
  gd.shownToken = token;
  const layout = { ...fig.layout, shapes: [...gd.baseShapes, ...highlightShapes(gd.highlightTargets, token)] };
  await Plotly.react(gd, fig.data, layout, plotConfig(filename));
}

/** How many token labels fit along a plot's height (11 px text: ~12.5 px each, after margins). */
export function labelsThatFit(gd, reserved = 130) {
  return Math.max(8, Math.floor((gd.clientHeight - reserved) / 12.5));
}

/** How many slanted token labels fit along a plot's width (~13 px each, after margins). */
export function labelsThatFitWidth(gd, reserved = 140) {
  return Math.max(8, Math.floor((gd.clientWidth - reserved) / 13));
}

/** Refit a plot when its box changes (panels shown or hidden), not only on window resize. */
function watchSize(gd) {
  if (gd.sizeWatcher) return;
  let frame = 0;
  gd.sizeWatcher = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    // fires with size 0 when a plot is hidden or removed: plotly can only resize a shown one
    frame = requestAnimationFrame(() => {
      if (gd.data && gd.isConnected && gd.offsetParent) Plotly.Plots.resize(gd);
    });
  });
  gd.sizeWatcher.observe(gd);
}

/** Outline token `t` in a drawn plot (no-op if already shown). */
export function highlightPlot(gd, t) {
  if (!gd.highlightTargets || gd.shownToken === t || !gd.data) return;
  gd.shownToken = t;
  Plotly.relayout(gd, { shapes: [...gd.baseShapes, ...highlightShapes(gd.highlightTargets, t)] });
}

/** Replace a drawn plot's fixed shapes (e.g. move the selection outline), cheaply. */
export function setBaseShapes(gd, shapes) {
  if (!gd.data) return;
  gd.baseShapes = shapes;
  Plotly.relayout(gd, { shapes: [...shapes, ...highlightShapes(gd.highlightTargets, gd.shownToken)] });
}

/** Resolves once plotly.js (a deferred classic script) has run. */
export const plotlyReady = new Promise((resolve) => {
  if (window.Plotly) resolve();
  else document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
});

/**
 * The token under the pointer (transient) and the selected token (sticky), shared by
 * every view. Subscribers get (token, source) once per animation frame.
 */
export function createFocus() {
  let hovered = null;
  let selected = null;
  let source = null;
  let frame = 0;
  const subscribers = new Set();
  const emit = (from) => {
    source = from;
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      for (const fn of subscribers) fn(hovered ?? selected, source);
    });
  };
  return {
    hover(t, from) {
      if (t !== hovered) {
        hovered = t;
        emit(from);
      }
    },
    select(t, from) {
      selected = t;
      emit(from);
    },
    current: () => hovered ?? selected,
    selected: () => selected,
    subscribe: (fn) => subscribers.add(fn),
  };
}

/** Wire a plot's hover/click to the focus; `toToken(point)` maps a point to a token. */
export function linkPlot(gd, focus, toToken, onClick) {
  if (gd.linked) return;
  gd.linked = true;
  gd.on("plotly_hover", (ev) => focus.hover(toToken(ev.points[0]), gd));
  gd.on("plotly_unhover", () => focus.hover(null, gd));
  gd.on("plotly_click", (ev) => onClick?.(ev.points[0]));
}

/**
 * Keyboard access to a thumbnail grid drawn by plotly: `node` (role="grid", laid over the
 * figure) gets one focusable gridcell per thumbnail, placed over it. The grid is one tab
 * stop (roving tabindex); arrows, Home and End move the focus, Enter or Space call
 * `onPick(cell)` as a click on the thumbnail does. The cells let the pointer through, so
 * plotly still gets hovers and clicks. Returns {update, select}.
 */
export function keyboardGrid(node, onPick) {
  let grid = null; // {nRows, nCols, margin, cells: [{row, col, x, y}]} of the figure shown
  let signature = "";
  let stop = 0; // the cell that is the tab stop
  let boxes = []; // gridcell nodes in figure order (boxes[k] lies over thumbnail k)
  let selected = null; // the thumbnail shown large, as last marked
  const hasFocus = () => node.contains(document.activeElement);

  const moveStop = (k, focus) => {
    if (!boxes[k]) return;
    stop = k;
    boxes.forEach((c, i) => {
      c.tabIndex = i === k ? 0 : -1;
    });
    if (focus) boxes[k].focus();
  };

  node.addEventListener("keydown", (ev) => {
    const here = ev.target.closest('[role="gridcell"]');
    if (!here || !grid || ev.altKey) return;
    const k = Number(here.dataset.cell);
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault(); // Space would scroll the page
      onPick(k);
      return;
    }
    const to = gridMove(ev.key, grid.cells[k], grid.nRows, grid.nCols, ev.ctrlKey || ev.metaKey);
    if (!to) return;
    ev.preventDefault();
    const next = cellIndex(grid.cells, to);
    if (next >= 0) moveStop(next, true);
  });
  node.addEventListener("focusin", (ev) => {
    const here = ev.target.closest('[role="gridcell"]');
    if (here) moveStop(Number(here.dataset.cell), false);
  });

  return {
    /** Lay cells over a figure's `grid`; `label` names the grid, `cellLabel(k)` each cell. */
    update(next, label, cellLabel) {
      const labels = next.cells.map((_, k) => cellLabel(k));
      const sig = JSON.stringify([next, label, labels]);
      node.hidden = false;
      node.setAttribute("aria-label", label);
      if (sig === signature) return; // same cells: keep the nodes, and the focus on one
      const focused = hasFocus() && grid ? grid.cells[stop] : null;
      signature = sig;
      grid = next;
      selected = null;
      boxes = grid.cells.map((cell, k) => {
        const box = el("div", {
          role: "gridcell",
          class: "grid-cell",
          tabindex: "-1",
          "aria-selected": "false",
          "aria-label": labels[k],
          "data-cell": k,
          "data-row": cell.row,
          "data-col": cell.col,
        });
        Object.assign(box.style, cellBox(cell, grid.margin));
        return box;
      });
      // rows of cells in reading order (left to right), whatever the figure's order
      node.replaceChildren(
        ...Array.from({ length: grid.nRows }, (_, r) =>
          el(
            "div",
            { role: "row" },
            ...boxes.filter((b) => Number(b.dataset.row) === r).sort((a, b) => a.dataset.col - b.dataset.col),
          ),
        ),
      );
      const again = focused
        ? cellIndex(grid.cells, {
            row: Math.min(focused.row, grid.nRows - 1),
            col: Math.min(focused.col, grid.nCols - 1),
          })
        : -1;
      moveStop(again >= 0 ? again : Math.min(stop, grid.cells.length - 1), again >= 0);
    },
    /** Mark `cell` as the one shown large (-1: none). When it changes (a click, Enter, the
     * selectors) it becomes the tab stop, and takes the focus if that is in the grid (a click
     * on plotly leaves it there); redrawing the same selection leaves the focus alone. */
    select(cell) {
      boxes.forEach((c, k) => {
        c.setAttribute("aria-selected", String(k === cell));
      });
      if (cell === selected) return;
      selected = cell;
      if (cell >= 0) moveStop(cell, hasFocus());
    },
  };
}

/**
 * The token strip: one button per token, coloured by its surprisal (bits), arrow keys
 * move between tokens (one tab stop for the whole strip).
 */
export function renderStrip(strip, strings, surprisal, focus) {
  strip.replaceChildren(
    ...strings.map((s, t) => {
      const bits = t > 0 ? surprisal[t - 1] : null;
      const bg = bits === null || bits === undefined ? null : colourAt(bits);
      const tip =
        bits === null || bits === undefined
          ? "first token: nothing before it to predict it from"
          : `surprisal ${bits.toFixed(2)} bits`;
      const button = el(
        "button",
        {
          type: "button",
          class: "tok",
          "data-t": t,
          tabindex: t === 0 ? "0" : "-1",
          title: `#${t} ${s} — ${tip}`,
          "aria-label": `token ${t} ${s}, ${tip}`,
          style: bg ? `background:${bg};color:${inkFor(bg)}` : null,
        },
        ...tokenText(s),
      );
      return button;
    }),
  );
  if (strip.wired) return;
  strip.wired = true;
  const tokenOf = (ev) => ev.target.closest(".tok")?.dataset.t;
  strip.addEventListener("mouseover", (ev) => {
    const t = tokenOf(ev);
    if (t) focus.hover(Number(t), strip);
  });
  strip.addEventListener("mouseleave", () => focus.hover(null, strip));
  strip.addEventListener("click", (ev) => {
    const t = tokenOf(ev);
    if (t) focus.select(Number(t), strip);
  });
  strip.addEventListener("focusin", (ev) => {
    const t = tokenOf(ev);
    if (t) focus.select(Number(t), strip);
  });
  strip.addEventListener("keydown", (ev) => moveWithKeys(strip, ev));
}

/** A token's text with whitespace markers (␣ ↵ ⇥) dimmed, so words stay readable. */
function tokenText(s) {
  return s
    .split(/([␣↵⇥])/)
    .filter(Boolean)
    .map((part) => (/^[␣↵⇥]$/.test(part) ? el("span", { class: "ws" }, part) : part));
}

function moveWithKeys(strip, ev) {
  const steps = { ArrowRight: 1, ArrowLeft: -1, Home: -Infinity, End: Infinity };
  if (!(ev.key in steps)) return;
  const tokens = [...strip.querySelectorAll(".tok")];
  const here = tokens.indexOf(document.activeElement);
  const next = Math.min(tokens.length - 1, Math.max(0, here + steps[ev.key]));
  ev.preventDefault();
  tokens.forEach((b, i) => {
    b.tabIndex = i === next ? 0 : -1;
  });
  tokens[next].focus();
}

/** Mark token `t` in the strip (and make it the strip's tab stop if selected). */
export function markStripToken(strip, t, selected) {
  for (const b of strip.querySelectorAll(".tok.focus")) b.classList.remove("focus");
  for (const b of strip.querySelectorAll(".tok.selected")) b.classList.remove("selected");
  if (t !== null && t >= 0) strip.querySelector(`.tok[data-t="${t}"]`)?.classList.add("focus");
  if (selected !== null && selected >= 0) strip.querySelector(`.tok[data-t="${selected}"]`)?.classList.add("selected");
}

/** The surprisal colour legend under a strip. */
/**
 * What both pages do first: the samples menu, the text length limit and the surprisal
 * legend, then `wire()` (the controls' listeners); then the model list from
 * `modelsRequest`, or null after showing its error in `dom.error`.
 */
export async function openPage(dom, boot, modelsRequest, wire) {
  fillSelect(
    dom.sample,
    [{ value: "", label: "Samples…" }, ...boot.samples.map((s, i) => ({ value: String(i), label: s.label }))],
    "",
  );
  if (boot.max_text_chars) dom.text.maxLength = boot.max_text_chars;
  stripLegend(dom.legend, SURPRISAL_MAX);
  wire();
  try {
    return await modelsRequest;
  } catch (err) {
    showError(dom.error, err);
    return null;
  }
}

export function stripLegend(node, max) {
  const stops = Array.from({ length: 9 }, (_, i) => colourAt((i / 8) * max)).join(",");
  node.replaceChildren(
    el("span", {}, "surprisal"),
    el("span", { class: "ramp", style: `background:linear-gradient(90deg,${stops})`, "aria-hidden": "true" }),
    el("span", {}, `0 – ${max}+ bits`),
  );
}

/** Show an API problem (its `detail` is written for the user), or clear with null. */
export function showError(box, err) {
  if (!err) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const title = err.title ?? "Something went wrong";
  box.replaceChildren(el("strong", {}, title), " ", el("span", { class: "detail" }, err.detail ?? err.message));
  box.hidden = false;
}

export function setStatus(node, text, busy = false) {
  node.textContent = text;
  node.classList.toggle("busy", busy);
}

/** Save `content` as a file (Blob + object URL; no inline script, CSP-safe). */
export function download(filename, type, content) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = el("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Replace a <select>'s options: [{value, label, disabled, title}]. */
export function fillSelect(select, options, value) {
  const signature = JSON.stringify(options);
  if (select.dataset.options !== signature) {
    // rebuilding a focused select would reset it
    select.replaceChildren(
      ...options.map((o) =>
        el(
          "option",
          {
            value: o.value,
            disabled: o.disabled,
            title: o.title,
          },
          o.label,
        ),
      ),
    );
    select.dataset.options = signature;
  }
  if (value !== undefined) select.value = String(value);
}

/** Top-k next tokens after token `t` as a list with probability bars. */
export function renderPredictions(node, trace, strings, t) {
  const p = trace.predictions;
  if (!p || t === null || t < 0 || t >= strings.length) {
    node.replaceChildren(el("p", { class: "muted" }, "Hover or select a token to see what the model expects next."));
    return;
  }
  const next = strings[t + 1];
  const bits = p.surprisal_bits[t];
  const items = p.top_strings[t].map((s, k) =>
    el(
      "li",
      { class: s === next ? "hit" : null },
      el("span", { class: "cand" }, s),
      el("span", { class: "bar", style: `--p:${p.top_probs[t][k]}`, "aria-hidden": "true" }),
      el("span", { class: "prob" }, `${(100 * p.top_probs[t][k]).toFixed(1)}%`),
    ),
  );
  const actual =
    next === undefined
      ? el("p", { class: "muted" }, "End of text: no next token to score.")
      : el("p", {}, "actual next ", el("code", {}, next), `: ${bits.toFixed(2)} bits surprisal`);
  node.replaceChildren(
    el("h3", {}, "After ", el("code", {}, strings[t]), ` (#${t})`),
    el("ol", { class: "preds" }, ...items),
    actual,
    el("p", { class: "muted" }, `entropy ${p.entropy_bits[t].toFixed(2)} bits`),
  );
}
