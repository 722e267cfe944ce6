/**
 * The state controller: every state a model declares (h, c, the residual stream: the
 * registry's "states" group) and every gate it declares, each [layer, position, unit], as a
 * units × positions heatmap per layer, a line chart of chosen units, and every part at every
 * layer as thumbnails. Pure (no DOM, no Plotly).
 */

import { declaredParts, partLabel } from "../catalog.js";
import { checkbox, editing, select } from "../controls.js";
import { tensorMatrix } from "../figures.js";
import * as V from "../views.js";

const MAX_UNITS = 8; // lines in the units chart

const range = (n) => Array.from({ length: n }, (_, i) => ({ value: i, label: `${i}` }));
const clamp = (v, n) => Math.min(Math.max(0, v), n - 1);

/** The units chart's units: typed as "3, 17". */
const unitsControl = {
  id: "units",
  event: "change",
  read: (node) => ({ units: (node.value.match(/\d+/g) ?? []).map(Number).slice(0, MAX_UNITS) }),
  write(node, st) {
    if (!editing(node)) node.value = st.units.join(", ");
  },
};

/** One controller for the states and gates `model` declares; none if it has neither. */
export function stateControllers(catalog, model) {
  const states = declaredParts(catalog, model, "states").map((p) => p.name);
  const gates = model.spec.gates;
  return states.length || gates.length ? [stateController(catalog, model, states, gates)] : [];
}

/** The controller for the `states` (trace parts) and `gates` (under parts.gates) of `model`. */
export function stateController(catalog, model, states, gates = []) {
  const names = [...states, ...gates];
  const labelOf = (name) => partLabel(catalog, name);
  const views = names.map((name) => ({ value: name, label: labelOf(name) }));
  const nLayers = model.spec.n_layers;
  const tensors = (trace) => V.stateTensors(trace.parts, states, gates);
  const matrix = (trace, st) => tensorMatrix(tensors(trace)[st.view], st.layer); // [position][unit]
  const token = (_trace, _st, _plot, point) => point.x; // both plots run over positions
  const label = views.length === 1 ? views[0].label : gates.length ? "States and gates" : "States";

  return {
    id: "states",
    label,
    panel: "rnn-controls",
    views,
    parts: [...states, ...(gates.length ? ["gates"] : [])],
    owns: (view) => names.includes(view),
    has: (trace) => names.every((name) => name in tensors(trace)),
    normalise: (st) => ({ layer: clamp(st.layer, nLayers) }),
    redraws: (changed, st) =>
      ["view", "layer", "sort", "units", "unitnorm"].some((key) => changed.has(key)) ||
      (changed.has("token") && st.sort === "token"),

    main(trace, st, fit = {}) {
      const strings = trace.tokens.strings;
      const view = V.stateView(tensors(trace), strings, { ...st, label: labelOf(st.view), maxLabels: fit.cols });
      const m = view.matrix;
      return {
        fig: view.fig,
        name: st.view,
        record: V.stateRecord(st),
        csv: {
          name: `${st.view}-layer${st.layer}`,
          matrix: m,
          rowLabels: strings.map((s, t) => `#${t} ${s}`),
          colLabels: m[0] ? Array.from(m[0], (_, u) => `unit ${u}`) : [],
          corner: `token \\ ${st.view}`,
        },
      };
    },
    lines(trace, st, fit = {}) {
      const fig = V.linesView(matrix(trace, st), trace.tokens.strings, { ...st, maxLabels: fit.cols });
      return { fig, name: "units" };
    },
    token,
    /** A click on the heatmap selects its token and plots its unit; on the lines, the token. */
    click(trace, st, plot, point) {
      if (plot !== "main") return { token: point.x };
      const order = V.unitOrder(matrix(trace, st), st.sort, st.token);
      const unit = order ? order[point.y] : point.y;
      const units = [...st.units.filter((u) => u !== unit), unit].slice(-MAX_UNITS);
      return { token: point.x, patch: { units } };
    },

    grid(trace, st) {
      const parts = tensors(trace);
      return {
        key: `states ${Boolean(st.unitnorm)}`,
        cell: V.recurrentCell(parts, st),
        names: V.recurrentNames(parts, labelOf),
        figure: () => V.recurrentGrid(parts, { unitnorm: Boolean(st.unitnorm) }),
      };
    },
    pick: (trace, cell) => V.recurrentPick(tensors(trace), cell),

    controls: [
      select("part", "view", { options: () => views }),
      select("rlayer", "layer", { int: true, options: () => range(nLayers) }),
      select("sort", "sort"),
      unitsControl,
      checkbox("unitnorm", "unitnorm"),
    ],
  };
}
