// Keyboard navigation of the thumbnail grids (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { modelViewFigure, recurrentGridFigure, thumbnailGrid } from "../../static/js/figures.js";
import { cellBox, cellIndex, gridMove } from "../../static/js/gridnav.js";
import {
  modelViewCell,
  modelViewNames,
  modelViewPick,
  recurrentCell,
  recurrentNames,
  recurrentPick,
} from "../../static/js/views.js";

const at = (row, col) => ({ row, col });

test("arrows move one cell: left/right across columns (heads), up/down across rows (layers)", () => {
  assert.deepEqual(gridMove("ArrowRight", at(1, 1), 3, 4), at(1, 2));
  assert.deepEqual(gridMove("ArrowLeft", at(1, 1), 3, 4), at(1, 0));
  assert.deepEqual(gridMove("ArrowDown", at(1, 1), 3, 4), at(2, 1));
  assert.deepEqual(gridMove("ArrowUp", at(1, 1), 3, 4), at(0, 1));
});

test("arrows stop at the edges instead of wrapping", () => {
  assert.deepEqual(gridMove("ArrowLeft", at(2, 0), 3, 4), at(2, 0));
  assert.deepEqual(gridMove("ArrowRight", at(0, 3), 3, 4), at(0, 3));
  assert.deepEqual(gridMove("ArrowUp", at(0, 2), 3, 4), at(0, 2));
  assert.deepEqual(gridMove("ArrowDown", at(2, 2), 3, 4), at(2, 2));
});

test("Home and End go to the ends of the row; with Ctrl to the first and last cell", () => {
  assert.deepEqual(gridMove("Home", at(1, 2), 3, 4), at(1, 0));
  assert.deepEqual(gridMove("End", at(1, 2), 3, 4), at(1, 3));
  assert.deepEqual(gridMove("Home", at(1, 2), 3, 4, true), at(0, 0));
  assert.deepEqual(gridMove("End", at(1, 2), 3, 4, true), at(2, 3));
});

test("keys that do not move give null (Enter, Space, Tab, letters are left to others)", () => {
  for (const key of ["Enter", " ", "Tab", "a", "PageDown", "Escape"]) assert.equal(gridMove(key, at(1, 1), 3, 4), null);
});

test("a 1 x 1 grid goes nowhere", () => {
  for (const key of ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"]) {
    assert.deepEqual(gridMove(key, at(0, 0), 1, 1), at(0, 0));
  }
});

test("cellIndex finds a cell by row and column in figure order, -1 if absent", () => {
  const cells = [at(0, 0), at(1, 0), at(0, 1), at(1, 1)]; // column-major, as the recurrent grid
  assert.equal(cellIndex(cells, at(1, 0)), 1);
  assert.equal(cellIndex(cells, at(0, 1)), 2);
  assert.equal(cellIndex(cells, at(2, 0)), -1);
});

test("cellBox places a cell inside the margins, as fractions of the plot area", () => {
  const box = cellBox({ x: [0.25, 0.5], y: [0.5, 1] }, { t: 40, r: 10, b: 0, l: 30 });
  assert.deepEqual(box, {
    left: "calc(30px + 0.25 * (100% - 40px))",
    top: "calc(40px + 0 * (100% - 40px))", // y counts upwards: the top row is at y1 = 1
    width: "calc(0.25 * (100% - 40px))",
    height: "calc(0.5 * (100% - 40px))",
  });
});

const square = (n) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j <= i ? 1 / (i + 1) : 0)));
const maps = (L, H, n = 3) =>
  Array.from({ length: L }, () =>
    Array.from({ length: H }, () => ({ matrix: square(n), index: [...Array(n).keys()] })),
  );

test("the model view's grid lists each thumbnail's layer (row), head (col) and domains in figure order", () => {
  const fig = modelViewFigure(maps(2, 3));
  assert.equal(fig.grid.nRows, 2);
  assert.equal(fig.grid.nCols, 3);
  assert.deepEqual(
    fig.grid.cells.map((c) => [c.row, c.col]),
    [
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ],
  );
  assert.deepEqual(fig.grid.margin, fig.layout.margin);
  fig.grid.cells.forEach((c, k) => {
    // the box lies over the thumbnail plotly draws for trace k
    const ax = k === 0 ? "" : String(k + 1);
    assert.equal(fig.data[k].xaxis, `x${ax}`);
    assert.deepEqual(c.x, fig.layout[`xaxis${ax}`].domain);
    assert.deepEqual(c.y, fig.layout[`yaxis${ax}`].domain);
  });
  assert.ok(fig.grid.cells[1].x[0] > fig.grid.cells[0].x[1]); // head 1 right of head 0
  assert.ok(fig.grid.cells[3].y[1] < fig.grid.cells[0].y[0]); // layer 1 below layer 0
});

test("the recurrent grid is column-major (part, then layer): rows are layers, columns parts", () => {
  const m = [
    [0.1, -0.2],
    [0.3, 0.4],
  ]; // [T][D]
  const fig = recurrentGridFigure({ h: [m, m, m], c: [m, m, m] });
  assert.deepEqual(
    fig.grid.cells.map((c) => [c.row, c.col]),
    [
      [0, 0],
      [1, 0],
      [2, 0],
      [0, 1],
      [1, 1],
      [2, 1],
    ],
  );
  assert.equal(fig.grid.nRows, 3);
  assert.equal(fig.grid.nCols, 2);
});

test("thumbnailGrid keeps cells given in any order aligned with their traces", () => {
  const z = [[1]];
  const fig = thumbnailGrid(
    [
      { row: 1, col: 1, z },
      { row: 0, col: 0, z },
    ],
    {
      nRows: 2,
      nCols: 2,
      rowLabels: ["a", "b"],
      colLabels: ["x", "y"],
      title: "t",
    },
  );
  assert.deepEqual(
    fig.grid.cells.map((c) => [c.row, c.col]),
    [
      [1, 1],
      [0, 0],
    ],
  );
  assert.deepEqual(fig.grid.cells[0].x, fig.layout.xaxis.domain);
});

// Moving with keys then picking must select the head the cell shows: the grid's (row, col)
// and the pick from the cell index have to agree.
test("ArrowDown from layer 0 head 1 picks layer 1 head 1 in the model view", () => {
  const att = { shape: [2, 3, 3, 3] };
  const { grid } = modelViewFigure(maps(2, 3));
  const from = modelViewCell(att, { view: "head", layer: 0, head: 1 });
  const to = cellIndex(grid.cells, gridMove("ArrowDown", grid.cells[from], grid.nRows, grid.nCols));
  assert.deepEqual(modelViewPick(att, to), { view: "head", layer: 1, head: 1 });
  assert.equal(modelViewNames(att).cellLabel(to), "Layer 1, head 1");
  assert.equal(modelViewNames(att).label, "Attention maps by layer and head");
});

test("ArrowRight from h at layer 1 picks c at layer 1 in the recurrent grid", () => {
  const m = [
    [0.1, -0.2],
    [0.3, 0.4],
  ];
  const tensor = { shape: [2, 2, 2], data: new Float64Array(8) };
  const parts = { h: tensor, c: tensor };
  const { grid } = recurrentGridFigure({ h: [m, m], c: [m, m] });
  const from = recurrentCell(parts, { view: "h", layer: 1 });
  const to = cellIndex(grid.cells, gridMove("ArrowRight", grid.cells[from], grid.nRows, grid.nCols));
  assert.deepEqual(recurrentPick(parts, to), { view: "c", layer: 1 });
  const labels = { h: "Hidden state h", c: "Cell state c" };
  assert.equal(recurrentNames(parts, (name) => labels[name]).cellLabel(to), "Layer 1, Cell state c");
  assert.equal(recurrentNames(parts).cellLabel(to), "Layer 1, c"); // no labels: the part's name
});
