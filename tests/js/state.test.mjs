// State <-> URL conversion (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createStore, readQuery, writeQuery } from "../../static/js/state.js";

const SCHEMA = {
  text: { type: "string", fallback: "" },
  models: { type: "list", fallback: [] },
  layer: { type: "int", fallback: 0 },
  sink: { type: "bool", fallback: false },
  thr: { type: "number", fallback: 0.1 },
  units: { type: "ints", fallback: [] },
};

test("state round-trips through the query string, unicode and commas included", () => {
  const state = {
    text: "the cat, the café ␣ & co",
    models: ["transformer", "lstm"],
    layer: 2,
    sink: true,
    thr: 0.05,
    units: [3, 17],
  };
  assert.deepEqual(readQuery(writeQuery(state, SCHEMA), SCHEMA), state);
});

test("defaults are left out of the link", () => {
  assert.equal(writeQuery({ text: "hi", models: [], layer: 0, sink: false, thr: 0.1, units: [] }, SCHEMA), "text=hi");
});

test("malformed values fall back to defaults", () => {
  const st = readQuery("layer=two&thr=x&units=1,a,2", SCHEMA);
  assert.equal(st.layer, 0);
  assert.equal(st.thr, 0.1);
  assert.deepEqual(st.units, [1, 2]);
});

test("the store notifies only real changes, with the changed keys", () => {
  const store = createStore({ a: 1, b: [1] });
  const seen = [];
  store.subscribe((_, changed) => seen.push([...changed]));
  store.set({ a: 1, b: [1] });
  store.set({ a: 2 });
  assert.deepEqual(seen, [["a"]]);
});
