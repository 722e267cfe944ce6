// Form controls bound to the page state (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { checkbox, createBinder, select } from "../../static/js/controls.js";
import { createStore } from "../../static/js/state.js";

/** An element stand-in: a value, a checked flag and event listeners to fire by hand. */
function fakeNode(value = "") {
  const listeners = {};
  return {
    value,
    checked: false,
    disabled: false,
    dataset: {},
    ownerDocument: { activeElement: null },
    addEventListener: (event, fn) => {
      listeners[event] = [...(listeners[event] ?? []), fn];
    },
    fire: (event) => {
      for (const fn of listeners[event] ?? []) fn();
    },
    count: (event) => (listeners[event] ?? []).length,
  };
}

test("a select reads ints or strings and writes the state back, greyed out on request", () => {
  const layer = select("layer", "layer", { int: true, disabled: (st) => st.view !== "head" });
  const node = fakeNode("2");
  assert.deepEqual(layer.read(node), { layer: 2 });
  layer.write(node, { layer: 1, view: "mean" });
  assert.deepEqual([node.value, node.disabled], ["1", true]);
  assert.deepEqual(select("sort", "sort").read(fakeNode("variance")), { sort: "variance" });
});

test("a checkbox reads and writes a boolean", () => {
  const sink = checkbox("sink", "sink");
  const node = fakeNode();
  node.checked = true;
  assert.deepEqual(sink.read(node), { sink: true });
  sink.write(node, { sink: false });
  assert.equal(node.checked, false);
});

test("the binder wires an element once and asks the controller active at the event", () => {
  // two controllers share the element "layer" but mean different things by it
  const a = { id: "a", controls: [select("layer", "layer", { int: true })] };
  const b = { id: "b", controls: [{ id: "layer", event: "change", read: (n) => ({ depth: n.value }), write() {} }] };
  const nodes = { layer: fakeNode("0") };
  const store = createStore({ layer: 0, depth: "" });
  let active = a;
  const binder = createBinder(
    store,
    () => active,
    (id) => nodes[id],
  );
  binder.sync(a);
  binder.sync(a);
  binder.sync(b);
  assert.equal(nodes.layer.count("change"), 1);
  nodes.layer.value = "1";
  nodes.layer.fire("change");
  assert.deepEqual(store.get(), { layer: 1, depth: "" });
  active = b; // e.g. after a model switch
  nodes.layer.value = "3";
  nodes.layer.fire("change");
  assert.deepEqual(store.get(), { layer: 1, depth: "3" });
  active = null; // no controller: the event changes nothing
  nodes.layer.fire("change");
  assert.deepEqual(store.get(), { layer: 1, depth: "3" });
});

test("sync writes the state into every control of the controller", () => {
  const c = { controls: [select("layer", "layer"), checkbox("sink", "sink")] };
  const nodes = { layer: fakeNode(), sink: fakeNode() };
  const store = createStore({ layer: 1, sink: true });
  createBinder(
    store,
    () => c,
    (id) => nodes[id],
  ).sync(c);
  assert.deepEqual([nodes.layer.value, nodes.sink.checked], ["1", true]);
});
