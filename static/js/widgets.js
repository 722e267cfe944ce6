/**
 * Widgets shared by the pages: the keyboard layer over a thumbnail grid, the token strip
 * with its surprisal legend, and the next-token predictions panel.
 */

import { el } from "./dom.js";
import { colourAt, inkFor } from "./figures.js";
import { cellBox, cellIndex, gridMove } from "./gridnav.js";
import { term } from "./tooltip.js";

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
 * The token strip in `node`: one button per token, coloured by its surprisal (bits);
 * hovering a token hovers the `focus`, clicking or focusing it selects it; arrow keys,
 * Home and End move between tokens (one tab stop for the whole strip). Listeners are on
 * the strip itself, added once. Returns {show, mark, clear}.
 */
export function createStrip(node, focus) {
  let shown = null; // what the buttons were made for (show's `key`)
  const tokenOf = (ev) => ev.target.closest(".tok")?.dataset.t;
  node.addEventListener("mouseover", (ev) => {
    const t = tokenOf(ev);
    if (t) focus.hover(Number(t), node);
  });
  node.addEventListener("mouseleave", () => focus.hover(null, node));
  node.addEventListener("click", (ev) => {
    const t = tokenOf(ev);
    if (t) focus.select(Number(t), node);
  });
  node.addEventListener("focusin", (ev) => {
    const t = tokenOf(ev);
    if (t) focus.select(Number(t), node);
  });
  node.addEventListener("keydown", (ev) => moveWithKeys(node, ev));
  return {
    /** One button per token of `strings`; `surprisal[t - 1]` colours token t (none: grey).
     * Redrawn only when `key` (e.g. the trace) differs from the last call's. With `pieces`
     * (tokentext.js tokenPieces) and `ids`, the byte tokens of one character are grouped and
     * show it once; each keeps its button, its id and bytes in its title. */
    show(strings, surprisal, key = {}, { pieces = null, ids = null } = {}) {
      if (key === shown) return;
      shown = key;
      const buttons = strings.map((s, t) => tokenButton(s, t, t > 0 ? surprisal[t - 1] : null, pieces?.[t], ids?.[t]));
      node.replaceChildren(...(pieces ? charGroupsOf(buttons, pieces) : buttons));
    },
    /** Mark token `t` (hovered or selected) and the `selected` one. */
    mark(t, selected) {
      for (const b of node.querySelectorAll(".tok.focus")) b.classList.remove("focus");
      for (const b of node.querySelectorAll(".tok.selected")) b.classList.remove("selected");
      if (t !== null && t >= 0) node.querySelector(`.tok[data-t="${t}"]`)?.classList.add("focus");
      if (selected !== null && selected >= 0)
        node.querySelector(`.tok[data-t="${selected}"]`)?.classList.add("selected");
    },
    clear() {
      shown = null;
      node.replaceChildren();
    },
  };
}

function tokenButton(s, t, bits, piece, id) {
  const known = bits !== null && bits !== undefined;
  const bg = known ? colourAt(bits) : null;
  const tip = known ? `surprisal ${bits.toFixed(2)} bits` : "first token: nothing before it to predict it from";
  const split = piece && piece.pieces > 1;
  const name = split ? `${piece.chars}, byte token ${piece.piece + 1} of ${piece.pieces} (${s}, id ${id})` : s;
  return el(
    "button",
    {
      type: "button",
      class: split ? `tok piece${piece.piece ? " cont" : ""}` : "tok",
      "data-t": t,
      tabindex: t === 0 ? "0" : "-1",
      title: `#${t} ${name} — ${tip}`,
      "aria-label": `token ${t} ${name}, ${tip}`,
      style: bg ? `background:${bg};color:${inkFor(bg)}` : null,
    },
    ...(split && piece.piece ? ["·"] : tokenText(split ? piece.chars : s)),
  );
}

/** Token buttons with the byte pieces of one character wrapped together: the character is
 * written on the first, the others show a dot. */
function charGroupsOf(buttons, pieces) {
  const out = [];
  buttons.forEach((b, t) => {
    const p = pieces[t];
    if (p.pieces === 1) out.push(b);
    else if (p.piece === 0)
      out.push(el("span", { class: "chargroup", title: `${p.chars}: one character, ${p.pieces} byte tokens` }, b));
    else out[out.length - 1].append(b);
  });
  return out;
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

/** The surprisal colour legend beside a strip: 0 to `max` bits. */
export function stripLegend(node, max) {
  const stops = Array.from({ length: 9 }, (_, i) => colourAt((i / 8) * max)).join(",");
  node.replaceChildren(
    term("surprisal"),
    el("span", { class: "ramp", style: `background:linear-gradient(90deg,${stops})`, "aria-hidden": "true" }),
    el("span", {}, `0 – ${max}+ `, term("bits")),
  );
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
      : el(
          "p",
          {},
          "actual next ",
          el("code", {}, next),
          `: ${bits.toFixed(2)} `,
          term("bits"),
          " ",
          term("surprisal"),
        );
  node.replaceChildren(
    el("h3", {}, "After ", el("code", {}, strings[t]), ` (#${t})`),
    el("ol", { class: "preds" }, ...items),
    actual,
    el("p", { class: "muted" }, term("entropy"), ` ${p.entropy_bits[t].toFixed(2)} bits`),
  );
}
