/**
 * The attention controller: views of one declared attention kind ([layer, head, query,
 * key]): one head, the mean or max over heads, the rollout; the first token hidden on
 * request and a row filter; every layer × head as thumbnails. Pure (no DOM, no Plotly).
 */

import { checkbox, editing, select } from "../controls.js";
import * as V from "../views.js";

const REDRAW = ["view", "layer", "head", "sink", "filter", "k", "thr", "scale"];

const range = (n) => Array.from({ length: n }, (_, i) => ({ value: i, label: `${i}` }));
const clamp = (v, n) => Math.min(Math.max(0, v), n - 1);

/** The row filter's value: k for top-k per row, the threshold for "weight ≥". */
const filterValue = {
  id: "filter-value",
  event: "input",
  read(node, st) {
    const v = Number(node.value);
    if (!Number.isFinite(v) || v < 0) return null;
    return st.filter === "topk" ? { k: Math.max(1, Math.round(v)) } : { thr: v };
  },
  write(node, st) {
    node.hidden = st.filter === "none";
    if (!editing(node)) node.value = st.filter === "topk" ? st.k : st.thr;
    node.step = st.filter === "topk" ? "1" : "0.01";
  },
};

/**
 * One controller per attention kind the model declares whose queries and keys both run
 * over the tokens a trace shows (self-attention). A kind over two sequences (cross
 * attention) needs its own axes, so it is left to a controller of its own.
 */
export function attentionControllers(_catalog, model) {
  const role = model.spec.output_role;
  return model.spec.attention
    .filter((kind) => kind.query_role === role && kind.key_role === role)
    .map((kind) => attentionController(kind));
}

/** The controller for attention kind `kind` ({name, causal, n_layers, n_heads, ...}). */
export function attentionController(kind) {
  // "self" keeps the bare view names (head, mean, ...) that links already carry
  const prefix = kind.name === "self" ? "" : `${kind.name}.`;
  const views = V.ATTENTION_VIEWS.map((v) => ({ value: prefix + v.value, label: v.label }));
  const owns = (view) => views.some((v) => v.value === view);
  const local = (st) => ({ ...st, view: st.view.slice(prefix.length) }); // as views.js reads it
  const tensor = (trace) => trace.parts.attention?.[kind.name];
  const token = (trace, st, plot, point) =>
    plot === "main" ? V.attentionToken(trace.tokens.strings.length, st, point.y) : null;

  return {
    id: `attention:${kind.name}`,
    label: kind.name === "self" ? "Attention" : `Attention (${kind.name})`,
    panel: "attn-controls",
    views,
    parts: ["attention"],
    owns,
    has: (trace) => Boolean(tensor(trace)),
    normalise: (st) => ({ layer: clamp(st.layer, kind.n_layers), head: clamp(st.head, kind.n_heads) }),
    redraws: (changed) => REDRAW.some((key) => changed.has(key)),

    main(trace, st, fit = {}) {
      const strings = trace.tokens.strings;
      const view = local(st);
      const { fig, matrix, index } = V.attentionView(tensor(trace), strings, {
        ...view,
        maxLabels: fit.rows,
        square: fit.square,
      });
      const labels = index.map((t) => `#${t} ${strings[t]}`);
      return {
        fig,
        name: prefix ? `attention-${kind.name}` : "attention",
        record: V.attentionRecord(st),
        csv: { name: prefix + view.view, matrix, rowLabels: labels, colLabels: labels, corner: "query \\ key" },
      };
    },
    lines: null,
    token,
    click: (trace, st, plot, point) => ({ token: token(trace, st, plot, point) }),

    grid(trace, st) {
      const att = tensor(trace);
      return {
        key: JSON.stringify(V.displayOptions(st)),
        cell: V.modelViewCell(att, local(st)),
        names: V.modelViewNames(att),
        figure: () => V.modelView(att, st),
      };
    },
    pick(trace, cell) {
      const p = V.modelViewPick(tensor(trace), cell);
      return { ...p, view: prefix + p.view };
    },

    controls: [
      select("view", "view", { options: () => views }),
      select("layer", "layer", { int: true, options: () => range(kind.n_layers) }),
      select("head", "head", {
        int: true,
        options: () => range(kind.n_heads),
        disabled: (st) => local(st).view !== "head",
      }),
      select("filter", "filter"),
      filterValue,
      select("scale", "scale"),
      checkbox("sink", "sink"),
    ],
  };
}
