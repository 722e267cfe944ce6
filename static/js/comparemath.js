/**
 * The pure maths of the compare page: where models differ. Gaps in surprisal between models
 * and the rows they sort, one colour range shared by several maps, difference maps,
 * influence by distance, repeated tokens told apart, and minimal pairs (two texts aligned
 * token by token, Δbits, the probability of a word after a context). No DOM, no Plotly:
 * unit-tested under node.
 */

import { layerHeads, rollout } from "./matrix.js";

// Repeated tokens are told apart by one helper, shared with Explore (tokentext.js).
export { subscript, subscripted } from "./tokentext.js";

const finite = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * The gap of each row of `comparisonRows` (views.js): the largest minus the smallest
 * surprisal in bits among the models that predicted there (null with fewer than two), and
 * `disagree`: the gap is above `threshold` bits. Returns new rows.
 */
export function withGaps(rows, threshold) {
  return rows.map((r) => {
    const bits = r.cells.map((c) => c.bits).filter(finite);
    const gap = bits.length > 1 ? Math.max(...bits) - Math.min(...bits) : null;
    return { ...r, gap, disagree: gap !== null && gap > threshold };
  });
}

/** Rows in `order`: "gap" (largest gap first, rows without a gap last, ties by position)
 * or "position" (as in the text). Returns a new array. */
export function sortRows(rows, order) {
  const out = [...rows];
  if (order === "gap") out.sort((a, b) => (b.gap ?? -1) - (a.gap ?? -1) || a.t - b.t);
  else out.sort((a, b) => a.t - b.t);
  return out;
}

/**
 * One symmetric colour range for several maps (arrays of rows, row t measured over columns
 * s ≤ t): [-cap, cap] with cap the `q` quantile of |value| over the measured cells of all of
 * them together (NaN and null skipped). A few outlying cells would otherwise leave every
 * other cell of every map white. `capped`: some cells lie beyond; `max`: the largest |value|.
 */
export function sharedRange(maps, q = 0.99) {
  const values = [];
  for (const map of maps)
    map.forEach((row, t) => {
      for (let s = 0; s <= t && s < row.length; s++) if (finite(row[s])) values.push(Math.abs(row[s]));
    });
  if (!values.length) return { zmin: -1, zmax: 1, capped: false, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const max = sorted[sorted.length - 1];
  const cap = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const top = cap > 0 ? cap : max || 1;
  return { zmin: -top, zmax: top, capped: top < max, max };
}

/** A − B cell by cell (null where either is not a number); null if the shapes differ
 * (two tokenisations: the cells would not mean the same pair of tokens). */
export function differenceMap(a, b) {
  if (a.length !== b.length || a.some((row, i) => row.length !== b[i].length)) return null;
  return a.map((row, i) => Array.from(row, (v, j) => (finite(v) && finite(b[i][j]) ? v - b[i][j] : null)));
}

/** The mean of `matrix[t][t − d]` over every row t that has a number there, for d = 0 … T−1
 * (null where no row has). Row t of an influence map is the prediction made at position t;
 * d is how far back the source token lies. */
export function meanByDistance(matrix) {
  const T = matrix.length;
  const sums = new Array(T).fill(0);
  const counts = new Array(T).fill(0);
  for (let t = 0; t < T; t++) {
    for (let s = 0; s <= t && s < matrix[t].length; s++) {
      const v = matrix[t][s];
      if (!finite(v)) continue;
      sums[t - s] += v;
      counts[t - s] += 1;
    }
  }
  return sums.map((v, d) => (counts[d] ? v / counts[d] : null));
}

/** The distances d ≥ 1 at which a profile is positive (what a log axis can show), as
 * {x, y}. d = 0 is the token itself. */
export function logProfile(profile) {
  const x = [];
  for (let d = 1; d < profile.length; d++) if (finite(profile[d]) && profile[d] > 0) x.push(d);
  return { x, y: x.map((d) => profile[d]) };
}

/* ---------- minimal pairs ---------- */

/** The pairs offered: agreement across an attractor, a repeated passage, a long-range link. */
export const PAIR_SAMPLES = [
  { label: "Agreement with attractors", a: "The key to the cabinets is", b: "The keys to the cabinet are" },
  {
    label: "A repeated passage (copying)",
    a: "Mr. Brown opened the green door slowly. Mr. Brown opened the green door slowly.",
    b: "Mr. Brown opened the red door slowly. Mr. Brown opened the red door slowly.",
  },
  {
    label: "A long-range dependency",
    a: "The letters that the old captain had written to his sister in the spring were",
    b: "The letter that the old captain had written to his sister in the spring was",
  },
];

/** A probability readable at any size: 0.123, 0.00456, 1.2e-7. */
export function formatP(p) {
  return p >= 1e-3 ? p.toPrecision(3) : p.toExponential(2);
}

/**
 * Align two token sequences: the longest common subsequence of equal strings, with the
 * unmatched tokens between two matches paired in order (a substitution) and the extras
 * left alone (an insertion). Returns slots [{a, b, same}] in order, a and b token indices
 * or null.
 */
export function alignTokens(a, b) {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: the LCS length of a[i:] and b[j:]
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const slots = [];
  let ra = [];
  let rb = [];
  const flush = () => {
    for (let k = 0; k < Math.max(ra.length, rb.length); k++)
      slots.push({ a: ra[k] ?? null, b: rb[k] ?? null, same: false });
    ra = [];
    rb = [];
  };
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      flush();
      slots.push({ a: i++, b: j++, same: true });
    } else if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) ra.push(i++);
    else rb.push(j++);
  }
  flush();
  return slots;
}

/** The surprisal of each token in bits (token-indexed): position t's prediction is of
 * token t + 1, so token 0 has none. `surprisalBits` as the API sends it. */
export function tokenBits(surprisalBits) {
  return surprisalBits.map((_, t) => (t === 0 ? null : (surprisalBits[t - 1] ?? null)));
}

/** Δbits of every slot: B's surprisal minus A's for the tokens the slot pairs (null where
 * a side is missing or unpredicted). `bitsA`, `bitsB` token-indexed (tokenBits). */
export function deltaBits(slots, bitsA, bitsB) {
  return slots.map(({ a, b }) =>
    a !== null && b !== null && finite(bitsA[a]) && finite(bitsB[b]) ? bitsB[b] - bitsA[a] : null,
  );
}

/** The places where two aligned texts differ: [{from, to (slot indices, to exclusive),
 * a: [i0, i1), b: [j0, j1)}] with the token ranges each side has there (empty for an
 * insertion). Each substitution is a place of its own (in "cabinets is" / "cabinet are"
 * the noun and the verb are two places); an inserted or dropped token joins the place next
 * to it (a word split into two tokens on one side is one place). */
export function diffRuns(slots) {
  const runs = [];
  let cur = null;
  const close = () => {
    if (cur) runs.push(cur);
    cur = null;
  };
  slots.forEach((s, k) => {
    if (s.same) {
      close();
      return;
    }
    const sub = s.a !== null && s.b !== null;
    if (cur && (cur.to !== k || (sub && cur.sub))) close();
    if (!cur) cur = { from: k, to: k, sub: false };
    cur.to = k + 1;
    cur.sub ||= sub;
  });
  close();
  return runs.map(({ from, to }) => {
    const side = (key) => {
      const idx = slots
        .slice(from, to)
        .map((s) => s[key])
        .filter((v) => v !== null);
      if (idx.length) return [idx[0], idx[idx.length - 1] + 1];
      const before = slots
        .slice(0, from)
        .reverse()
        .find((s) => s[key] !== null);
      const at = before ? before[key] + 1 : 0;
      return [at, at];
    };
    return { from, to, a: side("a"), b: side("b") };
  });
}

/** The text before tokens [i0, i1) of a tokenised text and the word they spell:
 * {prefix, word}. `spans` are the tokens' [start, end) characters. */
export function splitAt(text, spans, [i0, i1]) {
  const start = spans[i0][0];
  return { prefix: text.slice(0, start), word: text.slice(start, spans[i1 - 1][1]) };
}

/**
 * P(word | prefix) from a trace of `prefix + word`: 2^−(the summed surprisal of the tokens
 * that spell the word, those starting at or after `start` = prefix.length). Null when a
 * token straddles the boundary (the word is not a whole number of tokens after this
 * prefix), when the word would be the first token, or a surprisal is missing.
 * `spans` the tokens' characters, `surprisalBits` as the API sends it.
 */
export function wordProbability(spans, surprisalBits, start) {
  const bits = tokenBits(surprisalBits);
  let sum = 0;
  let any = false;
  for (let t = 0; t < spans.length; t++) {
    const [s, e] = spans[t];
    if (s < start && e > start) return null;
    if (s < start) continue;
    if (!finite(bits[t])) return null;
    sum += bits[t];
    any = true;
  }
  return any ? { bits: sum, p: 2 ** -sum } : null;
}

/** The attention rollout through every layer of a decoded [layer, head, query, key]
 * attention tensor (matrix.js `rollout`): row q says how much each token flows into
 * position q by the last layer. */
export function fullRollout(att) {
  const layers = Array.from({ length: att.shape[0] }, (_, l) => layerHeads(att, l));
  return rollout(layers);
}

// Side by side, a column's map must give a token at least this many px across to be read;
// its margins, labels and colour bar take about MAP_FRAME_PX of its width.
export const MIN_CELL_PX = 3;
const MAP_FRAME_PX = 200;

/**
 * The column shown large, or null for all side by side. `choice`: the page's `cmap` (a
 * model's name; "all": side by side; anything else: side by side where a token gets
 * MIN_CELL_PX across in a column `width` px wide, else the first model large); `names`: the
 * models with a map, in column order; `nTokens`: the longest tokenisation among them.
 */
export function largeColumn(choice, names, width, nTokens) {
  if (names.includes(choice)) return choice;
  const fits = (width - MAP_FRAME_PX) / Math.max(1, nTokens) >= MIN_CELL_PX;
  return choice === "all" || names.length < 2 || fits ? null : names[0];
}
