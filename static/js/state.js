/**
 * Page state: a tiny store (get / set / subscribe) whose typed fields are also the URL (pure
 * conversion both ways, driven by a schema), and the token focus shared by every view. The
 * URL is the permalink: reloading or sharing it restores the view. Pure apart from
 * `syncUrl`; unit-tested under node.
 */

/** Field types: how a value is read from and written to the query string. */
export const types = {
  string: { parse: (s) => s, format: (v) => v },
  int: { parse: (s) => (/^-?\d+$/.test(s) ? Number(s) : undefined), format: String },
  number: { parse: (s) => (Number.isFinite(Number(s)) && s !== "" ? Number(s) : undefined), format: String },
  bool: { parse: (s) => s === "1" || s === "true", format: (v) => (v ? "1" : "0") },
  list: { parse: (s) => s.split(",").filter(Boolean), format: (v) => v.join(",") },
  ints: {
    parse: (s) =>
      s
        .split(",")
        .filter((x) => /^\d+$/.test(x))
        .map(Number),
    format: (v) => v.join(","),
  },
};

/** State from a query string: fields missing or malformed keep their defaults. */
export function readQuery(search, schema) {
  const params = new URLSearchParams(search);
  const out = {};
  for (const [key, { type, fallback }] of Object.entries(schema)) {
    const raw = params.get(key);
    const value = raw === null ? undefined : types[type].parse(raw);
    out[key] = value === undefined ? structuredClone(fallback) : value;
  }
  return out;
}

/** Query string for `state`; fields equal to their default are left out (short links). */
export function writeQuery(state, schema) {
  const params = new URLSearchParams();
  for (const [key, { type, fallback }] of Object.entries(schema)) {
    const value = state[key];
    if (value === undefined || value === null) continue;
    const text = types[type].format(value);
    if (text !== types[type].format(fallback)) params.set(key, text);
  }
  return params.toString();
}

/** A store: `set(patch)` merges and notifies subscribers with (state, changedKeys). */
export function createStore(initial) {
  let state = { ...initial };
  const subscribers = new Set();
  return {
    get: () => state,
    set(patch) {
      const changed = Object.keys(patch).filter((k) => !sameValue(state[k], patch[k]));
      if (!changed.length) return;
      state = { ...state, ...patch };
      for (const fn of subscribers) fn(state, new Set(changed));
    },
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}

function sameValue(a, b) {
  return a === b || (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]));
}

/**
 * Keep the address bar in step with the store, from now on: the state as it is now is
 * written at once (replacing the entry), later changes on the next frame. Only the schema's
 * fields go into the URL; anything else the page keeps in its store stays out.
 *
 * History (Back/Forward) steps through deliberate changes only: a change to a `pushed`
 * field (model, layer, head, view...) makes a new entry, any other change replaces the
 * entry (typing must not flood the back button). `held` fields (the text) reach the URL only
 * on `commit()`, when the page sends a request with them: a new entry if they changed.
 * `restore()` (on popstate) sets the store from the URL and returns the changed keys; what
 * the page changes meanwhile (normalising the state) replaces the entry. Only the browser
 * pages call this.
 */
export function syncUrl(store, schema, { pushed = [], held = [] } = {}) {
  const pick = (state) => Object.fromEntries(held.map((key) => [key, state[key]]));
  let committed = pick(store.get()); // the held fields as the URL has them
  let push = false; // the write due makes a new entry
  let restoring = false;
  let pending = 0;
  const write = () => {
    cancelAnimationFrame(pending);
    const query = writeQuery({ ...store.get(), ...committed }, schema);
    const url = `${location.pathname}${query ? `?${query}` : ""}`;
    if (url !== `${location.pathname}${location.search}`) {
      if (push) history.pushState(null, "", url);
      else history.replaceState(null, "", url);
    }
    push = false;
  };
  write();
  store.subscribe((_state, changed) => {
    const keys = [...changed].filter((key) => key in schema && !held.includes(key));
    if (!keys.length) return;
    if (!restoring && keys.some((key) => pushed.includes(key))) push = true;
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(write);
  });
  return {
    commit() {
      const now = pick(store.get());
      if (held.every((key) => sameValue(now[key], committed[key]))) return;
      committed = now;
      push = true;
      write();
    },
    restore() {
      const next = readQuery(location.search, schema);
      const before = store.get();
      cancelAnimationFrame(pending);
      push = false;
      committed = pick(next);
      restoring = true;
      try {
        store.set(next);
      } finally {
        restoring = false;
      }
      return new Set(Object.keys(next).filter((key) => !sameValue(before[key], next[key])));
    },
  };
}

/** A lane: `lane(task)` runs `task()` (a function returning a promise) once every task
 * queued before it has settled, and resolves or rejects as it does. One failure does not
 * block the tasks after it. */
export function createLane() {
  let tail = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => {});
    return run;
  };
}

/** Call `fn` after `ms` of quiet; `.now()` runs it at once, `.cancel()` drops it. */
export function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.now = (...args) => {
    clearTimeout(timer);
    fn(...args);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

const nextFrame = (fn) => (globalThis.requestAnimationFrame ?? ((f) => setTimeout(f, 0)))(fn);
const cancelFrame = (id) => (globalThis.cancelAnimationFrame ?? clearTimeout)(id);

/**
 * The focused token, shared by every view of a page: the token under the pointer
 * (`hover`, transient) and the selected one (`select`, sticky); `current()` is the hovered
 * token, else the selected one. Subscribers get (token, source) at most once per frame
 * (`schedule`: requestAnimationFrame in the browser; tests pass their own), `source` being
 * whatever the page passed as the view that moved the focus (it need not redraw itself).
 */
export function createFocus({ schedule = nextFrame, cancel = cancelFrame } = {}) {
  let hovered = null;
  let selected = null;
  let source = null;
  let pending = null;
  const subscribers = new Set();
  const emit = (from) => {
    source = from;
    if (pending !== null) cancel(pending);
    pending = schedule(() => {
      pending = null;
      for (const fn of subscribers) fn(hovered ?? selected, source);
    });
  };
  return {
    /** The token under the pointer, or null when it leaves (no-op if unchanged). */
    hover(t, from) {
      const next = t ?? null;
      if (next === hovered) return;
      hovered = next;
      emit(from);
    },
    /** Select token `t` (null: none). */
    select(t, from) {
      selected = t ?? null;
      emit(from);
    },
    current: () => hovered ?? selected,
    hovered: () => hovered,
    selected: () => selected,
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}
