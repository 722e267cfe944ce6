/**
 * Keyboard navigation of a thumbnail grid (the model view, the recurrent states): which
 * cell a key moves to and where a cell's focus box sits over the plotly figure. Pure (no
 * DOM, no Plotly), unit-tested under node. Rows and columns count from 0, top-left first.
 */

/**
 * The cell {row, col} that `key` moves to from `at` in an nRows x nCols grid, or null for a
 * key that does not move. Arrows move one step and stop at the edges (no wrapping); Home
 * and End go to the ends of the row, with Ctrl (or Cmd) to the first and last cell.
 */
export function gridMove(key, at, nRows, nCols, ctrl = false) {
  const clamp = (v, n) => Math.min(n - 1, Math.max(0, v));
  const { row, col } = at;
  switch (key) {
    case "ArrowLeft":
      return { row, col: clamp(col - 1, nCols) };
    case "ArrowRight":
      return { row, col: clamp(col + 1, nCols) };
    case "ArrowUp":
      return { row: clamp(row - 1, nRows), col };
    case "ArrowDown":
      return { row: clamp(row + 1, nRows), col };
    case "Home":
      return ctrl ? { row: 0, col: 0 } : { row, col: 0 };
    case "End":
      return ctrl ? { row: nRows - 1, col: nCols - 1 } : { row, col: nCols - 1 };
    default:
      return null;
  }
}

/** Index into `cells` ([{row, col}], in figure order) of the cell at {row, col}; -1 if none. */
export function cellIndex(cells, { row, col }) {
  return cells.findIndex((c) => c.row === row && c.col === col);
}

/**
 * CSS box {left, top, width, height} of a thumbnail over its figure, as calc() of the
 * figure's size: `x` and `y` are the cell's paper domains ([0, 1], y upwards), `margin`
 * the figure's fixed pixel margins {t, r, b, l}. Holds at any size, so the box follows the
 * figure when it is resized without being measured again.
 */
export function cellBox({ x, y }, margin) {
  const { t = 0, r = 0, b = 0, l = 0 } = margin;
  const f = (v) => Number(v.toFixed(6));
  const across = (start, px, size) => `calc(${px}px + ${f(start)} * (100% - ${size}px))`;
  const span = (frac, size) => `calc(${f(frac)} * (100% - ${size}px))`;
  return {
    left: across(x[0], l, l + r),
    top: across(1 - y[1], t, t + b),
    width: span(x[1] - x[0], l + r),
    height: span(y[1] - y[0], t + b),
  };
}
