// The pure parts of /translate: which map is shown, the alignment rows, the figures, the
// beam's alternatives and the CSV (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { pageUrl } from "../../static/js/api.js";
import {
  alignmentCsv,
  alignmentFigure,
  alignmentRows,
  alternativeRows,
  attentionKind,
  attentionMap,
  encoderFigure,
  MEAN,
  mapChoice,
  plotText,
  rowOfTarget,
  rowShapes,
  surprisalBits,
} from "../../static/js/translatefig.js";

const KIND = { name: "cross", n_layers: 2, n_heads: 3 };

/** A decoded [L, H, Q, K] tensor whose value at (l, h, q, k) is its own index, read back. */
function tensor(L, H, Q, K, f = (l, h, q, k) => 1000 * l + 100 * h + 10 * q + k) {
  const data = new Float64Array(L * H * Q * K);
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++)
      for (let q = 0; q < Q; q++) for (let k = 0; k < K; k++) data[((l * H + h) * Q + q) * K + k] = f(l, h, q, k);
  return { shape: [L, H, Q, K], data };
}

test("attentionKind reads the declared kinds; a model without one gets null", () => {
  const spec = { attention: [{ name: "encoder_self" }, KIND] };
  assert.equal(attentionKind(spec, "cross"), KIND);
  assert.equal(attentionKind(spec, "decoder_self"), null);
  assert.equal(attentionKind({ attention: [] }, "cross"), null);
});

test("mapChoice clamps the layer to the last and an unknown head to the mean", () => {
  assert.deepEqual(mapChoice(KIND, -1, MEAN), { layer: 1, head: -1, label: "layer 1 · mean over 3 heads" });
  assert.deepEqual(mapChoice(KIND, 0, "2"), { layer: 0, head: 2, label: "layer 0 · head 2" });
  assert.equal(mapChoice(KIND, 7, "3").head, -1); // past the heads: the mean
  assert.equal(mapChoice(KIND, 7, "x").layer, 1);
  // a single map (the LSTM's) ignores the page's layer and head
  assert.deepEqual(mapChoice({ n_layers: 1, n_heads: 1 }, 1, "2"), {
    layer: 0,
    head: 0,
    label: "its one attention map",
  });
});

test("attentionMap takes one head or the mean over the layer's heads", () => {
  const t = tensor(2, 3, 2, 2);
  assert.deepEqual(attentionMap(t, { layer: 1, head: 2 }), [
    [1200, 1201],
    [1210, 1211],
  ]);
  assert.deepEqual(attentionMap(t, { layer: 0, head: -1 }), [
    [100, 101],
    [110, 111],
  ]); // mean of heads 0, 1, 2: +100 on average
});

test("alignment rows: row r is the step that produced target token r + 1", () => {
  const cross = [[1], [2], [3], [4]]; // four target tokens: BOS, a, b, EOS
  assert.deepEqual(alignmentRows(cross, 4), [[1], [2], [3]]);
  assert.equal(rowOfTarget(0, 4), -1); // BOS was not produced
  assert.equal(rowOfTarget(1, 4), 0);
  assert.equal(rowOfTarget(3, 4), 2);
  assert.equal(rowOfTarget(4, 4), -1);
  assert.equal(rowOfTarget(null, 4), -1);
});

test("surprisal in bits from probabilities", () => {
  assert.deepEqual(surprisalBits([1, 0.5, 0.25]), [-0, 1, 2]);
  assert.equal(surprisalBits([0])[0], Infinity);
});

test("the alignment figure: English across, French produced down, tags escaped", () => {
  const source = ["I", "␣am", "</s>"];
  const target = ["<s>", "J", "'", "</s>"];
  const m = [
    [0.5, 0.25, 0.25],
    [0.1, 0.8, 0.1],
    [0, 0, 1],
  ];
  const fig = alignmentFigure(m, source, target);
  assert.deepEqual(fig.layout.xaxis.ticktext, ["I", "␣am", "&lt;/s&gt;"]);
  assert.deepEqual(fig.layout.yaxis.ticktext, ["J", "'", "&lt;/s&gt;"]);
  assert.equal(fig.data[0].zmax, 1);
  assert.deepEqual(fig.data[0].z, m);
  assert.match(fig.data[0].text[1][1], /producing #2 ' \(reading J\)<br>from #1 ␣am/);
  assert.deepEqual(fig.highlight, [{ index: [0, 1, 2], along: "x", extent: 3 }]);
  assert.equal(plotText("a<b>&"), "a&lt;b&gt;&amp;");
});

test("the encoder figure is square over the English tokens", () => {
  const fig = encoderFigure(
    [
      [1, 0],
      [0.5, 0.5],
    ],
    ["I", "."],
  );
  assert.deepEqual(fig.layout.xaxis.ticktext, fig.layout.yaxis.ticktext);
  assert.equal(fig.highlight[0].along, "both");
});

test("rowShapes outlines one row across every column, none for -1", () => {
  assert.deepEqual(rowShapes(-1, 4), []);
  const [shape] = rowShapes(2, 4);
  assert.deepEqual([shape.x0, shape.x1, shape.y0, shape.y1], [-0.5, 3.5, 1.5, 2.5]);
});

test("alternatives: ranked, the first chosen, text trimmed", () => {
  const entry = {
    alternatives: [
      { text: " J'ai froid.", score: -0.5, log_prob: -3, finished: true },
      { text: " Il fait froid.", score: -0.7, log_prob: -4.2, finished: false },
    ],
  };
  assert.deepEqual(alternativeRows(entry), [
    { rank: 1, text: "J'ai froid.", score: -0.5, logProb: -3, finished: true, chosen: true },
    { rank: 2, text: "Il fait froid.", score: -0.7, logProb: -4.2, finished: false, chosen: false },
  ]);
});

test("the CSV has a row per French token produced and a column per English token", () => {
  const csv = alignmentCsv([[0.25, 0.75]], ["I", ","], ["<s>", "Je"]);
  assert.equal(csv, '"French \\ English","#0 I","#1 ,"\n"#1 Je",0.25,0.75\n');
});

test("pageUrl knows the translate page", () => {
  assert.equal(pageUrl("translate", { text: "I am cold.", beam: 4 }), "/translate?text=I+am+cold.&beam=4");
});
