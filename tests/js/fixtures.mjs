// A catalog shaped like GET /api/v1/models, and decoded traces built from it, for the
// controller tests (node --test tests/js). Not a test file itself.

export const PARTS = [
  {
    name: "attention",
    group: "attention",
    layout: "{kind: [layer, head, query, key]}",
    default: true,
    label: "Attention",
  },
  { name: "resid", group: "states", layout: "[layer, position, d_model]", default: true, label: "Residual stream" },
  { name: "h", group: "states", layout: "[layer, position, d_hidden]", default: true, label: "Hidden state h" },
  { name: "c", group: "states", layout: "[layer, position, d_hidden]", default: true, label: "Cell state c" },
  { name: "gates", group: "gates", layout: "{gate: [layer, position, d_hidden]}", default: true, label: "Gates" },
  { name: "predictions", group: "predictions", layout: "top-k", default: true, label: "Predictions" },
  { name: "logits", group: "logits", layout: "[position, d_vocab]", default: false, label: "Logits" },
];

const kind = (name, n_layers, n_heads, roles = ["input", "input"]) => ({
  name,
  causal: true,
  query_role: roles[0],
  key_role: roles[1],
  n_layers,
  n_heads,
});

/** A model entry as the API lists it; `spec` overrides. Names are deliberately unusual in
 * some tests: a page must read the spec, not the name. */
export function model(name, spec) {
  const full = {
    architecture: name,
    n_layers: 2,
    n_heads: null,
    width: 6,
    n_ctx: 64,
    d_vocab: 4096,
    parts: [],
    gates: [],
    attention: [],
    roles: ["input"],
    output_role: "input",
    ...spec,
  };
  return {
    name,
    family: full.architecture,
    available: true,
    n_params: 12345,
    n_layers: full.n_layers,
    n_heads: full.n_heads,
    d_model: full.width,
    n_ctx: full.n_ctx,
    parts: full.parts,
    gates: full.gates,
    tokenizer: "bpe",
    spec: full,
  };
}

export const TRANSFORMER = model("transformer", {
  n_heads: 2,
  parts: ["attention", "resid", "predictions", "logits"],
  attention: [kind("self", 2, 2)],
});
export const LSTM = model("lstm", { parts: ["h", "c", "gates", "predictions", "logits"], gates: ["i", "f", "g", "o"] });
export const GRU = model("gru", { parts: ["h", "gates", "predictions", "logits"], gates: ["r", "z", "n"] });
export const RNN = model("rnn", { n_layers: 3, parts: ["h", "predictions", "logits"] });
export const UNAVAILABLE = {
  name: "broken",
  family: null,
  available: false,
  reason: "…/broken.json: model card is missing",
};

export function catalog(models = [TRANSFORMER, LSTM, GRU, RNN, UNAVAILABLE]) {
  return { api_version: "v1", parts: PARTS, default_top_k: 5, max_top_k: 50, models };
}

export const kindOf = kind;

/** A tensor {shape, data} whose value at each index is f(...index). */
export function tensor(shape, f) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const index = new Array(shape.length).fill(0);
  for (let i = 0; i < data.length; i++) {
    data[i] = f(...index);
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] += 1;
      if (index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return { shape, data };
}

export const STRINGS = ["the", "␣cat", "␣saw", "␣the", "␣cat"];

/** A decoded trace of `m` over STRINGS with every part it declares (values made up). */
export function traceOf(m, strings = STRINGS) {
  const T = strings.length;
  const { spec } = m;
  const parts = {};
  if (spec.attention.length) {
    parts.attention = Object.fromEntries(
      spec.attention.map((k) => [
        k.name,
        tensor([k.n_layers, k.n_heads, T, T], (_l, _h, q, key) => (key <= q ? 1 / (q + 1) : 0)),
      ]),
    );
  }
  const state = (l, t, u) => Math.sin(1 + l + 0.7 * t * (u + 1)) * 0.9;
  for (const name of ["resid", "h", "c"]) {
    if (spec.parts.includes(name)) parts[name] = tensor([spec.n_layers, T, spec.width], state);
  }
  if (spec.gates.length) {
    parts.gates = Object.fromEntries(spec.gates.map((g) => [g, tensor([spec.n_layers, T, spec.width], state)]));
  }
  return {
    model: m.name,
    family: spec.architecture,
    n_tokens: T,
    tokens: { strings, spans: strings.map((_, i) => [i, i + 1]) },
    parts,
    predictions: null,
  };
}

/** Page state as explore keeps it (the URL's defaults), with `patch` applied. */
export function state(patch = {}) {
  return {
    text: STRINGS.join(""),
    model: "transformer",
    view: "",
    layer: 0,
    head: 0,
    sink: false,
    filter: "none",
    k: 3,
    thr: 0.1,
    token: -1,
    sort: "index",
    units: [],
    ...patch,
  };
}
