// Pure figure builders and matrix maths (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  attentionFigure,
  colourAt,
  hideFirstToken,
  highlightShapes,
  inkFor,
  matmul,
  maxOf,
  maxPool,
  meanOf,
  modelViewFigure,
  normaliseRows,
  orderByActivation,
  orderByVariance,
  prepareAttention,
  rollout,
  stateFigure,
  tensorMatrix,
  thresholdFilter,
  toCsv,
  tokenTicks,
  topKPerRow,
} from "../../static/js/figures.js";

const close = (a, b, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);
const closeMatrix = (a, b, eps = 1e-12) => {
  a.forEach((row, i) => {
    Array.from(row).forEach((v, j) => {
      close(v, b[i][j], eps);
    });
  });
};
const identity = (n) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

// Two layers, two heads of 3-token causal attention (rows sum to 1).
const L0 = [
  [
    [1, 0, 0],
    [0.5, 0.5, 0],
    [0.2, 0.3, 0.5],
  ],
  [
    [1, 0, 0],
    [0.9, 0.1, 0],
    [0.6, 0.2, 0.2],
  ],
];
const L1 = [
  [
    [1, 0, 0],
    [0.3, 0.7, 0],
    [0.1, 0.1, 0.8],
  ],
  [
    [1, 0, 0],
    [0.5, 0.5, 0],
    [0.4, 0.4, 0.2],
  ],
];

test("mean and max over heads are element-wise", () => {
  closeMatrix(meanOf(L0), [
    [1, 0, 0],
    [0.7, 0.3, 0],
    [0.4, 0.25, 0.35],
  ]);
  closeMatrix(maxOf(L0), [
    [1, 0, 0],
    [0.9, 0.5, 0],
    [0.6, 0.3, 0.5],
  ]);
});

test("mean of causal maps keeps rows summing to 1", () => {
  for (const row of meanOf(L1))
    close(
      row.reduce((a, b) => a + b),
      1,
      1e-12,
    );
});

test("rollout of one layer is 0.5 * mean + 0.5 * I, rows renormalised", () => {
  const expected = normaliseRows(meanOf(L0).map((row, i) => row.map((v, j) => 0.5 * v + (i === j ? 0.5 : 0))));
  closeMatrix(rollout([L0], 0), expected);
});

test("rollout multiplies later layers on the left: A'_1 · A'_0", () => {
  const mix = (heads) => normaliseRows(meanOf(heads).map((row, i) => row.map((v, j) => 0.5 * v + (i === j ? 0.5 : 0))));
  const a0 = mix(L0);
  const a1 = mix(L1);
  // hand-written product, independent of matmul()
  const expected = a1.map((row) => a0[0].map((_, j) => row.reduce((s, v, k) => s + v * a0[k][j], 0)));
  closeMatrix(rollout([L0, L1]), expected);
  closeMatrix(rollout([L0, L1], 0), a0); // rollout up to layer 0 only
});

test("rollout rows sum to 1 and stay causal", () => {
  const r = rollout([L0, L1]);
  r.forEach((row, i) => {
    close(
      row.reduce((a, b) => a + b),
      1,
      1e-12,
    );
    row.forEach((v, j) => {
      if (j > i) assert.equal(v, 0);
    });
  });
});

test("rollout of identity attention is the identity", () => {
  closeMatrix(rollout([[identity(4)], [identity(4)], [identity(4)]]), identity(4));
});

test("matmul matches the definition on a dense example", () => {
  closeMatrix(
    matmul(
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ),
    [
      [19, 22],
      [43, 50],
    ],
  );
});

test("hiding the first token drops its row and column and renormalises rows", () => {
  const m = [
    [1, 0, 0],
    [0.5, 0.5, 0],
    [0.6, 0.1, 0.3],
  ];
  const { matrix, index } = hideFirstToken(m);
  assert.deepEqual(index, [1, 2]);
  closeMatrix(matrix, [
    [1, 0],
    [0.25, 0.75],
  ]);
});

test("hiding the first token leaves an all-zero row at zero, not NaN", () => {
  const { matrix } = hideFirstToken([
    [1, 0],
    [1, 0],
  ]);
  assert.deepEqual(matrix, [[0]]);
});

test("top-k per row keeps the k largest weights and removes the rest (null)", () => {
  const m = [
    [0.1, 0.6, 0.3],
    [0.5, 0.2, 0.3],
  ];
  assert.deepEqual(topKPerRow(m, 1), [
    [null, 0.6, null],
    [0.5, null, null],
  ]);
  assert.deepEqual(topKPerRow(m, 2), [
    [null, 0.6, 0.3],
    [0.5, null, 0.3],
  ]);
  assert.deepEqual(topKPerRow(m, 5), m);
});

test("top-k ties keep the earlier key, so exactly k survive", () => {
  assert.deepEqual(topKPerRow([[0.25, 0.25, 0.25, 0.25]], 2), [[0.25, 0.25, null, null]]);
});

test("threshold filter removes weights below the threshold", () => {
  assert.deepEqual(thresholdFilter([[0.05, 0.1, 0.85]], 0.1), [[null, 0.1, 0.85]]);
});

test("prepareAttention applies hide-first before the filter", () => {
  const m = [
    [1, 0, 0],
    [0.9, 0.1, 0],
    [0.8, 0.05, 0.15],
  ];
  const { matrix, index } = prepareAttention(m, { hideFirst: true, filter: { kind: "topk", value: 1 } });
  assert.deepEqual(index, [1, 2]);
  assert.deepEqual(matrix[0], [1, null]);
  assert.equal(matrix[1][0], null);
  assert.ok(Math.abs(matrix[1][1] - 0.75) < 1e-12);
});

test("tensorMatrix slices [L, H, T, T] row-major without copying", () => {
  const data = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i);
  const t = { shape: [2, 3, 2, 2], data };
  assert.deepEqual(
    tensorMatrix(t, 1, 2).map((r) => Array.from(r)),
    [
      [20, 21],
      [22, 23],
    ],
  );
  assert.equal(tensorMatrix(t, 0, 0)[0].buffer, data.buffer);
});

test("repeated tokens keep one tick per position, labelled with the token string", () => {
  const strings = ["the", "␣cat", "␣saw", "␣the", "␣cat"];
  const ticks = tokenTicks(strings, [0, 1, 2, 3, 4]);
  assert.deepEqual(ticks.tickvals, [0, 1, 2, 3, 4]);
  assert.deepEqual(ticks.ticktext, strings);
});

test("attention figure: numeric axes, 5 distinct rows for a repeated word, masked future", () => {
  const strings = ["the", "␣cat", "␣saw", "␣the", "␣cat"];
  const m = Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => (j <= i ? 1 / (i + 1) : 0)));
  const { data, layout } = attentionFigure(m, strings, { causal: true });
  const [trace] = data;
  assert.equal(trace.z.length, 5);
  assert.deepEqual(trace.y, [0, 1, 2, 3, 4]);
  assert.deepEqual(layout.yaxis.ticktext, strings);
  assert.deepEqual(layout.xaxis.ticktext, strings);
  assert.equal(trace.z[1][4], null); // future key: blank, not a weight of 0
  assert.equal(trace.z[4][1], 0.2);
  assert.match(trace.text[4][1], /query #4 ␣cat.*key #1 ␣cat/);
});

test("attention figure with the first token hidden labels the kept tokens", () => {
  const strings = ["A", "␣b", "␣b"];
  const { matrix, index } = hideFirstToken([
    [1, 0, 0],
    [0.5, 0.5, 0],
    [0.2, 0.4, 0.4],
  ]);
  const { data, layout } = attentionFigure(matrix, strings, { index, causal: true });
  assert.deepEqual(layout.yaxis.ticktext, ["␣b", "␣b"]);
  assert.equal(data[0].z[0][1], null);
  close(data[0].z[1][0], 0.5);
});

test("long axes thin their tick labels but keep exact positions", () => {
  const strings = Array.from({ length: 200 }, (_, i) => `t${i}`);
  const ticks = tokenTicks(
    strings,
    strings.map((_, i) => i),
    48,
  );
  assert.ok(ticks.tickvals.length <= 48);
  ticks.tickvals.forEach((p, k) => {
    assert.equal(ticks.ticktext[k], `t${p}`);
  });
});

test("model view has one heatmap per layer x head, pooled past 64 tokens", () => {
  const T = 130;
  const m = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 1 / (i + 1) : 0)));
  const idx = m.map((_, i) => i);
  const maps = [
    [
      { matrix: m, index: idx },
      { matrix: m, index: idx },
    ],
    [
      { matrix: m, index: idx },
      { matrix: m, index: idx },
    ],
  ];
  const fig = modelViewFigure(maps, { causal: true });
  assert.equal(fig.data.length, 4);
  assert.equal(fig.data[3].xaxis, "x4");
  assert.equal(fig.data[0].z.length, 44); // ceil(130 / 3)
  assert.match(fig.layout.title.text, /max-pooled 3×3/);
});

test("maxPool keeps block maxima and ignores masked cells", () => {
  assert.deepEqual(
    maxPool(
      [
        [1, null, 0],
        [2, 3, null],
        [0, 0, 9],
      ],
      2,
    ),
    [
      [3, 0],
      [0, 9],
    ],
  );
});

test("units sort by variance over positions, or by value at a token", () => {
  const m = [
    [0, 5, 1],
    [0, -5, 2],
    [0, 5, 3],
  ]; // [T=3][D=3]
  assert.deepEqual(orderByVariance(m), [1, 2, 0]);
  assert.deepEqual(orderByActivation(m, 1), [2, 0, 1]);
});

test("state figure puts units on rows in the chosen order", () => {
  const m = [
    [0.1, 0.2],
    [0.3, 0.4],
    [0.5, 0.6],
  ]; // [T=3][D=2]
  const { data, layout } = stateFigure(m, ["a", "␣a", "␣a"], { order: [1, 0] });
  assert.deepEqual(data[0].z, [
    [0.2, 0.4, 0.6],
    [0.1, 0.3, 0.5],
  ]);
  assert.deepEqual(layout.xaxis.ticktext, ["a", "␣a", "␣a"]);
  assert.deepEqual(layout.yaxis.ticktext, ["1", "0"]);
});

test("highlight shapes outline the token's row and column; hidden tokens get none", () => {
  const shapes = highlightShapes([{ xref: "x", yref: "y", index: [1, 2, 3], along: "both", extent: 3 }], 2);
  assert.equal(shapes.length, 2);
  assert.deepEqual([shapes[0].x0, shapes[0].x1], [0.5, 1.5]);
  assert.deepEqual([shapes[1].y0, shapes[1].y1], [0.5, 1.5]);
  assert.deepEqual(highlightShapes([{ index: [1, 2], along: "both", extent: 2 }], 0), []);
  assert.deepEqual(highlightShapes([{ index: [0], along: "x", extent: 1 }], null), []);
});

test("CSV quotes labels and leaves masked cells empty", () => {
  const csv = toCsv(
    [
      [1, null],
      [0.5, 0.5],
    ],
    ['#0 "a"', "#1 b,c"],
    ["k0", "k1"],
    "q\\k",
  );
  assert.equal(csv, '"q\\k","k0","k1"\n"#0 ""a""",1,\n"#1 b,c",0.5,0.5\n');
});

test("surprisal colours run light to dark, with readable ink", () => {
  assert.equal(colourAt(0), "rgb(255,255,204)"); // #ffffcc
  assert.equal(colourAt(99), "rgb(128,0,38)"); // #800026, clamped
  assert.equal(inkFor(colourAt(0)), "#1d232b");
  assert.equal(inkFor(colourAt(12)), "#ffffff");
});

import { comparisonRows, mapToken } from "../../static/js/views.js";

test("comparison rows flag disagreeing top-1 guesses, hits and the lowest surprisal", () => {
  const strings = ["the", "␣cat", "␣sat"];
  const a = {
    predictions: {
      top_strings: [["␣cat"], ["␣sat"], ["."]],
      top_probs: [[0.5], [0.4], [0.3]],
      surprisal_bits: [1, 2, null],
    },
  };
  const b = {
    predictions: {
      top_strings: [["␣dog"], ["␣sat"], [","]],
      top_probs: [[0.6], [0.2], [0.3]],
      surprisal_bits: [3, 1.5, null],
    },
  };
  const rows = comparisonRows(strings, [a, b]);
  assert.deepEqual(
    rows.map((r) => r.disagree),
    [true, false, true],
  );
  assert.deepEqual(
    rows[0].cells.map((c) => c.hit),
    [true, false],
  );
  assert.deepEqual(
    rows[0].cells.map((c) => c.best),
    [true, false],
  );
  assert.deepEqual(
    rows[1].cells.map((c) => c.best),
    [false, true],
  );
  assert.equal(rows[2].next, null);
  assert.deepEqual(
    rows[2].cells.map((c) => c.best),
    [false, false],
  ); // no next token: nothing scored
});

test("tokens map between tokenisations by overlapping character spans", () => {
  const a = [
    [0, 3],
    [3, 7],
  ];
  const b = [
    [0, 1],
    [1, 3],
    [3, 5],
    [5, 7],
  ];
  assert.equal(mapToken(1, a, a), 1);
  assert.equal(mapToken(1, a, b), 2);
  assert.equal(mapToken(-1, a, b), -1);
});

import { colourCap } from "../../static/js/figures.js";

test("colour scale tops out at the 99th percentile on long maps, the maximum on short ones", () => {
  assert.deepEqual(
    colourCap([
      [1, null],
      [0.5, 0.5],
    ]),
    { zmax: 1, capped: false },
  );
  const many = [Array.from({ length: 1000 }, (_, i) => (i === 0 ? 1 : 0.01 * (i % 10)))];
  const cap = colourCap(many);
  assert.ok(cap.capped && cap.zmax === 0.09);
});

import { attentionScale, FILTERED_COLOUR, scaleUnits } from "../../static/js/figures.js";

test("attention colours: 0-1 by default, the 99th percentile on request", () => {
  const values = [[0.1, 0.2, null]];
  assert.deepEqual([attentionScale(values).zmin, attentionScale(values).zmax], [0, 1]);
  assert.equal(attentionScale(values, { scale: "p99" }).zmax, 0.2); // short map: its maximum
  assert.equal(attentionScale(values).colorscale[0][1], "#440154");
});

test("filtered-out cells get a grey band below 0, labelled on the colour bar", () => {
  const s = attentionScale([[0.5]], { filtered: true });
  assert.ok(s.zmin < 0 && s.removed === s.zmin && s.zmax === 1);
  assert.deepEqual(
    s.colorscale.slice(0, 2).map((c) => c[1]),
    [FILTERED_COLOUR, FILTERED_COLOUR],
  );
  assert.equal(s.colorscale[2][1], "#440154");
  assert.equal(s.colorscale.at(-1)[0], 1);
  assert.equal(s.ticks.ticktext[0], "filtered out");
  assert.ok(s.ticks.tickvals[0] > s.zmin && s.ticks.tickvals[0] < 0);
  assert.deepEqual(s.ticks.tickvals.slice(1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test("attention figure: removed cells grey, the masked future blank", () => {
  const fig = attentionFigure(
    [
      [1, 0],
      [null, 0.7],
    ],
    ["a", "b"],
    { causal: true, filtered: true },
  );
  const [trace] = fig.data;
  assert.equal(trace.z[0][1], null);
  assert.equal(trace.z[1][0], trace.zmin);
  assert.match(trace.text[1][0], /filtered out$/);
  assert.match(trace.text[1][1], /weight 0\.7000$/);
});

test("scaleUnits divides each unit by its own largest |value|", () => {
  assert.deepEqual(
    scaleUnits([
      [500, 0.1, 0],
      [-250, -0.2, 0],
    ]),
    [
      [1, 0.5, 0],
      [-0.5, -1, 0],
    ],
  );
});

test("a state scaled per unit shows the scaled colours and the real value on hover", () => {
  const m = [
    [500, 0.1],
    [-250, -0.2],
  ];
  const fig = stateFigure(m, ["a", "b"], { scaled: scaleUnits(m), valueName: "c" });
  const [trace] = fig.data;
  assert.deepEqual(trace.z, [
    [1, -0.5],
    [0.5, -1],
  ]);
  assert.deepEqual(trace.customdata, [
    [500, -250],
    [0.1, -0.2],
  ]);
  assert.match(trace.hovertemplate, /customdata/);
  assert.match(trace.colorbar.title.text, /÷/);
});
