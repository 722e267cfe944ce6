/**
 * Pure matrix maths for the views: slicing decoded tensors, head aggregation, attention
 * rollout, display filters and unit ordering. A matrix is an array of rows (arrays or
 * typed arrays). No DOM, no Plotly: unit-tested under node.
 */

/** The 2-D slice `tensor[...lead]` as an array of row views (no copy). */
export function tensorMatrix(tensor, ...lead) {
  const { shape, data } = tensor;
  const [rows, cols] = shape.slice(-2);
  let offset = 0;
  for (let d = 0; d < lead.length; d++) {
    const stride = shape.slice(d + 1).reduce((a, b) => a * b, 1);
    offset += lead[d] * stride;
  }
  return Array.from({ length: rows }, (_, i) => data.subarray(offset + i * cols, offset + (i + 1) * cols));
}

/** Every head's map of `layer` in a [L, H, T, T] attention tensor. */
export function layerHeads(tensor, layer) {
  return Array.from({ length: tensor.shape[1] }, (_, h) => tensorMatrix(tensor, layer, h));
}

function zeros(rows, cols) {
  return Array.from({ length: rows }, () => new Array(cols).fill(0));
}

/** Element-wise mean of same-shaped matrices. */
export function meanOf(mats) {
  const out = zeros(mats[0].length, mats[0][0].length);
  for (const m of mats) {
    out.forEach((row, i) => {
      m[i].forEach((v, j) => {
        row[j] += v;
      });
    });
  }
  return out.map((row) => row.map((v) => v / mats.length));
}

/** Element-wise maximum of same-shaped matrices (rows then no longer sum to 1). */
export function maxOf(mats) {
  return mats[0].map((row, i) => {
    const out = Array.from(row);
    for (const m of mats.slice(1))
      m[i].forEach((v, j) => {
        if (v > out[j]) out[j] = v;
      });
    return out;
  });
}

/** Divide each row by its sum; an all-zero row stays zero rather than becoming NaN. */
export function normaliseRows(m) {
  return m.map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return Array.from(row, (v) => (s > 0 ? v / s : 0));
  });
}

/** A · B. Skips zero entries of A, so causal (lower-triangular) products cost ~T³/6. */
export function matmul(a, b) {
  const n = b[0].length;
  return a.map((row) => {
    const out = new Array(n).fill(0);
    row.forEach((aik, k) => {
      if (aik === 0) return;
      const bk = b[k];
      for (let j = 0; j < n; j++) out[j] += aik * bk[j];
    });
    return out;
  });
}

/**
 * Attention rollout (Abnar & Zuidema 2020) through layers 0..upTo of `layers`, a list of
 * per-layer lists of head maps: A'_l = norm(0.5·mean_heads(A_l) + 0.5·I) models the
 * residual connection; rollout = A'_upTo ··· A'_0. Row i says how much each input token
 * flows into position i by that layer.
 */
export function rollout(layers, upTo = layers.length - 1) {
  let acc = null;
  for (let l = 0; l <= upTo; l++) {
    const mixed = meanOf(layers[l]).map((row, i) => row.map((v, j) => 0.5 * v + (i === j ? 0.5 : 0)));
    const a = normaliseRows(mixed);
    acc = acc === null ? a : matmul(a, acc);
  }
  return acc;
}

/**
 * Drop the first token (the usual attention sink) from rows and columns and renormalise
 * each remaining row over the keys left. Returns the matrix and the kept token indices.
 */
export function hideFirstToken(m) {
  const cut = m.slice(1).map((row) => Array.from(row).slice(1));
  return { matrix: normaliseRows(cut), index: cut.map((_, i) => i + 1) };
}

/** Keep each row's k largest weights; the rest are removed (null: drawn as "filtered out",
 * not as a weight of 0). Ties keep the earlier key. */
export function topKPerRow(m, k) {
  return m.map((row) => {
    const keep = new Set(
      Array.from(row, (v, j) => [v, j])
        .sort((p, q) => q[0] - p[0] || p[1] - q[1])
        .slice(0, k)
        .map((p) => p[1]),
    );
    return Array.from(row, (v, j) => (keep.has(j) ? v : null));
  });
}

/** Remove (null) every weight below `threshold`. */
export function thresholdFilter(m, threshold) {
  return m.map((row) => Array.from(row, (v) => (v >= threshold ? v : null)));
}

/**
 * Apply the display options to an attention map: optionally hide the first token, then a
 * filter ({kind: "none"|"threshold"|"topk", value}) that removes cells (null). Returns
 * {matrix, index}.
 */
export function prepareAttention(m, { hideFirst = false, filter = { kind: "none" } } = {}) {
  let matrix = m.map((row) => Array.from(row));
  let index = matrix.map((_, i) => i);
  if (hideFirst && m.length > 1) ({ matrix, index } = hideFirstToken(m));
  if (filter.kind === "topk") matrix = topKPerRow(matrix, filter.value);
  if (filter.kind === "threshold") matrix = thresholdFilter(matrix, filter.value);
  return { matrix, index };
}

/**
 * Block-max downsampling by `rowFactor` x `colFactor` (thumbnails keep thin peaks such as
 * a diagonal). null/NaN cells are ignored; a block with no value stays null.
 */
export function maxPool(m, rowFactor, colFactor = rowFactor) {
  const rows = Math.ceil(m.length / rowFactor);
  const cols = Math.ceil(m[0].length / colFactor);
  const out = Array.from({ length: rows }, () => new Array(cols).fill(-Infinity));
  m.forEach((row, i) => {
    const o = out[Math.floor(i / rowFactor)];
    for (let j = 0; j < row.length; j++) {
      const v = row[j];
      const c = Math.floor(j / colFactor);
      if (v !== null && v > o[c]) o[c] = v; // NaN > x is false: skipped
    }
  });
  return out.map((row) => row.map((v) => (v === -Infinity ? null : v)));
}

export function transpose(m) {
  return Array.from(m[0], (_, j) => m.map((row) => row[j]));
}

/** Unit indices of a [T][D] state matrix, highest variance over positions first. */
export function orderByVariance(m) {
  const T = m.length;
  const scores = Array.from(m[0], (_, d) => {
    let s = 0;
    let s2 = 0;
    for (let t = 0; t < T; t++) {
      s += m[t][d];
      s2 += m[t][d] ** 2;
    }
    return s2 / T - (s / T) ** 2;
  });
  return argsortDesc(scores);
}

/** Unit indices of a [T][D] state matrix, highest activation at position `t` first. */
export function orderByActivation(m, t) {
  return argsortDesc(Array.from(m[t]));
}

function argsortDesc(scores) {
  return scores
    .map((v, i) => [v, i])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .map((p) => p[1]);
}

/** Largest finite |value| in a matrix (0 if none). */
export function absMax(m) {
  let best = 0;
  for (const row of m) for (const v of row) if (Number.isFinite(v) && Math.abs(v) > best) best = Math.abs(v);
  return best;
}

/** Each unit (column) of a [T][D] state divided by its own largest |value| over the
 * positions, so a unit that reaches the hundreds does not drown the others: every unit
 * then spans at most [-1, 1]; an all-zero unit stays 0. */
export function scaleUnits(m) {
  const top = new Float64Array(m[0]?.length ?? 0);
  for (const row of m) for (let u = 0; u < row.length; u++) top[u] = Math.max(top[u], Math.abs(row[u]));
  return m.map((row) => Array.from(row, (v, u) => (top[u] > 0 ? v / top[u] : 0)));
}

/** CSV text of a matrix with row and column labels (quoted: tokens may hold commas);
 * `format(v)` writes each number (default as it is), null an empty cell. */
export function toCsv(matrix, rowLabels, colLabels, corner = "", format = (v) => v) {
  const q = (s) => `"${String(s).replace(/"/g, '""')}"`;
  const lines = [[q(corner), ...colLabels.map(q)].join(",")];
  matrix.forEach((row, i) => {
    lines.push([q(rowLabels[i]), ...Array.from(row, (v) => (v === null ? "" : format(v)))].join(","));
  });
  return `${lines.join("\n")}\n`;
}

/**
 * The precision a trace's numbers were sent with (its request's `encoding` and `decimals`),
 * so an export claims no more: {round(v), text}. JSON: the decimals sent; float16: 4
 * significant digits (its 11 bits hold 3.3); u8 codes: 3.
 */
export function sentPrecision({ encoding, decimals }) {
  if (encoding === "json") {
    return { round: (v) => Number(v.toFixed(decimals)), text: `values as sent: ${decimals} decimals` };
  }
  const digits = encoding === "u8" ? 3 : 4;
  const what = encoding === "u8" ? "8-bit codes" : "float16";
  return {
    round: (v) => Number(v.toPrecision(digits)),
    text: `values as sent (${what}): ${digits} significant digits`,
  };
}
