// State <-> URL conversion (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { createLane, createStore, readQuery, writeQuery } from "../../static/js/state.js";

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

import { createFocus, syncUrl } from "../../static/js/state.js";

/** A scheduler the test runs by hand: `flush()` runs what is due, like the next frame. */
function frames() {
  let queue = new Map();
  let next = 1;
  return {
    schedule: (fn) => {
      queue.set(next, fn);
      return next++;
    },
    cancel: (id) => queue.delete(id),
    flush() {
      const due = [...queue.values()];
      queue = new Map();
      for (const fn of due) fn();
    },
    pending: () => queue.size,
  };
}

test("the focus is the hovered token, else the selected one", () => {
  const focus = createFocus(frames());
  assert.equal(focus.current(), null);
  focus.select(2, "strip");
  assert.equal(focus.current(), 2);
  focus.hover(4, "plot");
  assert.deepEqual([focus.current(), focus.hovered(), focus.selected()], [4, 4, 2]);
  focus.hover(null, "plot");
  assert.equal(focus.current(), 2);
  focus.select(null, null);
  assert.equal(focus.current(), null);
});

test("focus subscribers hear once per frame, the latest token and its source", () => {
  const clock = frames();
  const focus = createFocus(clock);
  const heard = [];
  focus.subscribe((t, source) => heard.push([t, source]));
  focus.hover(1, "a");
  focus.hover(2, "b");
  focus.hover(3, "c");
  assert.deepEqual(heard, []); // nothing before the frame
  assert.equal(clock.pending(), 1); // earlier frames were cancelled
  clock.flush();
  assert.deepEqual(heard, [[3, "c"]]);
});

test("hovering the token already hovered is no change; selecting again is", () => {
  const clock = frames();
  const focus = createFocus(clock);
  const heard = [];
  focus.subscribe((t) => heard.push(t));
  focus.hover(1, "a");
  clock.flush();
  focus.hover(1, "a");
  assert.equal(clock.pending(), 0);
  focus.select(1, "a");
  focus.hover(undefined, "a"); // leaving: undefined and null are the same "none"
  clock.flush();
  assert.deepEqual(heard, [1, 1]);
});

test("a focus subscriber can unsubscribe", () => {
  const clock = frames();
  const focus = createFocus(clock);
  const heard = [];
  const stop = focus.subscribe((t) => heard.push(t));
  stop();
  focus.select(3, null);
  clock.flush();
  assert.deepEqual(heard, []);
});

test("syncUrl writes the state at once and later only for the schema's fields", () => {
  const written = [];
  const frameQueue = [];
  Object.assign(globalThis, {
    location: { pathname: "/", search: "" },
    history: {
      replaceState: (_s, _t, url) => {
        written.push(url);
        globalThis.location.search = url.slice(1);
      },
    },
    requestAnimationFrame: (fn) => frameQueue.push(fn),
    cancelAnimationFrame: () => {},
  });
  try {
    const store = createStore({ text: "hi", models: [], layer: 1, sink: false, thr: 0.1, units: [] });
    syncUrl(store, SCHEMA);
    assert.deepEqual(written, ["/?text=hi&layer=1"]); // the state as it is, normalised, at once
    store.set({ trace: { big: "object" } }); // page data outside the schema: no URL work
    assert.equal(frameQueue.length, 0);
    store.set({ layer: 0, sink: true });
    for (const fn of frameQueue.splice(0)) fn();
    assert.deepEqual(written, ["/?text=hi&layer=1", "/?text=hi&sink=1"]);
  } finally {
    for (const key of ["location", "history", "requestAnimationFrame", "cancelAnimationFrame"]) delete globalThis[key];
  }
});

test("createLane: tasks run one at a time in order; a failure does not block the next", async () => {
  const lane = createLane();
  const log = [];
  let running = 0;
  const task =
    (name, fail = false) =>
    async () => {
      running += 1;
      assert.equal(running, 1, "two tasks at once");
      log.push(`start ${name}`);
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`end ${name}`);
      running -= 1;
      if (fail) throw new Error(name);
      return name;
    };
  const results = await Promise.allSettled([lane(task("a")), lane(task("b", true)), lane(task("c"))]);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  assert.deepEqual(
    results.map((r) => r.value ?? r.reason.message),
    ["a", "b", "c"],
  );
  assert.equal(results[1].status, "rejected");
});
