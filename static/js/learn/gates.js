/**
 * Section 5 of /learn: one recurrent layer at step t, gate by gate, with the model's own
 * numbers (POST /steps/recurrence, every unit); each gate and the new state recomputed
 * here (stepmath.js) and checked over every unit; the chosen units shown as tables. The
 * equations follow what the model declares (a cell state, an update gate), not its name.
 */

import { fetchRecurrenceSteps, pageUrl } from "../api.js";
import { byIds, el } from "../dom.js";
import { vectorFigure } from "../learnfig.js";
import { createPlot } from "../plot.js";
import { recurrenceChecks, shownUnits } from "../stepmath.js";
import { checksSummary, fillTable, num, pageLink, renderChecks } from "./common.js";

const MAX_UNITS = 12;

const EQUATIONS = {
  cell: {
    gates: "i, f, o = σ(W·x_t + b + U·h_{t−1} + b);  g = tanh(W·x_t + b + U·h_{t−1} + b), each with its own W, U and b",
    state: "c_t = f⊙c_{t−1} + i⊙g;  h_t = o⊙tanh(c_t)  (⊙: unit by unit)",
  },
  update: {
    gates: "r, z = σ(W·x_t + b + U·h_{t−1} + b);  n = tanh(W_n·x_t + b + r⊙(U_n·h_{t−1} + b))",
    state: "h_t = (1 − z)⊙n + z⊙h_{t−1}  (⊙: unit by unit)",
  },
  plain: {
    gates: "no gates: one pre-activation, W·x_t + b + U·h_{t−1} + b",
    state: "h_t = tanh(W·x_t + U·h_{t−1} + b)",
  },
};

/** The section. `ctx`: {store, models() (recurrent ones)}. */
export function gatesSection(ctx) {
  const dom = byIds("gates-body gates-summary g-eq-gates g-eq-state g-gates g-state gates-links runits".split(" "));
  const plotX = createPlot(document.getElementById("g-x-plot"));
  const node = document.getElementById("gates");
  let shown = null; // {steps, res, view}

  dom.runits.addEventListener("change", () => {
    ctx.store.set({ units: (dom.runits.value.match(/\d+/g) ?? []).map(Number).slice(0, MAX_UNITS) });
  });

  const section = {
    id: "gates",
    key: (view) => (view.rmodel ? `${view.text}|${view.rmodel}|${view.rlayer}|${view.step}` : "none"),
    async load(view, signal) {
      if (!view.rmodel) {
        dom.gatesBody.hidden = true;
        throw { title: "No recurrent model", detail: "No available model declares a recurrent state h." };
      }
      const steps = await fetchRecurrenceSteps(
        { model: view.rmodel, text: view.text, layer: view.rlayer, t: view.step, units: null },
        signal,
      );
      shown = { steps, res: recurrenceChecks(steps), view };
      await draw();
    },
    clear() {
      shown = null;
      dom.gatesBody.hidden = true;
    },
    /** The chosen units changed: redraw the tables, no request. */
    async units() {
      if (shown) await draw();
    },
  };

  async function draw() {
    const { steps: s, res, view } = shown;
    const strings = s.tokens.strings;
    const units = shownUnits(ctx.store.get().units, s.trace_h);
    const at = new Map(Array.from(s.units, (u, k) => [u, k]));
    const k = units.map((u) => at.get(u));
    if (document.activeElement !== dom.runits) dom.runits.value = ctx.store.get().units.join(", ");
    dom.gatesBody.hidden = false;
    dom.gatesSummary.replaceChildren(
      el("strong", {}, `${s.model} · layer ${s.layer} · step t = ${s.t} (${strings[s.t]}): `),
      checksSummary(res.checks),
      `, over all ${s.units.length} units.`,
    );
    dom.gEqGates.textContent = EQUATIONS[res.kind].gates;
    dom.gEqState.textContent = EQUATIONS[res.kind].state;
    const d = Math.max(s.x_t.length, s.h_prev.length);
    const pad = (v) => [...Array.from(v), ...new Array(d - v.length).fill(null)];
    await plotX.render(
      vectorFigure(
        [
          {
            name: s.layer === 0 ? `x_t: embedding of ${strings[s.t]}` : `x_t: h_t of layer ${s.layer - 1}`,
            values: pad(s.x_t),
          },
          { name: "h_{t−1}", values: pad(s.h_prev) },
        ],
        { xTitle: "unit / dimension" },
      ),
      { filename: `attenzione-${s.model}-L${s.layer}-t${s.t}-inputs` },
    );
    const gates = Object.values(s.preactivations);
    fillTable(
      dom.gGates,
      [
        "unit",
        "gate",
        "from the input W·x_t + b",
        "from the state U·h_{t−1} + b",
        "pre-activation",
        "function",
        "value (recomputed)",
        "the model's",
        "difference",
      ],
      units.flatMap((u, r) =>
        gates.map((g, gi) => {
          const j = k[r];
          const value = res.values.act[g.name][j];
          return {
            class: gi === 0 ? "group" : null,
            cells: [
              ...(gi === 0 ? [{ v: String(u), rowspan: gates.length, th: true, scope: "rowgroup" }] : []),
              g.name,
              g.from_input[j],
              g.name === "n" ? `r⊙${num(g.from_state[j])}` : g.from_state[j],
              res.values.pre[g.name][j],
              g.function === "sigmoid" ? "σ" : "tanh",
              value,
              g.traced[j],
              { v: Math.abs(value - g.traced[j]).toExponential(1), class: "diff" },
            ],
          };
        }),
      ),
    );
    fillTable(dom.gState, ...stateTable(res, s, units, k));
    renderChecks(node, res.checks);
    const links = [
      pageLink(
        pageUrl("explore", { text: view.text, model: s.model, layer: s.layer, token: s.t, units }),
        "These units in Explore",
      ),
    ];
    const other = ctx.other();
    if (other)
      links.push(
        " ",
        pageLink(pageUrl("compare", { text: view.text, models: [other.name, s.model] }), `Compare with ${other.name}`),
      );
    dom.gatesLinks.replaceChildren(...links);
  }

  return section;
}

/** The new-state table for the chosen units: [head, rows]. */
function stateTable(res, s, units, k) {
  const { act, c, h, hPrev } = res.values;
  const diff = (a, b) => ({ v: (Math.abs(a - b) / Math.max(1, Math.abs(b))).toExponential(1), class: "diff" });
  if (res.kind === "cell") {
    return [
      [
        "unit",
        "c_{t−1}",
        "f",
        "i",
        "g",
        "c_t = f·c_{t−1} + i·g",
        "the model's c_t",
        "difference",
        "o",
        "h_t = o·tanh(c_t)",
        "the model's h_t",
        "difference",
      ],
      units.map((u, r) => {
        const j = k[r];
        return {
          cells: [
            { v: String(u), th: true },
            s.c_prev[j],
            act.f[j],
            act.i[j],
            act.g[j],
            c[j],
            s.trace_c[j],
            diff(c[j], s.trace_c[j]),
            act.o[j],
            h[j],
            s.trace_h[j],
            diff(h[j], s.trace_h[j]),
          ],
        };
      }),
    ];
  }
  if (res.kind === "update") {
    return [
      ["unit", "h_{t−1}", "z", "n", "h_t = (1 − z)·n + z·h_{t−1}", "the model's h_t", "difference"],
      units.map((u, r) => {
        const j = k[r];
        return {
          cells: [
            { v: String(u), th: true },
            hPrev[j],
            act.z[j],
            act.n[j],
            h[j],
            s.trace_h[j],
            diff(h[j], s.trace_h[j]),
          ],
        };
      }),
    ];
  }
  return [
    ["unit", "pre-activation", "h_t = tanh(pre)", "the model's h_t", "difference"],
    units.map((u, r) => {
      const j = k[r];
      return { cells: [{ v: String(u), th: true }, res.values.pre.h[j], h[j], s.trace_h[j], diff(h[j], s.trace_h[j])] };
    }),
  ];
}
