/**
 * The maths of /learn, done again in the page from the API's numbers (float64): every step
 * of one attention head and of one recurrent step recomputed from the step before, and
 * compared with what the server sent and what the model's own forward pass (the trace)
 * computed. Each comparison is a "check" {id, text, diff, ok}: the largest difference,
 * relative where a value exceeds 1, and whether it is within TOLERANCE. Also the small
 * measures the page draws: sequential steps, head scores on a sentence, influence by
 * distance, the probe results in a model card. Pure; unit-tested under node.
 */

/** Differences at most this are the same computation done in another order (float32). */
export const TOLERANCE = 1e-5;

/* ---------- vectors ---------- */

/** Largest |a − b| / max(1, |b|) over two equally long vectors (or matrices); 0 if empty.
 * NaN anywhere gives Infinity (a check must fail, not pass silently). */
export function maxDiff(a, b) {
  const xs = flat(a);
  const ys = flat(b);
  if (xs.length !== ys.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = Math.abs(xs[i] - ys[i]) / Math.max(1, Math.abs(ys[i]));
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

function flat(m) {
  const out = [];
  for (const v of m) {
    if (v !== null && typeof v === "object") out.push(...flat(v));
    else out.push(v === null ? NaN : Number(v));
  }
  return out;
}

export const dot = (a, b) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/** x · W + b: `x` [n], `w` [n][m] (rows multiply a row vector), `b` [m] or null. */
export function vecMat(x, w, b = null) {
  const m = w[0].length;
  const out = b ? Array.from(b, Number) : new Array(m).fill(0);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const row = w[i];
    for (let j = 0; j < m; j++) out[j] += xi * row[j];
  }
  return out;
}

export const add = (a, b) => Array.from(a, (v, i) => v + b[i]);
export const mul = (a, b) => Array.from(a, (v, i) => v * b[i]);
export const sigmoid = (x) => 1 / (1 + Math.exp(-x));

/**
 * softmax(scores / τ) over the `visible` entries, exactly 0 on the others (the causal
 * mask). τ = 1 is the model's softmax; any other τ is a what-if. Shifted by the largest
 * visible score first, so it never overflows.
 */
export function softmaxMasked(scores, visible, tau = 1) {
  if (!(tau > 0) || !Number.isFinite(tau)) throw new RangeError(`temperature must be > 0, not ${tau}`);
  let top = -Infinity;
  scores.forEach((s, j) => {
    if (visible[j] && s > top) top = s;
  });
  if (top === -Infinity) throw new RangeError("no visible key");
  const e = Array.from(scores, (s, j) => (visible[j] ? Math.exp((s - top) / tau) : 0));
  const sum = e.reduce((p, v) => p + v, 0);
  return e.map((v) => v / sum);
}

const check = (id, text, a, b) => {
  const diff = maxDiff(a, b);
  return { id, text, diff, ok: diff <= TOLERANCE };
};

/* ---------- attention ---------- */

/**
 * One attention step (a POST /steps/attention response) recomputed: every step from the
 * API's previous one, and the two that matter against the model's own forward pass:
 * `row` (this head's attention row at the query, from the trace; default the response's
 * trace_weights) and `resid` (the residual stream after the layer at the query; default
 * trace_resid_post). Returns {values: the recomputed vectors, checks}.
 */
export function attentionChecks(s, { row = s.trace_weights, resid = s.trace_resid_post } = {}) {
  const T = s.tokens.ids.length;
  const x = s.x_ln[s.query];
  const q = vecMat(x, s.w_q, s.b_q);
  const kRaw = s.x_ln.map((xj) => vecMat(xj, s.w_k, s.b_k));
  const k =
    s.smear_keep === null || s.smear_keep === undefined
      ? kRaw
      : kRaw.map((kj, j) =>
          add(
            kj.map((v) => s.smear_keep * v),
            kRaw[Math.max(0, j - 1)].map((v) => (1 - s.smear_keep) * v),
          ),
        );
  const v = s.x_ln.map((xj) => vecMat(xj, s.w_v, s.b_v));
  const scores = s.k.map((kj) => dot(s.q, kj));
  const scaled = Array.from(s.scores, (sc) => sc * s.scale);
  const weights = softmaxMasked(s.scaled_scores, s.visible);
  const z = new Array(s.v[0].length).fill(0);
  s.weights.forEach((w, j) => {
    for (let d = 0; d < z.length; d++) z[d] += w * s.v[j][d];
  });
  const concat = s.z.flat();
  const attnOut = vecMat(s.concat, s.w_o, s.b_o);
  const residMid = add(s.resid_pre, s.attn_out);
  const residPost = add(s.resid_mid, s.mlp_out);
  const masked = Array.from(s.visible, (seen, j) => (seen ? 0 : s.weights[j]));
  const checks = [
    check("q", "q = x·W_Q + b_Q, recomputed here = the server's q", q, s.q),
    check("k", `every k = x·W_K + b_K${k === kRaw ? "" : ", smeared"} = the server's k`, k, s.k),
    check("v", "every v = x·W_V + b_V = the server's v", v, s.v),
    check("scores", "scores q·k_j = the server's scores", scores, s.scores),
    check("scale", `scale = 1/√d_k = 1/√${s.d_head}`, [s.scale], [1 / Math.sqrt(s.d_head)]),
    check("scaled", "scores × scale = the server's scaled scores", scaled, s.scaled_scores),
    check("mask", `masked keys (after the query) get weight exactly 0`, masked, new Array(T).fill(0)),
    check(
      "softmax",
      "softmax of the visible scaled scores, recomputed here = the server's weights",
      weights,
      s.weights,
    ),
    check("row", "these weights = this row of the model's attention map", weights, row),
    check("z", "weighted sum Σ_j w_j·v_j = this head's output z", z, s.z[s.head]),
    check("concat", "every head's z side by side = the concatenation", concat, s.concat),
    check("attn_out", "concat·W_O + b_O, recomputed here = the attention output", attnOut, s.attn_out),
    check("resid_mid", "resid_pre + attention output = resid_mid", residMid, s.resid_mid),
    check("resid", "resid_mid + MLP = the model's residual stream after this layer", residPost, resid),
  ];
  return { values: { q, kRaw, k, v, scores, scaled, weights, z, concat, attnOut, residMid, residPost }, checks };
}

/* ---------- recurrence ---------- */

const SQUASH = { sigmoid, tanh: Math.tanh };

/**
 * One recurrent step (a POST /steps/recurrence response) recomputed: each gate from its
 * two halves (the GRU's n reads r), squashed, against the gate the model computed; then
 * the new state by the cell's equation, from the recomputed gates, against the model's
 * h (and c). Which equation is read from what the response holds (a cell state, an
 * update gate), never from a model name. Returns {values, checks, kind}: kind "cell"
 * (LSTM), "update" (GRU) or "plain" (RNN).
 */
export function recurrenceChecks(s) {
  const pre = {};
  const act = {};
  const checks = [];
  for (const [name, p] of Object.entries(s.preactivations)) {
    const fromState = name === "n" && act.r ? mul(act.r, p.from_state) : p.from_state;
    pre[name] = add(p.from_input, fromState);
    act[name] = pre[name].map(SQUASH[p.function]);
    const f = p.function === "sigmoid" ? "σ" : "tanh";
    const inner = name === "n" ? "from input + r⊙from state" : "from input + from state";
    const what = name === "h" ? "h" : name;
    checks.push(
      check(`gate-${name}`, `${what} = ${f}(${inner}), recomputed here = the model's ${what}`, act[name], p.traced),
    );
  }
  const hPrev = Array.from(s.units, (u) => s.h_prev[u]);
  let kind;
  let c = null;
  let h;
  if (s.c_prev !== null && s.c_prev !== undefined && act.f && act.i && act.g && act.o) {
    kind = "cell"; // a cell state and i, f, g, o (an LSTM)
    c = add(mul(act.f, s.c_prev), mul(act.i, act.g));
    h = mul(act.o, c.map(Math.tanh));
    checks.push(check("c", "c_t = f⊙c_{t−1} + i⊙g = the model's c_t", c, s.trace_c));
    checks.push(check("h", "h_t = o⊙tanh(c_t) = the model's h_t", h, s.trace_h));
  } else if (act.z && act.n) {
    kind = "update"; // an update gate z and a candidate n (a GRU)
    h = act.z.map((z, u) => (1 - z) * act.n[u] + z * hPrev[u]);
    checks.push(check("h", "h_t = (1 − z)⊙n + z⊙h_{t−1} = the model's h_t", h, s.trace_h));
  } else {
    kind = "plain"; // no gate: h = tanh(...) (a plain RNN)
    h = act.h;
    checks.push(check("h", "h_t = tanh(W·x_t + U·h_{t−1} + b) = the model's h_t", h, s.trace_h));
  }
  return { kind, values: { pre, act, c, h, hPrev }, checks };
}

/* ---------- measures ---------- */

/** Text of about `L` tokens from `text` (T tokens): repeated or cut at a space; `r` varies
 * the cut so that repeated runs are new texts (the server caches what it has seen). */
export function sized(text, T, L, r = 0) {
  const perToken = Math.max(1, text.length / Math.max(1, T));
  const want = Math.max(1, Math.round(L * perToken));
  let out = text;
  while (out.length < want) out += ` ${text}`;
  if (out.length > want) {
    const cut = out.lastIndexOf(" ", want);
    out = out.slice(0, cut > 0 ? cut : want);
  }
  return `${r ? `${r} ` : ""}${out}`;
}

/** The units a table shows: the chosen ones in range, else the `n` of largest |h_t|. */
export function shownUnits(chosen, traceH, n = 6, max = 12) {
  const D = traceH.length;
  const valid = (chosen ?? []).filter((u) => u >= 0 && u < D).slice(0, max);
  if (valid.length) return valid;
  return Array.from(traceH, (v, u) => [Math.abs(v), u])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, n)
    .map((p) => p[1])
    .sort((a, b) => a - b);
}

/** Steps one after another to read T tokens: a layer that attends computes every position
 * at once (one step per layer); a recurrent layer needs h_{t−1} before h_t (T per layer). */
export function sequentialSteps(spec, T) {
  return spec.attention?.length ? spec.n_layers : spec.n_layers * T;
}

/**
 * Head scores on one sentence, from one layer's or all layers' attention maps `maps[l][h]`
 * (T x T rows) and the token `ids`: mean attention to the previous token and to the first
 * (queries 1..T−1), and — where a token repeats an earlier one — to the earlier copy
 * (duplicate) and to the token after it (induction). null where the sentence has no case.
 */
export function headScores(map, ids) {
  const T = ids.length;
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const prev = [];
  const first = [];
  const dup = [];
  const ind = [];
  for (let t = 1; t < T; t++) {
    prev.push(map[t][t - 1]);
    first.push(map[t][0]);
    const earlier = [];
    for (let s = 0; s < t; s++) if (ids[s] === ids[t]) earlier.push(s);
    if (earlier.length) dup.push(earlier.reduce((a, s) => a + map[t][s], 0));
    const after = earlier.filter((s) => s + 1 < t);
    if (after.length) ind.push(after.reduce((a, s) => a + map[t][s + 1], 0));
  }
  return { previous_token: mean(prev), first_token: mean(first), duplicate_token: mean(dup), induction: mean(ind) };
}

/** Mean share of each prediction's total |influence| by distance d = t − s (row t: the
 * tokens s ≤ t behind prediction t + 1): [d] for d = 0..T−1; null where no row has d. */
export function influenceByDistance(matrix) {
  const T = matrix.length;
  const sums = new Array(T).fill(0);
  const counts = new Array(T).fill(0);
  for (let t = 0; t < T; t++) {
    let total = 0;
    for (let s = 0; s <= t; s++) total += Math.abs(matrix[t][s]);
    if (!(total > 0)) continue;
    for (let s = 0; s <= t; s++) {
      sums[t - s] += Math.abs(matrix[t][s]) / total;
      counts[t - s] += 1;
    }
  }
  return sums.map((v, d) => (counts[d] ? v / counts[d] : null));
}

/** Units ordered by half-life, longest memory first (−1, never below one half, first of
 * all), ties by index. */
export function unitsByHalfLife(halfLife) {
  const key = (h) => (h < 0 ? Infinity : h);
  return Array.from(halfLife, (h, u) => [key(h), u])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .map((p) => p[1]);
}

/** Median of finite numbers (Infinity allowed); null for none. */
export function median(xs) {
  const v = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/* ---------- the probe suite's results in a model card ---------- */

/** The probe results of `model` (its card's "probes"), each null when not measured:
 * {copying: [{gap, ratio, ci95}], agreement: [{structure, attractors, accuracy, ci95,
 * at_chance}], gradient: [mean norm by distance], context: [{k, loss, ci95}], heads:
 * {previous_token, first_token, induction, duplicate_token, ablation_bits} ([layer][head])}. */
export function probesOf(model) {
  const p = model?.card?.probes;
  const rows = (xs) => (Array.isArray(xs) ? xs.filter((r) => r && typeof r === "object") : null);
  const copying = rows(p?.copying_vs_distance?.results);
  const agreement = rows(p?.agreement?.conditions);
  const context = rows(p?.context_length?.results);
  const gradient = Array.isArray(p?.gradient_vs_distance?.mean_grad_norm)
    ? p.gradient_vs_distance.mean_grad_norm
    : null;
  const heads = p?.heads && Array.isArray(p.heads.previous_token) ? p.heads : null;
  return {
    copying: copying?.length ? copying : null,
    agreement: agreement?.length ? agreement : null,
    gradient: gradient?.length ? gradient : null,
    context: context?.length ? context : null,
    heads,
  };
}

/** What each head does most, from scores [layer][head] by name: {layer, head, role, score}
 * for every head, `role` the score name with the highest value (null when every score is
 * below `floor`). */
export function headRoles(
  scores,
  names = ["previous_token", "first_token", "induction", "duplicate_token"],
  floor = 0.3,
) {
  const present = names.filter((n) => Array.isArray(scores?.[n]));
  if (!present.length) return [];
  const first = scores[present[0]];
  return first.flatMap((row, layer) =>
    row.map((_, head) => {
      let best = { role: null, score: -Infinity };
      for (const n of present) {
        const v = scores[n][layer]?.[head];
        if (typeof v === "number" && v > best.score) best = { role: n, score: v };
      }
      return { layer, head, role: best.score >= floor ? best.role : null, score: best.score };
    }),
  );
}
