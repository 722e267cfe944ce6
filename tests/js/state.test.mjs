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

/** A fake address bar and history for syncUrl: `entries` (the URLs, oldest first), `at`
 * (the current one), `back()`, and the queued animation frames run by `frames()`. */
function fakeBrowser() {
  const queue = new Map(); // frame id -> callback
  let ids = 0;
  const h = { entries: ["/"], at: 0 };
  const go = (url) => {
    globalThis.location.search = url.slice(1);
  };
  Object.assign(globalThis, {
    location: { pathname: "/", search: "" },
    history: {
      replaceState: (_s, _t, url) => {
        h.entries[h.at] = url;
        go(url);
      },
      pushState: (_s, _t, url) => {
        h.entries.splice(h.at + 1, Infinity, url);
        h.at += 1;
        go(url);
      },
    },
    requestAnimationFrame: (fn) => {
      ids += 1;
      queue.set(ids, fn);
      return ids;
    },
    cancelAnimationFrame: (id) => queue.delete(id),
  });
  return {
    h,
    pendingFrames: () => queue.size,
    frames: () => {
      const due = [...queue.values()];
      queue.clear();
      for (const fn of due) fn();
    },
    back() {
      h.at -= 1;
      go(h.entries[h.at]);
    },
    done() {
      for (const key of ["location", "history", "requestAnimationFrame", "cancelAnimationFrame"])
        delete globalThis[key];
    },
  };
}

test("syncUrl writes the state at once and later only for the schema's fields", () => {
  const b = fakeBrowser();
  try {
    const store = createStore({ text: "hi", models: [], layer: 1, sink: false, thr: 0.1, units: [] });
    syncUrl(store, SCHEMA);
    assert.deepEqual(b.h.entries, ["/?text=hi&layer=1"]); // the state as it is, normalised, at once
    store.set({ trace: { big: "object" } }); // page data outside the schema: no URL work
    assert.equal(b.pendingFrames(), 0);
    store.set({ layer: 0, sink: true });
    b.frames();
    assert.deepEqual(b.h.entries, ["/?text=hi&sink=1"]); // nothing pushed: the entry replaced
  } finally {
    b.done();
  }
});

test("syncUrl: deliberate changes and committed texts make entries; typing and the rest replace", () => {
  const b = fakeBrowser();
  try {
    const store = createStore({ text: "hi", models: [], layer: 0, sink: false, thr: 0.1, units: [] });
    const url = syncUrl(store, SCHEMA, { pushed: ["layer", "models"], held: ["text"] });
    store.set({ text: "hi the" });
    store.set({ text: "hi there" }); // typing: the URL keeps the text traced
    b.frames();
    assert.deepEqual(b.h.entries, ["/?text=hi"]);
    url.commit(); // the page sends it
    url.commit(); // the same text again: no new entry
    assert.deepEqual(b.h.entries, ["/?text=hi", "/?text=hi+there"]);
    store.set({ layer: 2 });
    b.frames();
    store.set({ sink: true });
    b.frames();
    assert.deepEqual(b.h.entries, ["/?text=hi", "/?text=hi+there", "/?text=hi+there&layer=2&sink=1"]);
    // Back: the store follows the URL, and the page's own normalising replaces, not pushes
    b.back();
    const heard = [];
    const stop = store.subscribe((_st, changed) => {
      heard.push([...changed].sort().join());
      if (changed.has("layer")) store.set({ thr: 0.2 });
    });
    const changed = url.restore();
    stop();
    assert.deepEqual([...changed].sort(), ["layer", "sink"]);
    assert.deepEqual(heard, ["layer,sink", "thr"]);
    assert.equal(store.get().layer, 0);
    b.frames();
    assert.deepEqual(b.h.entries, ["/?text=hi", "/?text=hi+there&thr=0.2", "/?text=hi+there&layer=2&sink=1"]);
    assert.equal(b.h.at, 1);
    // a restored text is the one committed: running it adds no entry
    b.back();
    assert.deepEqual([...url.restore()].sort(), ["text", "thr"]);
    url.commit();
    assert.equal(b.h.at, 0);
  } finally {
    b.done();
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
