// The pure parts of /learn: figures, the glossary, generation state, stream lines, links
// (node --test tests/js).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { ndjsonLines, pageUrl } from "../../static/js/api.js";
import { generateRequest, reduceGeneration, startGeneration } from "../../static/js/generation.js";
import { entries, GLOSSARY, lookup } from "../../static/js/glossary.js";
import {
  barsFigure,
  formatDiff,
  growingAttentionFigure,
  growingStatesFigure,
  linesFigure,
  memoryFigure,
  vectorFigure,
  weightsFigure,
} from "../../static/js/learnfig.js";
import { shownUnits, sized } from "../../static/js/stepmath.js";

test("vectorFigure: one heatmap row per vector, symmetric colours, masked rows greyed", () => {
  const fig = vectorFigure(
    [
      { name: "a", values: [1, -3, 2] },
      { name: "b", values: [0.5, null, 0] },
    ],
    { masked: [1] },
  );
  const [hm] = fig.data;
  assert.deepEqual(hm.z, [
    [1, -3, 2],
    [0.5, null, 0],
  ]);
  assert.deepEqual([hm.zmin, hm.zmax], [-3, 3]);
  assert.deepEqual(fig.layout.yaxis.ticktext, ["a", "b"]);
  assert.equal(fig.layout.shapes.length, 1);
  assert.deepEqual([fig.layout.shapes[0].y0, fig.layout.shapes[0].y1], [0.5, 1.5]);
});

test("weightsFigure: the model's bars, and a what-if only when τ is not 1, labelled as such", () => {
  const base = { strings: ["a", "b", "c"], visible: [true, true, false], weights: [0.25, 0.75, 0], query: 1 };
  const one = weightsFigure({ ...base, whatIf: [0.25, 0.75, 0], tau: 1 });
  assert.equal(one.data.length, 1);
  assert.deepEqual(one.data[0].y, [0.25, 0.75, 0]);
  const hot = weightsFigure({ ...base, whatIf: [0.4, 0.6, 0], tau: 2 });
  assert.equal(hot.data.length, 2);
  assert.deepEqual(hot.data[0].y, [0.25, 0.75, 0]); // the model's weights do not move
  assert.match(hot.data[1].name, /what-if, not the model: τ = 2/);
  assert.equal(hot.layout.annotations.length, 1); // the masked key
  assert.equal(hot.layout.annotations[0].x, 2);
});

test("memoryFigure: units in the order given, distances across, half-lives marked", () => {
  const survival = [
    [1, 0.9, 0.8],
    [1, 0.4, 0.1],
  ];
  const fig = memoryFigure(survival, { order: [1, 0], halfLife: [-1, 1] });
  assert.deepEqual(fig.data[0].z, [
    [1, 0.4, 0.1],
    [1, 0.9, 0.8],
  ]);
  assert.deepEqual([fig.data[0].zmin, fig.data[0].zmax], [0, 1]);
  assert.deepEqual(fig.data[1].x, [1]); // unit 1's half-life; unit 0 never halves
  assert.deepEqual(fig.data[1].y, [0]);
});

test("linesFigure and barsFigure: intervals as error bars, log axes, a reference line", () => {
  const lines = linesFigure([{ name: "m", x: [0, 16], y: [0.5, null], lo: [0.4, null], hi: [0.7, null] }], {
    logY: true,
    hline: { y: 1, text: "none" },
  });
  assert.deepEqual(lines.data[0].error_y.array, [0.7 - 0.5, null]);
  assert.deepEqual(lines.data[0].error_y.arrayminus, [0.5 - 0.4, null]);
  assert.equal(lines.layout.yaxis.type, "log");
  assert.equal(lines.layout.shapes[0].y0, 1);
  const bars = barsFigure(["x", "y"], [{ name: "s", values: [1, 2] }]);
  assert.deepEqual(bars.layout.xaxis.ticktext, ["x", "y"]);
  assert.equal(bars.layout.showlegend, false);
});

test("growing figures: one row (attention) or column (state) per generated token", () => {
  const strings = ["A", "B", "C", "D"];
  const att = growingAttentionFigure(
    [
      { position: 2, weights: [0.2, 0.3, 0.5] },
      { position: 3, weights: [0.1, 0.1, 0.1, 0.7] },
    ],
    strings,
  );
  assert.deepEqual(att.data[0].z, [
    [0.2, 0.3, 0.5, null],
    [0.1, 0.1, 0.1, 0.7],
  ]);
  assert.deepEqual(att.layout.yaxis.ticktext, ["C", "D"]);
  const st = growingStatesFigure(
    [
      { position: 2, values: [0.5, -1] },
      { position: 3, values: [0, 1] },
    ],
    strings,
    { range: [-1, 1] },
  );
  assert.deepEqual(st.data[0].z, [
    [0.5, 0],
    [-1, 1],
  ]);
  assert.deepEqual(st.layout.xaxis.ticktext, ["C", "D"]);
});

test("formatDiff", () => {
  assert.equal(formatDiff(0), "0");
  assert.equal(formatDiff(3.04e-8), "3.0e-8");
  assert.equal(formatDiff(Infinity), "∞");
});

test("glossary: every entry has a label and a text; every term the pages use is in it", () => {
  for (const [key, e] of Object.entries(GLOSSARY)) {
    assert.ok(e.label && e.text && e.text.length > 20, key);
  }
  assert.equal(lookup("toString"), null); // no inherited keys
  assert.equal(entries().length, Object.keys(GLOSSARY).length);
  // every part and gate a model declares has an entry (tooltips on Explore's selects)
  for (const key of ["resid", "h", "c", "i", "f", "g", "o", "r", "z", "n", "attention", "states"])
    assert.ok(lookup(key), key);
  // every data-term="..." and term("...") in the templates and modules
  const used = new Set();
  const scan = (dir, ext) => {
    for (const f of readdirSync(new URL(dir, import.meta.url), { recursive: true }).filter((x) => x.endsWith(ext))) {
      const code = readFileSync(new URL(dir + f, import.meta.url), "utf8");
      for (const m of code.matchAll(/data-term="([^"]+)"/g)) used.add(m[1]);
      for (const m of code.matchAll(/\bterm\("([^"]+)"/g)) used.add(m[1]);
      for (const m of code.matchAll(/"data-term": "([^"]+)"/g)) used.add(m[1]);
    }
  };
  scan("../../templates/", ".html");
  scan("../../static/js/", ".js");
  assert.ok(used.size > 25, `found only ${used.size}`);
  for (const key of used) assert.ok(lookup(key), `"${key}" is used but not in the glossary`);
});

test("generateRequest: greedy sends no sampling options; sampling always sends a seed", () => {
  const o = { gmodel: "m", strategy: "greedy", temp: 0.7, topk: 5, seed: -1, max: 12 };
  assert.deepEqual(generateRequest(o, "Hi"), { model: "m", prompt: "Hi", max_new_tokens: 12, strategy: "greedy" });
  const s = generateRequest({ ...o, strategy: "sample" }, "Hi", () => 0.5);
  assert.deepEqual(s, {
    model: "m",
    prompt: "Hi",
    max_new_tokens: 12,
    strategy: "sample",
    temperature: 0.7,
    top_k: 5,
    seed: 2 ** 30,
  });
  assert.ok(Number.isSafeInteger(generateRequest({ ...o, strategy: "sample" }, "Hi", () => 0.999999).seed));
  const fixed = generateRequest({ ...o, strategy: "sample", seed: 7, topk: 0 }, "Hi");
  assert.equal(fixed.seed, 7);
  assert.ok(!("top_k" in fixed));
});

test("reduceGeneration: the prompt, then each token, then the ids", () => {
  let g = startGeneration();
  g = reduceGeneration(g, { type: "start", prompt: { strings: ["A", "B"] }, seed: 3 });
  g = reduceGeneration(g, { type: "token", string: "C", finish: null });
  g = reduceGeneration(g, { type: "token", string: "D", finish: "length" });
  g = reduceGeneration(g, { type: "end", ids: [1, 2, 3, 4] });
  assert.deepEqual(g.strings, ["A", "B", "C", "D"]);
  assert.equal(g.tokens.length, 2);
  assert.equal(g.finish, "length");
  assert.equal(g.seed, 3);
  assert.deepEqual(g.ids, [1, 2, 3, 4]);
});

test("ndjsonLines: lines split across chunks, several in one chunk, multi-byte characters cut", () => {
  const enc = new TextEncoder();
  const lines = ndjsonLines();
  const bytes = enc.encode('{"a":1}\n{"b":"é␣"}\n{"c"');
  assert.deepEqual(lines.push(bytes.slice(0, 12)), [{ a: 1 }]);
  assert.deepEqual(lines.push(bytes.slice(12, 16)), []); // inside "é"
  assert.deepEqual(lines.push(bytes.slice(16)), [{ b: "é␣" }]);
  assert.deepEqual(lines.push(enc.encode(":3}\n")), [{ c: 3 }]);
  assert.deepEqual(lines.push(undefined, true), []);
});

test("pageUrl: the pages' addresses with their fields, empty ones left out", () => {
  assert.equal(pageUrl("explore", { text: "a b", model: "m", layer: 1, token: null }), "/?text=a+b&model=m&layer=1");
  assert.equal(pageUrl("compare", { text: "x", models: ["m", "n"] }), "/compare?text=x&models=m%2Cn");
  assert.equal(pageUrl("learn"), "/learn");
});

test("sized: about L tokens from a sentence, new text for every run", () => {
  const text = "one two three four"; // say 4 tokens
  const long = sized(text, 4, 16);
  assert.ok(long.length >= 60 && long.length <= 80, long);
  assert.ok(long.startsWith("one two"));
  assert.notEqual(sized(text, 4, 16, 1), long);
  assert.equal(sized(text, 4, 2), "one two");
});

test("shownUnits: the chosen units in range, else the most active", () => {
  assert.deepEqual(shownUnits([3, 99, 1], [0, 0, 0, 0]), [3, 1]);
  assert.deepEqual(shownUnits([], [0.1, -0.9, 0.5, 0.2], 2), [1, 2]);
});
