// View controllers: which a model gets, and what their views and pointer events mean
// (node --test tests/js).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { activeController, controllersFor, normaliseView } from "../../static/js/controllers/index.js";
import { orderByVariance, tensorMatrix } from "../../static/js/figures.js";
import {
  catalog,
  GRU,
  kindOf,
  LSTM,
  model,
  RNN,
  STRINGS,
  state,
  TRANSFORMER,
  traceOf,
  UNAVAILABLE,
} from "./fixtures.mjs";

const CAT = catalog();
const made = (m) => controllersFor(CAT, m);
const views = (c) => c.views.map((v) => v.value);

test("a model gets a controller per declared attention kind, then one for its states and gates", () => {
  assert.deepEqual(
    made(TRANSFORMER).map((c) => c.id),
    ["attention:self", "states"],
  );
  assert.deepEqual(views(made(TRANSFORMER)[0]), ["head", "mean", "max", "rollout"]);
  assert.deepEqual(views(made(TRANSFORMER)[1]), ["resid"]);
  assert.deepEqual(
    made(LSTM).map((c) => c.id),
    ["states"],
  );
  assert.deepEqual(views(made(LSTM)[0]), ["h", "c", "i", "f", "g", "o"]);
  assert.deepEqual(views(made(GRU)[0]), ["h", "r", "z", "n"]);
  assert.deepEqual(views(made(RNN)[0]), ["h"]);
  assert.deepEqual(made(UNAVAILABLE), []);
});

test("views come from the declared spec and the registry, never from the name", () => {
  // a model named like a recurrent net that declares attention and a residual stream
  const odd = model("lstm", {
    architecture: "mystery",
    n_heads: 3,
    parts: ["attention", "resid", "predictions"],
    attention: [kindOf("self", 2, 3)],
  });
  assert.deepEqual(
    made(odd).map((c) => c.id),
    ["attention:self", "states"],
  );
  const [, states] = made(odd);
  assert.deepEqual(states.views, [{ value: "resid", label: "Residual stream" }]);
  assert.equal(states.label, "Residual stream");
  assert.deepEqual(made(LSTM)[0].views.slice(0, 3), [
    { value: "h", label: "Hidden state h" },
    { value: "c", label: "Cell state c" },
    { value: "i", label: "input gate i" },
  ]);
  assert.equal(made(LSTM)[0].label, "States and gates");
  assert.deepEqual(made(LSTM)[0].parts, ["h", "c", "gates"]);
  assert.deepEqual(made(TRANSFORMER)[0].parts, ["attention"]);
});

test("another attention kind over the same tokens is one more controller; cross attention waits for its own", () => {
  const encdec = model("encdec", {
    n_heads: 2,
    parts: ["attention", "predictions"],
    roles: ["source", "target"],
    output_role: "target",
    attention: [
      kindOf("encoder_self", 2, 2, ["source", "source"]),
      kindOf("decoder_self", 1, 4, ["target", "target"]),
      kindOf("cross", 1, 4, ["target", "source"]),
    ],
  });
  const cs = made(encdec);
  assert.deepEqual(
    cs.map((c) => c.id),
    ["attention:decoder_self"],
  );
  assert.deepEqual(views(cs[0]), [
    "decoder_self.head",
    "decoder_self.mean",
    "decoder_self.max",
    "decoder_self.rollout",
  ]);
  assert.equal(activeController(cs, "decoder_self.max"), cs[0]);
  assert.deepEqual(cs[0].normalise(state({ layer: 3, head: 9 })), { layer: 0, head: 3 });
});

test("the view picks the controller; a view the model lacks becomes its first", () => {
  const cs = made(TRANSFORMER);
  const [attention, states] = cs;
  assert.equal(activeController(cs, "resid"), states);
  assert.equal(activeController(cs, "rollout"), attention);
  assert.equal(activeController(cs, "h"), attention);
  assert.equal(activeController([], "h"), null);
  assert.deepEqual(normaliseView(made(TRANSFORMER), state({ view: "c", layer: 5, head: 7 })), {
    view: "head",
    layer: 1,
    head: 1,
  });
  assert.deepEqual(normaliseView(made(LSTM), state({ view: "rollout", layer: 5 })), { view: "h", layer: 1 });
  assert.deepEqual(normaliseView(made(RNN), state({ view: "h", layer: 2 })), { view: "h", layer: 2 });
  assert.deepEqual(normaliseView(made(GRU), state({ view: "o" })), { view: "h", layer: 0 });
  assert.deepEqual(normaliseView([], state()), {});
});

test("a controller knows whether a trace carries what it draws", () => {
  const [attention, states] = made(TRANSFORMER);
  const trace = traceOf(TRANSFORMER);
  assert.ok(attention.has(trace) && states.has(trace));
  assert.ok(!states.has({ ...trace, parts: { attention: trace.parts.attention } }));
  assert.ok(!made(LSTM)[0].has(traceOf(GRU)));
});

test("attention: a point's row is its token, one further on when the first token is hidden", () => {
  const [c] = made(TRANSFORMER);
  const trace = traceOf(TRANSFORMER);
  assert.equal(c.token(trace, state({ view: "head" }), "main", { x: 0, y: 3 }), 3);
  assert.equal(c.token(trace, state({ view: "head", sink: true }), "main", { x: 0, y: 3 }), 4);
  assert.deepEqual(c.click(trace, state({ view: "mean" }), "main", { x: 1, y: 2 }), { token: 2 });
  const main = c.main(trace, state({ view: "head", sink: true }));
  assert.deepEqual(main.fig.layout.yaxis.ticktext, STRINGS.slice(1));
  assert.deepEqual(main.csv.rowLabels, ["#1 ␣cat", "#2 ␣saw", "#3 ␣the", "#4 ␣cat"]);
  assert.equal(main.csv.name, "head");
  assert.equal(main.name, "attention");
});

test("states: a point's column is its token whatever the unit row (the model-switch bug)", () => {
  const [c] = made(LSTM);
  const trace = traceOf(LSTM);
  for (const y of [0, 1, 4, 5]) assert.equal(c.token(trace, state({ view: "h" }), "main", { x: 3, y }), 3);
  assert.equal(c.token(trace, state({ view: "h" }), "lines", { x: 2, y: 0.5 }), 2);
});

test("states: a click selects the token and plots the unit on its row, in the order shown", () => {
  const [c] = made(LSTM);
  const trace = traceOf(LSTM);
  const st = state({ model: "lstm", view: "c", layer: 1, units: [5] });
  assert.deepEqual(c.click(trace, st, "main", { x: 2, y: 4 }), { token: 2, patch: { units: [5, 4] } });
  assert.deepEqual(c.click(trace, st, "main", { x: 2, y: 5 }), { token: 2, patch: { units: [5] } }); // no repeats
  const full = state({ model: "lstm", view: "h", units: [0, 1, 2, 3, 4, 5, 6, 7] });
  assert.deepEqual(c.click(trace, full, "main", { x: 0, y: 5 }).patch.units, [0, 1, 2, 3, 4, 6, 7, 5]);
  const byVariance = state({ model: "lstm", view: "f", sort: "variance" });
  const order = orderByVariance(tensorMatrix(trace.parts.gates.f, 0));
  assert.deepEqual(c.click(trace, byVariance, "main", { x: 1, y: 0 }).patch.units, [order[0]]);
  assert.deepEqual(c.click(trace, st, "lines", { x: 3, y: 0.1 }), { token: 3 });
});

test("states: the large map, lines and CSV are of the chosen part and layer", () => {
  const [c] = made(GRU);
  const trace = traceOf(GRU);
  const st = state({ model: "gru", view: "z", layer: 1 });
  const main = c.main(trace, st);
  assert.equal(main.fig.layout.title.text, "Layer 1 · update gate z");
  const want = tensorMatrix(trace.parts.gates.z, 1);
  assert.deepEqual(
    main.fig.data[0].z[2],
    want.map((row) => row[2]),
  ); // unit 2 over positions
  assert.equal(main.csv.name, "z-layer1");
  assert.equal(main.csv.corner, "token \\ z");
  assert.equal(main.csv.colLabels.length, 6);
  assert.equal(c.lines(trace, st).fig.data.length, 3); // the 3 units of highest variance
  assert.deepEqual(
    c.lines(trace, { ...st, units: [1, 4] }).fig.data.map((d) => d.name),
    ["unit 1", "unit 4"],
  );
});

test("redraws: attention on its display options, states on theirs and on the token when sorting by it", () => {
  const [attention] = made(TRANSFORMER);
  const [states] = made(LSTM);
  assert.ok(attention.redraws(new Set(["sink"]), state()));
  assert.ok(!attention.redraws(new Set(["token"]), state()));
  assert.ok(!attention.redraws(new Set(["sort"]), state()));
  assert.ok(states.redraws(new Set(["units"]), state()));
  assert.ok(!states.redraws(new Set(["token"]), state({ sort: "index" })));
  assert.ok(states.redraws(new Set(["token"]), state({ sort: "token" })));
  assert.ok(!states.redraws(new Set(["head"]), state()));
});

test("thumbnails: the cell shown large and the pick of a cell agree, for every controller", () => {
  for (const m of [TRANSFORMER, LSTM, GRU, RNN]) {
    const trace = traceOf(m);
    for (const c of made(m)) {
      for (const view of views(c).filter((v) => v !== "mean" && v !== "max" && v !== "rollout")) {
        for (let layer = 0; layer < m.spec.n_layers; layer++) {
          const st = {
            ...state({ model: m.name, view, layer, head: 1 }),
            ...c.normalise(state({ view, layer, head: 1 })),
          };
          const grid = c.grid(trace, st);
          assert.ok(grid.cell >= 0, `${m.name} ${view} ${layer}`);
          const picked = c.pick(trace, grid.cell);
          assert.equal(picked.view, view);
          assert.equal(picked.layer, st.layer);
          if (picked.head !== undefined) assert.equal(picked.head, st.head);
        }
      }
    }
  }
  const [attention] = made(TRANSFORMER);
  assert.equal(attention.grid(traceOf(TRANSFORMER), state({ view: "mean" })).cell, -1); // no single head
  assert.equal(
    made(LSTM)[0]
      .grid(traceOf(LSTM), state({ view: "i" }))
      .names.cellLabel(4),
    "Layer 0, input gate i",
  );
});

test("each controller's controls read the state from their element and write it back", () => {
  const [attention] = made(TRANSFORMER);
  const [states] = made(LSTM);
  const control = (c, id) => c.controls.find((x) => x.id === id);
  const node = (value) => ({ value, hidden: false, step: "", ownerDocument: { activeElement: null } });
  assert.deepEqual(control(attention, "layer").read(node("1")), { layer: 1 });
  assert.deepEqual(control(attention, "filter-value").read(node("2.4"), state({ filter: "topk" })), { k: 2 });
  assert.deepEqual(control(attention, "filter-value").read(node("0.25"), state({ filter: "threshold" })), {
    thr: 0.25,
  });
  assert.equal(control(attention, "filter-value").read(node("-1"), state({ filter: "threshold" })), null);
  const fv = node("");
  control(attention, "filter-value").write(fv, state({ filter: "topk", k: 4 }));
  assert.deepEqual([fv.hidden, fv.value, fv.step], [false, 4, "1"]);
  assert.deepEqual(control(states, "part").read(node("g")), { view: "g" });
  assert.deepEqual(control(states, "rlayer").read(node("1")), { layer: 1 });
  assert.deepEqual(control(states, "units").read(node("3, 17 x 2,1,2,3,4,5,6,7")), {
    units: [3, 17, 2, 1, 2, 3, 4, 5],
  });
  const units = node("");
  control(states, "units").write(units, state({ units: [4, 9] }));
  assert.equal(units.value, "4, 9");
});

test("the pages never branch on a model's family or name", () => {
  const dir = new URL("../../static/js/", import.meta.url);
  const files = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith(".js"));
  assert.ok(files.length > 10);
  for (const file of files) {
    const code = readFileSync(new URL(file, dir), "utf8");
    assert.doesNotMatch(code, /family\s*[!=]==\s*["'`]|["'`]\s*[!=]==\s*\S*family/, `${file} compares a family`);
    assert.doesNotMatch(code, /["'](transformer|lstm|gru|rnn)["']/i, `${file} names an architecture`);
  }
});
