// The maths /learn redoes in the page (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  attentionChecks,
  headRoles,
  headScores,
  influenceByDistance,
  maxDiff,
  median,
  probesOf,
  recurrenceChecks,
  sequentialSteps,
  softmaxMasked,
  TOLERANCE,
  unitsByHalfLife,
  vecMat,
} from "../../static/js/stepmath.js";

const close = (a, b, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

/** A seeded pseudo-random stream (mulberry32), so the fixtures are the same every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}
const matrix = (r, n, m) => Array.from({ length: n }, () => Array.from({ length: m }, () => 2 * r()));

/** An attention step built the way the server builds it (T 4, d_model 6, 2 heads of 3). */
function attentionStep({ query = 2, head = 1, smear = null } = {}) {
  const r = rng(7);
  const T = 4;
  const H = 2;
  const dh = 3;
  const D = H * dh;
  const x_ln = matrix(r, T, D);
  const W = { q: matrix(r, D, D), k: matrix(r, D, D), v: matrix(r, D, D) };
  const B = { q: matrix(r, 1, D)[0], k: matrix(r, 1, D)[0], v: matrix(r, 1, D)[0] };
  const cols = (m, h) => m.map((row) => row.slice(h * dh, (h + 1) * dh));
  const proj = (p, h) => x_ln.map((x) => vecMat(x, cols(W[p], h), B[p].slice(h * dh, (h + 1) * dh)));
  const visible = Array.from({ length: T }, (_, j) => j <= query);
  const perHead = Array.from({ length: H }, (_, h) => {
    const q = proj("q", h)[query];
    const kRaw = proj("k", h);
    const k =
      smear === null
        ? kRaw
        : kRaw.map((kj, j) => kj.map((v, d) => smear * v + (1 - smear) * kRaw[Math.max(0, j - 1)][d]));
    const v = proj("v", h);
    const scores = k.map((kj) => kj.reduce((s, x, d) => s + x * q[d], 0));
    const scaled = scores.map((s) => s / Math.sqrt(dh));
    const weights = softmaxMasked(scaled, visible);
    const z = Array.from({ length: dh }, (_, d) => weights.reduce((s, w, j) => s + w * v[j][d], 0));
    return { q, kRaw, k, v, scores, scaled, weights, z };
  });
  const me = perHead[head];
  const w_o = matrix(r, D, D);
  const b_o = matrix(r, 1, D)[0];
  const concat = perHead.flatMap((p) => p.z);
  const attn_out = vecMat(concat, w_o, b_o);
  const resid_pre = matrix(r, 1, D)[0];
  const resid_mid = resid_pre.map((v, i) => v + attn_out[i]);
  const mlp_out = matrix(r, 1, D)[0];
  const resid_post = resid_mid.map((v, i) => v + mlp_out[i]);
  return {
    tokens: { ids: [5, 6, 5, 6], strings: ["a", "b", "a", "b"] },
    layer: 0,
    head,
    query,
    n_heads: H,
    d_head: dh,
    resid_pre,
    x_ln,
    w_q: cols(W.q, head),
    b_q: B.q.slice(head * dh, (head + 1) * dh),
    w_k: cols(W.k, head),
    b_k: B.k.slice(head * dh, (head + 1) * dh),
    w_v: cols(W.v, head),
    b_v: B.v.slice(head * dh, (head + 1) * dh),
    q: me.q,
    k_raw: me.kRaw,
    smear_keep: smear,
    k: me.k,
    v: me.v,
    scores: me.scores,
    scale: 1 / Math.sqrt(dh),
    scaled_scores: me.scaled,
    visible,
    weights: me.weights,
    z: perHead.map((p) => p.z),
    concat,
    w_o,
    b_o,
    attn_out,
    resid_mid,
    mlp_out,
    resid_post,
    trace_weights: me.weights.map((w) => Math.fround(w)),
    trace_resid_post: resid_post.map((v) => Math.fround(v)),
  };
}

test("maxDiff is relative above 1 and fails on NaN or a length mismatch", () => {
  close(maxDiff([1, 2], [1, 2]), 0);
  close(maxDiff([0.5], [0.6]), 0.1, 1e-15);
  close(maxDiff([110], [100]), 0.1, 1e-15);
  close(
    maxDiff(
      [
        [1, 2],
        [3, 4],
      ],
      [
        [1, 2],
        [3, 4.5],
      ],
    ),
    0.5 / 4.5,
    1e-15,
  );
  assert.equal(maxDiff([NaN], [1]), Infinity);
  assert.equal(maxDiff([null], [1]), Infinity);
  assert.equal(maxDiff([1, 2], [1]), Infinity);
});

test("softmaxMasked: rows sum to 1, masked keys exactly 0, temperature sharpens and flattens", () => {
  const s = [1, 3, 2, 50];
  const visible = [true, true, true, false];
  const w = softmaxMasked(s, visible);
  close(
    w.reduce((a, b) => a + b, 0),
    1,
    1e-15,
  );
  assert.equal(w[3], 0);
  close(w[1] / w[0], Math.exp(2), 1e-12);
  const cold = softmaxMasked(s, visible, 0.1);
  const hot = softmaxMasked(s, visible, 100);
  assert.ok(cold[1] > w[1] && cold[1] > 0.99);
  assert.ok(Math.abs(hot[0] - 1 / 3) < 0.01);
  assert.throws(() => softmaxMasked(s, visible, 0), RangeError);
  assert.throws(() => softmaxMasked(s, [false, false, false, false]), RangeError);
  // huge scores do not overflow
  const big = softmaxMasked([1000, 999], [true, true]);
  close(big[0], 1 / (1 + Math.exp(-1)), 1e-12);
});

test("attentionChecks: every identity holds on a step computed the server's way", () => {
  for (const smear of [null, 0.8]) {
    const step = attentionStep({ smear });
    const { checks, values } = attentionChecks(step);
    assert.equal(checks.length, 14);
    for (const c of checks) assert.ok(c.ok, `${c.id}: ${c.diff}`);
    assert.ok(checks.find((c) => c.id === "row").diff < 1e-7); // float32 rounding of the trace only
    assert.equal(values.weights[3], 0);
    assert.ok(values.weights[2] > 0);
  }
});

test("attentionChecks: a wrong number anywhere fails its own check, not the others", () => {
  const step = attentionStep();
  const broken = { ...step, z: step.z.map((row, h) => (h === step.head ? row.map((v) => v + 1e-3) : row)) };
  const byId = Object.fromEntries(attentionChecks(broken).checks.map((c) => [c.id, c]));
  assert.equal(byId.z.ok, false);
  assert.ok(byId.z.diff > 9e-4);
  assert.ok(byId.softmax.ok && byId.q.ok && byId.resid.ok);
  const smearedWrongly = attentionChecks({ ...attentionStep({ smear: 0.8 }), smear_keep: 0.7 });
  assert.equal(smearedWrongly.checks.find((c) => c.id === "k").ok, false);
  const unmasked = attentionChecks({ ...step, weights: step.weights.map((w, j) => (j === 3 ? 0.5 : w)) });
  assert.equal(unmasked.checks.find((c) => c.id === "mask").ok, false);
  const otherRow = attentionChecks(step, { row: [0.25, 0.25, 0.5, 0] });
  assert.equal(otherRow.checks.find((c) => c.id === "row").ok, false);
});

/** A recurrent step of the kind given, computed by the cell's equations in float64. */
function recurrentStep(kind) {
  const r = rng(kind.length);
  const U = 3;
  const units = [0, 2, 4];
  const h_prev = Array.from({ length: 6 }, () => r());
  const gates = { lstm: ["i", "f", "g", "o"], gru: ["r", "z", "n"], rnn: ["h"] }[kind];
  const tanh = new Set(["g", "n", "h"]);
  const pre = {};
  const out = {};
  for (const g of gates) {
    const from_input = Array.from({ length: U }, () => 4 * r());
    const from_state = Array.from({ length: U }, () => 4 * r());
    const p =
      g === "n"
        ? from_input.map((x, u) => x + out.r.value[u] * from_state[u])
        : from_input.map((x, u) => x + from_state[u]);
    const value = p.map((x) => (tanh.has(g) ? Math.tanh(x) : 1 / (1 + Math.exp(-x))));
    out[g] = {
      name: g,
      function: tanh.has(g) ? "tanh" : "sigmoid",
      from_input,
      from_state,
      pre: p,
      value,
      traced: value.map(Math.fround),
    };
    pre[g] = p;
  }
  const base = { units, h_prev, preactivations: out, c_prev: null, c: null, tanh_c: null, trace_c: null };
  if (kind === "lstm") {
    const c_prev = [3, -200, 0.5];
    const c = c_prev.map((cp, u) => out.f.value[u] * cp + out.i.value[u] * out.g.value[u]);
    const h = c.map((cu, u) => out.o.value[u] * Math.tanh(cu));
    return { ...base, c_prev, c, h, trace_c: c.map(Math.fround), trace_h: h.map(Math.fround) };
  }
  if (kind === "gru") {
    const h = units.map((u, k) => (1 - out.z.value[k]) * out.n.value[k] + out.z.value[k] * h_prev[u]);
    return { ...base, h, trace_h: h.map(Math.fround) };
  }
  return { ...base, h: out.h.value, trace_h: out.h.value.map(Math.fround) };
}

test("recurrenceChecks: LSTM, GRU and RNN equations hold, chosen from what the step holds", () => {
  const KINDS = { lstm: "cell", gru: "update", rnn: "plain" };
  for (const kind of ["lstm", "gru", "rnn"]) {
    const step = recurrentStep(kind);
    const res = recurrenceChecks(step);
    assert.equal(res.kind, KINDS[kind]);
    for (const c of res.checks) assert.ok(c.ok, `${kind} ${c.id}: ${c.diff}`);
    const ids = res.checks.map((c) => c.id);
    assert.ok(ids.includes("h"));
    assert.equal(ids.includes("c"), kind === "lstm");
  }
});

test("recurrenceChecks: the GRU's n reads r, and a wrong h_{t-1} unit fails the GRU's h", () => {
  const step = recurrentStep("gru");
  const res = recurrenceChecks(step);
  close(res.values.pre.n[1], step.preactivations.n.pre[1], 1e-12);
  const wrong = recurrenceChecks({ ...step, h_prev: step.h_prev.map((v, u) => (u === 2 ? v + 0.5 : v)) });
  assert.equal(wrong.checks.find((c) => c.id === "h").ok, false);
});

test("recurrenceChecks: a large cell state is compared relatively", () => {
  const step = recurrentStep("lstm");
  const res = recurrenceChecks({ ...step, trace_c: step.c.map((v) => v * (1 + 5e-7)) });
  assert.ok(res.checks.find((c) => c.id === "c").ok);
  assert.ok(TOLERANCE === 1e-5);
});

test("sequentialSteps: layers for attention, layers × tokens for recurrence", () => {
  assert.equal(sequentialSteps({ n_layers: 4, attention: [{ name: "self" }] }, 100), 4);
  assert.equal(sequentialSteps({ n_layers: 2, attention: [] }, 100), 200);
});

test("headScores: previous, first, duplicate and induction on a repeated sentence", () => {
  // ids a b a b: t=2 repeats s=0 (after it: 1), t=3 repeats s=1 (after it: 2)
  const ids = [1, 2, 1, 2];
  const map = [
    [1, 0, 0, 0],
    [0.5, 0.5, 0, 0],
    [0.2, 0.7, 0.1, 0],
    [0.1, 0.3, 0.4, 0.2],
  ];
  const s = headScores(map, ids);
  close(s.previous_token, (0.5 + 0.7 + 0.4) / 3);
  close(s.first_token, (0.5 + 0.2 + 0.1) / 3);
  close(s.duplicate_token, (0.2 + 0.3) / 2);
  close(s.induction, (0.7 + 0.4) / 2);
  const none = headScores(map, [1, 2, 3, 4]);
  assert.equal(none.induction, null);
  assert.equal(none.duplicate_token, null);
});

test("influenceByDistance: shares of each row's |influence| averaged by distance", () => {
  const m = [
    [2, 0, 0],
    [1, -3, 0],
    [0, 1, 1],
  ];
  const d = influenceByDistance(m);
  close(d[0], (1 + 3 / 4 + 1 / 2) / 3);
  close(d[1], (1 / 4 + 1 / 2) / 2);
  close(d[2], 0);
  assert.deepEqual(influenceByDistance([[0]]), [null]);
});

test("unitsByHalfLife and median", () => {
  assert.deepEqual(unitsByHalfLife([3, -1, 10, 3]), [1, 2, 0, 3]);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([1, Infinity]), Infinity);
  assert.equal(median([]), null);
});

test("probesOf: every probe null when a card has none, rows kept when it has them", () => {
  const none = probesOf({ card: {} });
  assert.deepEqual(none, { copying: null, agreement: null, gradient: null, context: null, heads: null });
  const p = probesOf({
    card: {
      probes: {
        copying_vs_distance: { gaps: [0, 200], results: [{ gap: 0, ratio: 0.5, ci95: [0.4, 0.6] }, null] },
        agreement: { conditions: [] },
        gradient_vs_distance: { mean_grad_norm: [1, 0.5] },
        heads: null,
      },
    },
  });
  assert.equal(p.copying.length, 1);
  assert.equal(p.agreement, null);
  assert.deepEqual(p.gradient, [1, 0.5]);
  assert.equal(p.heads, null);
});

test("headRoles: the highest score names the role, below the floor none", () => {
  const roles = headRoles({
    previous_token: [[0.9, 0.1]],
    first_token: [[0.05, 0.2]],
    induction: [[0.0, 0.25]],
  });
  assert.deepEqual(
    roles.map((r) => [r.layer, r.head, r.role]),
    [
      [0, 0, "previous_token"],
      [0, 1, null],
    ],
  );
  assert.deepEqual(headRoles(null), []);
});
