/**
 * The only module that knows the server's URLs: fetches from the JSON API v1 and decodes
 * its array encodings (json, f16, u8; dense or causal_lower) into tensors
 * `{shape, data: Float32Array|Float64Array}` in row-major order.
 * Importable under node: nothing here touches the DOM at import time.
 */

const API = "/api/v1";

/** An API problem (application/problem+json); `detail` is written for the user, `problem`
 * is the whole body (a text over a model's context: n_tokens, n_ctx, fits_chars). Status 0:
 * no answer at all. */
export class ApiError extends Error {
  constructor(status, title, detail, problem = {}) {
    super(detail);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.problem = problem;
  }
}

/** Whether `err` says the server is down or overloaded (no answer, a proxy's 502/504, a
 * 503), so that the same request may work later. */
export const serverDown = (err) => [0, 502, 503, 504].includes(err?.status);

/** The start of `text` that a model refusing it as too long would read: its first
 * `fits_chars` characters (the server counts code points, not UTF-16 units); null when the
 * problem says none. */
export function fittingText(text, problem) {
  const n = problem?.fits_chars;
  return Number.isInteger(n) && n > 0 ? Array.from(text).slice(0, n).join("") : null;
}

async function request(path, options = {}) {
  return (await respond(path, options)).payload;
}

/** The response to `path` ({body, signal}): {payload, headers}; a problem throws ApiError. */
async function respond(path, { body, signal } = {}) {
  const res = await send(path, { body, signal });
  const isJson = (res.headers.get("content-type") || "").includes("json");
  const payload = isJson ? await res.json() : null;
  if (!res.ok) throw problem(res, payload);
  return { payload, headers: res.headers };
}

function problem(res, payload) {
  const title = payload?.title ?? `HTTP ${res.status}`;
  return new ApiError(res.status, title, payload?.detail ?? res.statusText, payload ?? {});
}

async function send(path, { body, signal }) {
  const init =
    body === undefined
      ? { signal }
      : {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal,
        };
  try {
    return await fetch(API + path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "Network error", "The server did not answer. Is it still running?");
  }
}

/**
 * The catalog: {parts (the part registry), default_top_k, max_top_k, models: every model,
 * available or not (with the reason), each with its declared spec}.
 */
export async function fetchCatalog(signal) {
  return request("/models", { signal });
}

// f16 keeps the exact values at half the bytes of 4-decimal JSON and a twelfth of its
// parse time; the server sends only the lower triangle of causal attention. Options the
// caller leaves out (top_k, parts) take the server's defaults.
const FAST = { encoding: "f16" };

/** Trace `text` through `model`; the response with every array decoded to a tensor. */
export async function fetchTrace({ model, text, ...options }, signal) {
  const raw = await request("/trace", { body: { ...FAST, ...options, model, text }, signal });
  return { ...raw, parts: decodeParts(raw.parts) };
}

/** Trace 2-4 models on one text; each model's parts decoded. */
export async function fetchCompare({ models, text, ...options }, signal) {
  const raw = await request("/compare", { body: { ...FAST, ...options, models, text }, signal });
  return { ...raw, models: raw.models.map((m) => ({ ...m, parts: decodeParts(m.parts) })) };
}

/** The trace as the API's plain JSON (for download): exact server values, nested arrays. */
export async function fetchTraceJson({ model, text, ...options }) {
  return request("/trace", { body: { ...options, model, text, encoding: "json" } });
}

/** A comparison as the API's plain JSON (for download). */
export async function fetchCompareJson({ models, text, ...options }) {
  return request("/compare", { body: { ...options, models, text, encoding: "json" } });
}

/* ---------- translation ---------- */

/** Translate `text` with 1-4 translation models ({models, text, beam, target, parts, ...}):
 * each model's entry with its parts decoded (an entry may be a refusal: {model, error}). */
export async function fetchTranslate({ models, text, ...options }, signal) {
  const raw = await request("/translate", { body: { ...FAST, ...options, models, text }, signal });
  return { ...raw, models: raw.models.map((m) => (m.error ? m : { ...m, parts: decodeParts(m.parts) })) };
}

/** A translation as the API's plain JSON (for download). */
export async function fetchTranslateJson({ models, text, ...options }) {
  return request("/translate", { body: { ...options, models, text, encoding: "json" } });
}

/* ---------- learning: the computation step by step, generation, influence ---------- */

/** One attention head at one query, step by step, with the model's own numbers (full
 * float32 precision as JSON): {model, text, layer, head, query (null: the last token)}. */
export async function fetchAttentionSteps({ model, text, layer, head, query = null }, signal) {
  return request("/steps/attention", { body: { model, text, layer, head, query }, signal });
}

/** One recurrent layer at step t, gate by gate: {model, text, layer, t (null: the last),
 * units (null: all)}. */
export async function fetchRecurrenceSteps({ model, text, layer, t = null, units = null }, signal) {
  return request("/steps/recurrence", { body: { model, text, layer, t, units }, signal });
}

/** A gated layer's memory horizon: survival [unit, distance], mean_survival, half_life. */
export async function fetchMemory({ model, text, layer, max_distance = null }, signal) {
  return request("/steps/memory", { body: { model, text, layer, max_distance }, signal });
}

/** Influence maps of 1-4 models: each model's `influence` (and `grad_norm`, null for
 * occlusion) decoded to [T, T] rows. */
export async function fetchInfluence({ models, text, method = "gradient" }, signal) {
  const raw = await request("/influence", { body: { ...FAST, models, text, method }, signal });
  const rows = (enc) => {
    const { shape, data } = decodeArray(enc);
    return Array.from({ length: shape[0] }, (_, t) => Array.from(data.subarray(t * shape[1], (t + 1) * shape[1])));
  };
  const decoded = (m) => ({ ...m, influence: rows(m.influence), grad_norm: m.grad_norm ? rows(m.grad_norm) : null });
  return { ...raw, models: raw.models.map((m) => (m.influence ? decoded(m) : m)) };
}

/**
 * Time one trace on the server: {ms: the server's inference time (Server-Timing), cache:
 * "hit" (ms is 0: nothing was computed) or "miss", n_tokens}. Only predictions are asked
 * for, so the time is the forward pass, not the encoding of large parts.
 */
export async function timeTrace({ model, text }, signal) {
  const { payload, headers } = await respond("/trace", {
    body: { model, text, parts: ["predictions"], top_k: 1 },
    signal,
  });
  const timing = /infer;dur=([\d.]+)/.exec(headers.get("server-timing") ?? "");
  return { ms: timing ? Number(timing[1]) : null, cache: headers.get("x-cache"), n_tokens: payload.n_tokens };
}

/**
 * Generate a continuation, streamed: calls `onLine(line)` for every JSON line as it
 * arrives ({type: "start"|"token"|"end", ...}); resolves when the stream ends. Abort
 * `signal` to stop: the server stops generating when the connection closes. Options:
 * {model, prompt, max_new_tokens, strategy, temperature, top_k, seed}.
 */
export async function streamGenerate(options, onLine, signal) {
  const res = await send("/generate", { body: { ...options, stream: true }, signal });
  if (!res.ok) {
    const isJson = (res.headers.get("content-type") || "").includes("json");
    throw problem(res, isJson ? await res.json() : null);
  }
  const reader = res.body.getReader();
  const lines = ndjsonLines();
  for (;;) {
    const { done, value } = await reader.read();
    for (const line of lines.push(value, done)) onLine(line);
    if (done) return;
  }
}

/** Splits a byte stream into parsed JSON lines: `push(bytes, done)` returns the complete
 * lines so far (a line may arrive in pieces, a piece may hold many lines). Pure. */
export function ndjsonLines() {
  const decoder = new TextDecoder();
  let rest = "";
  return {
    push(bytes, done = false) {
      rest += bytes ? decoder.decode(bytes, { stream: !done }) : "";
      const parts = rest.split("\n");
      rest = done ? "" : parts.pop();
      return parts.filter((p) => p.trim()).map((p) => JSON.parse(p));
    },
  };
}

/* ---------- links to the pages ---------- */

const PAGES = { explore: "/", compare: "/compare", learn: "/learn", translate: "/translate" };

/** The address of a page ("explore", "compare", "learn", "translate") showing `params` (its URL fields;
 * null, undefined and "" are left out, lists joined by commas). */
export function pageUrl(page, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    query.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const q = query.toString();
  return PAGES[page] + (q ? `?${q}` : "");
}

/** The pages' nav links carrying what is shown over: the text to every page that takes
 * one, `model` to Explore, and to Compare as the first model compared. */
export function carriedLinks({ text, model = "" }) {
  return {
    explore: pageUrl("explore", { text, model }),
    compare: pageUrl("compare", { text, models: model }),
    learn: pageUrl("learn", { text }),
  };
}

/* ---------- decoding (pure) ---------- */

/** One IEEE 754 binary16 bit pattern to its exact value (every half is a double). */
export function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal (and signed zero)
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let halfTable = null; // 65536 entries, built on first use: a lookup beats the arithmetic 5x

function halfLut() {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** Little-endian float16 bytes to a Float32Array (exact: every half is a float32). */
export function decodeF16(bytes) {
  const lut = halfLut();
  const out = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = lut[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
  return out;
}

export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Lower-triangle rows (row i has i+1 values) of `lead` stacked T x T maps, to dense. */
export function expandCausal(values, lead, T) {
  const tri = (T * (T + 1)) / 2;
  const out = new values.constructor(lead * T * T); // upper triangle stays exactly 0
  for (let m = 0; m < lead; m++) {
    let src = m * tri;
    for (let i = 0; i < T; i++) {
      const dst = m * T * T + i * T;
      out.set(values.subarray(src, src + i + 1), dst);
      src += i + 1;
    }
  }
  return out;
}

function flatten(nested, out = []) {
  for (const v of nested) {
    if (Array.isArray(v)) flatten(v, out);
    else out.push(v === null ? NaN : v);
  }
  return out;
}

/** One encoded array from the API to `{shape, data, causal}`. */
export function decodeArray(enc) {
  const { shape } = enc;
  let values;
  if (enc.encoding === "json") {
    // Float64 keeps the server's decimals exactly (0.1234 is not a float32).
    return { shape, data: Float64Array.from(flatten(enc.data)), causal: false };
  } else if (enc.encoding === "f16") {
    values = decodeF16(base64ToBytes(enc.data));
  } else if (enc.encoding === "u8") {
    const codes = base64ToBytes(enc.data);
    values = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) values[i] = enc.offset + enc.scale * codes[i];
  } else {
    throw new Error(`unknown encoding ${enc.encoding}`);
  }
  if (enc.layout !== "causal_lower") return { shape, data: values, causal: false };
  const T = shape[shape.length - 1];
  const lead = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { shape, data: expandCausal(values, lead, T), causal: true };
}

/** The `parts` object of a trace with every encoded array decoded (same nesting). */
export function decodeParts(parts) {
  const out = {};
  for (const [name, value] of Object.entries(parts || {})) {
    out[name] =
      "shape" in value
        ? decodeArray(value)
        : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeArray(v)]));
  }
  return out;
}
