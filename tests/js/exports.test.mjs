// Exports: what a file records of the view, and no more digits than the server sent.

import assert from "node:assert/strict";
import { test } from "node:test";

import { exportFigure, sentPrecision, toCsv } from "../../static/js/figures.js";
import { attentionRecord, exportName, recordText, stateRecord } from "../../static/js/views.js";

const ST = { view: "head", layer: 1, head: 2, sink: true, filter: "topk", k: 3, thr: 0.1, scale: "abs" };

test("an attention export records view, layer, head, sink, filter and colours", () => {
  const record = attentionRecord(ST);
  assert.deepEqual(record, { view: "head", layer: 1, head: 2, sink: "hidden", filter: "top3", colours: "abs" });
  assert.equal(
    exportName({ model: "transformer", ...record }),
    "attenzione-transformer-head-layer1-head2-sink-hidden-filter-top3-colours-abs",
  );
  const mean = attentionRecord({ ...ST, view: "mean", sink: false, filter: "threshold", scale: "p99" });
  assert.deepEqual(mean, { view: "mean", layer: 1, sink: "shown", filter: "ge0.1", colours: "p99" }); // no head
  assert.equal(
    recordText({ model: "m", ...mean }),
    "model m · view mean · layer 1 · sink shown · filter ge0.1 · colours p99",
  );
});

test("a state export records the part, layer and whether units are scaled", () => {
  const name = exportName({ model: "lstm", ...stateRecord({ view: "c", layer: 0, unitnorm: true }) });
  assert.equal(name, "attenzione-lstm-c-layer0-units-scaled");
});

test("CSV values keep the precision sent: JSON decimals, float16's 4 significant digits", () => {
  assert.equal(sentPrecision({ encoding: "json", decimals: 2 }).round(0.123456), 0.12);
  const f16 = sentPrecision({ encoding: "f16", decimals: 4 });
  assert.equal(f16.round(0.000123456), 0.0001235);
  assert.equal(f16.round(123.456), 123.5);
  assert.match(f16.text, /float16.*4 significant digits/);
  const csv = toCsv([[0.123456, null]], ["r"], ["a", "b"], "corner", f16.round);
  assert.equal(csv, '"corner","a","b"\n"r",0.1235,\n');
});

test("an exported figure is on white, without the page's marks or hints", () => {
  const fig = {
    data: [{ z: [[1]] }],
    layout: { paper_bgcolor: "rgba(0,0,0,0)", title: { text: "All · click to enlarge" }, shapes: [{ own: 1 }] },
    exportLayout: { title: { text: "All" } },
  };
  const out = exportFigure(fig);
  assert.equal(out.layout.paper_bgcolor, "#ffffff");
  assert.equal(out.layout.title.text, "All");
  assert.deepEqual(out.layout.shapes, [{ own: 1 }]); // the figure's own shapes only
  assert.equal(out.data, fig.data);
});
