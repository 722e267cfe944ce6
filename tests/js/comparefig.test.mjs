// The compare page's figure builders and sample pairs (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DIVERGING,
  deltaFigure,
  differingTicks,
  faint,
  fitTicks,
  MIN_TICK_PX,
  mapFigure,
  plotArea,
  profileFigure,
  surprisalFigure,
  thumbnail,
} from "../../static/js/comparefig.js";
import { alignTokens, diffRuns, formatP, PAIR_SAMPLES } from "../../static/js/comparemath.js";

test("surprisalFigure: one line per model over the tokens, the guess in the hover", () => {
  const labels = ["the", "␣cat₁", "␣cat₂"];
  const fig = surprisalFigure(labels, [
    { name: "a", bits: [null, 3, 1], guess: [null, { top: "␣dog", prob: 0.25 }, { top: "␣cat", prob: 0.5 }] },
    { name: "b", bits: [null, 4, 2], guess: [null, null, { top: "␣cat", prob: 0.75 }] },
  ]);
  assert.deepEqual(
    fig.data.map((d) => [d.name, d.y]),
    [
      ["a", [null, 3, 1]],
      ["b", [null, 4, 2]],
    ],
  );
  assert.equal(fig.data[0].text[1], "guessed ␣dog (25%)");
  assert.equal(fig.data[1].text[1], "no guess");
  assert.deepEqual(fig.layout.xaxis.ticktext, labels);
  assert.notEqual(fig.data[0].line.color, fig.data[1].line.color);
});

test("surprisalFigure: tick labels thinned to what fits, every token still on the x axis", () => {
  const labels = Array.from({ length: 250 }, (_, t) => `w${t}`);
  const fig = surprisalFigure(labels, [{ name: "a", bits: labels.map(() => 1), guess: labels.map(() => null) }], {
    maxLabels: 25,
  });
  assert.ok(fig.layout.xaxis.ticktext.length <= 25);
  assert.equal(fig.data[0].x.length, 250);
});

test("mapFigure: nothing above the diagonal or in NaN cells, the range given, diverging by default", () => {
  const m = [
    [0.5, 9],
    [-1, NaN],
  ];
  const fig = mapFigure(m, ["a", "b"], { zmin: -3, zmax: 3 });
  const [tr] = fig.data;
  assert.deepEqual(tr.z, [
    [0.5, null],
    [-1, null],
  ]);
  assert.equal(tr.zmin, -3);
  assert.equal(tr.zmax, 3);
  assert.equal(tr.colorscale, DIVERGING);
  const small = mapFigure(m, ["a", "b"], { zmin: 0, zmax: 1, small: true, diverging: false });
  assert.equal(small.data[0].showscale, false);
  assert.deepEqual(small.layout.xaxis.ticktext, []);
  assert.notEqual(small.data[0].colorscale, DIVERGING);
});

test("profileFigure: a line per model, and a faint dotted one only where the card has a profile", () => {
  const fig = profileFigure([
    { name: "a", colour: "#0072b2", x: [1, 2], y: [0.5, 0.25], reference: { x: [1, 2, 3], y: [1, 0.5, 0.2] } },
    { name: "b", colour: "#e69f00", x: [1], y: [0.1], reference: null },
  ]);
  assert.deepEqual(
    fig.data.map((d) => d.name),
    ["a: this text", "a: held out (card)", "b: this text"],
  );
  assert.equal(fig.data[1].line.dash, "dot");
  assert.equal(fig.data[1].line.color, faint("#0072b2"));
  assert.equal(faint("#0072b2", 0.5), "rgba(0,114,178,0.5)");
  assert.equal(fig.layout.xaxis.type, "log");
  assert.equal(fig.layout.yaxis.type, "log");
});

test("deltaFigure: grouped bars per model, the differing slots shaded", () => {
  const fig = deltaFigure(
    ["The", "␣key → ␣keys", "␣to"],
    [
      { name: "a", delta: [null, 1, -0.5] },
      { name: "b", delta: [null, 2, 0] },
    ],
    [false, true, false],
  );
  assert.deepEqual(
    fig.data.map((d) => d.y),
    [
      [null, 1, -0.5],
      [null, 2, 0],
    ],
  );
  assert.deepEqual(
    fig.layout.shapes.map((s) => [s.x0, s.x1]),
    [[0.5, 1.5]],
  );
});

test("the sample pairs differ in a word or two (by words), each a place to compare", () => {
  for (const { label, a, b } of PAIR_SAMPLES) {
    const runs = diffRuns(alignTokens(a.split(" "), b.split(" ")));
    assert.ok(runs.length >= 1 && runs.length <= 3, `${label}: ${runs.length} places`);
    // a word for a word at every place
    assert.ok(
      runs.every((r) => r.a[1] - r.a[0] === 1 && r.b[1] - r.b[0] === 1),
      `${label}: one word for one word`,
    );
  }
});

test("formatP: three significant digits, exponent below 0.001", () => {
  assert.equal(formatP(0.12345), "0.123");
  assert.equal(formatP(0.0045678), "0.00457");
  assert.equal(formatP(1.234e-7), "1.23e-7");
});

test("differingTicks: every differing slot labelled, the others thinned around them", () => {
  const labels = Array.from({ length: 100 }, (_, k) => `s${k}`);
  const differs = labels.map((_, k) => k === 41 || k === 97);
  const { tickvals, ticktext } = differingTicks(labels, differs, 10);
  assert.ok(tickvals.includes(41) && tickvals.includes(97));
  assert.ok(tickvals.length <= 12);
  for (let i = 1; i < tickvals.length; i++) assert.ok(tickvals[i] - tickvals[i - 1] >= 10, `${tickvals}`);
  assert.deepEqual(
    ticktext,
    tickvals.map((k) => `s${k}`),
  );
});

const tokens = (n) => Array.from({ length: n }, (_, t) => `w${t}`);
const spacing = (axis, area, n) =>
  Math.min(...axis.tickvals.slice(1).map((v, k) => ((v - axis.tickvals[k]) * area) / n));

test("fitTicks: every k-th token labelled, MIN_TICK_PX apart or more, along both axes of a map", () => {
  const labels = tokens(250);
  const m = labels.map(() => labels.map(() => 0.5));
  const fig = mapFigure(m, labels, { zmin: -1, zmax: 1 });
  for (const [w, h] of [
    [1000, 600],
    [300, 380],
    [800, 300],
  ]) {
    const fitted = fitTicks(fig, labels, w, h);
    const area = plotArea(fig, w, h);
    assert.equal(area.width, area.height); // a square map: its shorter side
    for (const axis of [fitted.layout.xaxis, fitted.layout.yaxis]) {
      assert.ok(axis.tickvals.length >= Math.floor(area.width / MIN_TICK_PX) / 2, [w, h, axis.tickvals.length]);
      assert.ok(spacing(axis, area.width, 250) >= MIN_TICK_PX, [w, h]);
      assert.deepEqual(
        axis.ticktext,
        axis.tickvals.map((v) => labels[v]),
      );
    }
  }
  assert.equal(fig.data[0].x.length, 250); // every token still drawn
});

test("fitTicks: a map with tokens along x only keeps its y axis; a wide one labels more along x", () => {
  const labels = tokens(100);
  const fig = {
    data: [{ type: "heatmap", z: [] }],
    layout: { margin: { l: 50, r: 10, t: 30, b: 70 }, xaxis: {}, yaxis: { tickvals: [0, 12], ticktext: ["0", "12"] } },
    highlight: [{ along: "x" }],
  };
  const fitted = fitTicks(fig, labels, 1200, 400);
  assert.deepEqual(fitted.layout.yaxis, fig.layout.yaxis);
  const area = plotArea(fig, 1200, 400);
  assert.ok(area.width > area.height);
  assert.ok(spacing(fitted.layout.xaxis, area.width, 100) >= MIN_TICK_PX);
  assert.ok(fitted.layout.xaxis.tickvals.length > fitTicks(fig, labels, 400, 400).layout.xaxis.tickvals.length);
});

test("thumbnail: the map alone, no labels, titles, notes or colour bar; the data kept", () => {
  const labels = tokens(20);
  const fig = mapFigure(
    labels.map(() => labels.map(() => 1)),
    labels,
    { zmin: 0, zmax: 1, title: "a map" },
  );
  const small = thumbnail({ ...fig, layout: { ...fig.layout, annotations: [{ text: "capped" }] } });
  assert.deepEqual([small.layout.xaxis.ticktext, small.layout.yaxis.ticktext], [[], []]);
  assert.equal(small.layout.title.text, "");
  assert.deepEqual(small.layout.annotations, []);
  assert.equal(small.data[0].showscale, false);
  assert.equal(small.data[0].z, fig.data[0].z);
  assert.equal(small.layout.yaxis.scaleanchor, "x");
});
