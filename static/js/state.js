/**
 * Page state and its URL: a tiny store (get / set / subscribe) and pure conversion between
 * state and query string, driven by a schema of typed fields. The URL is the permalink:
 * reloading or sharing it restores the view.
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
 * Keep the address bar in step with the store (replaceState: typing must not flood the
 * back button). Only the browser pages call this.
 */
export function syncUrl(store, schema) {
  let pending = 0;
  store.subscribe((state) => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      const query = writeQuery(state, schema);
      const url = `${location.pathname}${query ? `?${query}` : ""}`;
      if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
    });
  });
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
