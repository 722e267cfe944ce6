// The compare page's maths: gaps, sorting, shared ranges, difference maps, rollout,
// minimal pairs (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  alignTokens,
  deltaBits,
  differenceMap,
  diffRuns,
  fullRollout,
  largeColumn,
  logProfile,
  MIN_CELL_PX,
  meanByDistance,
  sharedRange,
  sortRows,
  splitAt,
  subscript,
  subscripted,
  tokenBits,
  withGaps,
  wordProbability,
} from "../../static/js/comparemath.js";
import { comparisonRows } from "../../static/js/views.js";

const close = (a, b, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test("subscripted: only repeated tokens get their position, in subscript digits", () => {
  assert.equal(subscript(120), "₁₂₀");
  assert.deepEqual(subscripted(["the", "␣cat", "␣saw", "␣the", "␣cat"]), ["the", "␣cat₁", "␣saw", "␣the", "␣cat₄"]);
  const many = subscripted(Array(12).fill("x"));
  assert.equal(new Set(many).size, 12); // every label distinct
  assert.equal(many[11], "x₁₁");
});

function rowsOf(bitsPerModel) {
  const T = bitsPerModel[0].length;
  const strings = Array.from({ length: T }, (_, t) => `t${t}`);
  return comparisonRows(
    strings,
    bitsPerModel.map((bits) => ({
      predictions: {
        top_strings: strings.map(() => ["x"]), // the same guess everywhere: the gap decides
        top_probs: strings.map(() => [0.5]),
        surprisal_bits: bits,
      },
    })),
  );
}

test("withGaps: the gap is max − min bits over the models that predicted; disagree above the threshold", () => {
  const rows = withGaps(
    rowsOf([
      [1, 5, 2, null],
      [4, 5, 2.5, null],
      [2, 5, 0.25, null],
    ]),
    1,
  );
  assert.deepEqual(
    rows.map((r) => r.gap),
    [3, 0, 2.25, null],
  );
  // the same top guess everywhere, yet rows 0 and 2 disagree: the mark is the gap's
  assert.deepEqual(
    rows.map((r) => r.disagree),
    [true, false, true, false],
  );
  const strict = withGaps(rowsOf([[1], [4]]), 3);
  assert.equal(strict[0].disagree, false, "a gap equal to the threshold is not above it");
});

test("sortRows: by gap, largest first, rows without a gap last, ties by position", () => {
  const rows = withGaps(
    rowsOf([
      [1, 0, 2, null, 7],
      [2, 3, 4, null, 8],
    ]),
    0,
  );
  assert.deepEqual(
    sortRows(rows, "gap").map((r) => r.t),
    [1, 2, 0, 4, 3],
  );
  assert.deepEqual(
    sortRows(sortRows(rows, "gap"), "position").map((r) => r.t),
    [0, 1, 2, 3, 4],
  );
});

test("sharedRange: symmetric, the quantile of |value| over the measured cells of every map", () => {
  const maps = [
    [
      [0.5, 99], // above the diagonal: not measured, left out
      [-2, NaN],
    ],
    [[1.5]],
  ];
  assert.deepEqual(sharedRange(maps, 1), { zmin: -2, zmax: 2, capped: false, max: 2 });
  // |values| sorted: 0.5, 1.5, 2; the 0.5 quantile is the middle one
  assert.deepEqual(sharedRange(maps, 0.5), { zmin: -1.5, zmax: 1.5, capped: true, max: 2 });
  // 100 cells 1..100 (one column): the value at index floor(q·100) of the sorted |values|
  const column = Array.from({ length: 100 }, (_, i) => [-(i + 1)]);
  assert.equal(sharedRange([column]).zmax, 100);
  assert.equal(sharedRange([column], 0.9).zmax, 91);
  assert.deepEqual(sharedRange([[[null]]]), { zmin: -1, zmax: 1, capped: false, max: 0 });
});

test("differenceMap: A − B cell by cell, null where either is missing, null for other shapes", () => {
  const a = [
    [1, 0],
    [2, NaN],
  ];
  const b = [
    [0.25, 0],
    [-1, 3],
  ];
  assert.deepEqual(differenceMap(a, b), [
    [0.75, 0],
    [3, null],
  ]);
  assert.equal(differenceMap(a, [[1]]), null);
});

test("meanByDistance: the mean of the d-th subdiagonal; logProfile keeps d ≥ 1 with values > 0", () => {
  const m = [
    [1, 0, 0],
    [2, 3, 0],
    [NaN, NaN, NaN], // the last row predicts nothing
  ];
  assert.deepEqual(meanByDistance(m), [2, 2, null]);
  const m2 = [
    [1, 0, 0],
    [4, 2, 0],
    [6, 0, 5],
  ];
  assert.deepEqual(meanByDistance(m2), [8 / 3, 2, 6]);
  assert.deepEqual(logProfile([9, 0, null, 0.5]), { x: [3], y: [0.5] });
});

test("fullRollout: every layer's 0.5·mean head + 0.5·I, rows renormalised, multiplied", () => {
  // [L=2, H=2, T=3, T=3], causal, rows sum to 1
  const heads = [
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
    [
      [1, 0, 0],
      [0.1, 0.9, 0],
      [0, 0, 1],
    ],
    [
      [1, 0, 0],
      [0.3, 0.7, 0],
      [1 / 3, 1 / 3, 1 / 3],
    ],
  ];
  const data = Float64Array.from(heads.flat(2));
  const got = fullRollout({ shape: [2, 2, 3, 3], data });
  // independently: A'_l = (0.5·mean + 0.5·I) / row sum, rollout = A'_1 · A'_0
  const layer = (l) =>
    [0, 1, 2].map((i) =>
      [0, 1, 2].map((j) => 0.5 * ((heads[2 * l][i][j] + heads[2 * l + 1][i][j]) / 2) + (i === j ? 0.5 : 0)),
    );
  const norm = (m) => m.map((r) => r.map((v) => v / r.reduce((x, y) => x + y, 0)));
  const [a0, a1] = [norm(layer(0)), norm(layer(1))];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let want = 0;
      for (let k = 0; k < 3; k++) want += a1[i][k] * a0[k][j];
      close(got[i][j], want);
      if (j > i) assert.equal(got[i][j], 0); // still causal
    }
    close(
      got[i].reduce((x, y) => x + y, 0),
      1,
    );
  }
});

test("alignTokens: common tokens matched, the differing ones paired in order", () => {
  const a = ["The", "␣key", "␣to", "␣the", "␣cabinets", "␣is"];
  const b = ["The", "␣keys", "␣to", "␣the", "␣cabinet", "␣are"];
  const slots = alignTokens(a, b);
  assert.deepEqual(
    slots.map((s) => [s.a, s.b, s.same]),
    [
      [0, 0, true],
      [1, 1, false],
      [2, 2, true],
      [3, 3, true],
      [4, 4, false],
      [5, 5, false],
    ],
  );
  // each substitution is a place of its own: the noun and the verb are compared apart
  assert.deepEqual(
    diffRuns(slots).map((r) => [r.from, r.a, r.b]),
    [
      [1, [1, 2], [1, 2]],
      [4, [4, 5], [4, 5]],
      [5, [5, 6], [5, 6]],
    ],
  );
});

test("alignTokens: a word split in two on one side is an insertion next to a substitution", () => {
  const slots = alignTokens(["a", "␣big", "␣dog", "."], ["a", "␣bi", "gg", "␣dog", "."]);
  assert.deepEqual(
    slots.map((s) => [s.a, s.b]),
    [
      [0, 0],
      [1, 1],
      [null, 2],
      [2, 3],
      [3, 4],
    ],
  );
  const [run] = diffRuns(slots);
  assert.deepEqual([run.from, run.to, run.a, run.b], [1, 3, [1, 2], [1, 3]]);
  // an insertion alone: A's side is the empty range where it would go
  const [ins] = diffRuns(alignTokens(["a", "b"], ["a", "x", "b"]));
  assert.deepEqual(
    [ins.a, ins.b],
    [
      [1, 1],
      [1, 2],
    ],
  );
});

test("tokenBits and deltaBits: the surprisal of each token, B minus A slot by slot", () => {
  assert.deepEqual(tokenBits([1, 2, null]), [null, 1, 2]);
  const slots = alignTokens(["a", "b", "c"], ["a", "x", "c", "d"]);
  const d = deltaBits(slots, tokenBits([1, 2, null]), tokenBits([3, 5, 0.5, null]));
  assert.deepEqual(d, [null, 3 - 1, 5 - 2, null]);
});

test("splitAt and wordProbability: the prefix and the word, and 2^-(its tokens' bits)", () => {
  const text = "The key is";
  const spans = [
    [0, 3],
    [3, 7],
    [7, 10],
  ];
  assert.deepEqual(splitAt(text, spans, [2, 3]), { prefix: "The key", word: " is" });
  assert.deepEqual(splitAt(text, spans, [1, 3]), { prefix: "The", word: " key is" });
  // surprisal_bits[t] is of token t + 1: the word " key is" costs 1.5 + 2.5 bits
  const got = wordProbability(spans, [1.5, 2.5, null], 3);
  close(got.bits, 4);
  close(got.p, 2 ** -4);
  assert.equal(wordProbability(spans, [1.5, 2.5, null], 5), null, "a token straddles the boundary");
  assert.equal(wordProbability(spans, [1.5, 2.5, null], 0), null, "the first token has no prediction");
  assert.equal(wordProbability(spans, [1.5, 2.5, null], 10), null, "no word");
});

test("largeColumn: the one asked for, else side by side where a token gets MIN_CELL_PX, else the first", () => {
  const names = ["transformer", "lstm", "gru", "rnn"];
  const wide = 200 + 30 * MIN_CELL_PX; // 30 tokens just fit
  assert.equal(largeColumn("", names, wide, 30), null);
  assert.equal(largeColumn("", names, wide, 31), "transformer");
  assert.equal(largeColumn("all", names, wide, 250), null); // side by side when asked, however narrow
  assert.equal(largeColumn("gru", names, wide, 5), "gru"); // one large when asked, however wide
  assert.equal(largeColumn("gone", names, wide, 250), "transformer"); // a model no longer chosen
  assert.equal(largeColumn("", ["lstm"], 10, 250), null); // one map: nothing to make small
});
