/**
 * Sections 1 and 2 of /learn: the paper's claims as measurements. Sequential steps for the
 * reader's sentence and time vs length measured on this server; the probe suite's results
 * from the model cards (copying, agreement, gradient vs distance); influence vs distance
 * and a gated layer's memory horizon on the reader's sentence.
 */

import { fetchInfluence, fetchMemory, pageUrl, timeTrace } from "../api.js";
import { byIds } from "../dom.js";
import { barsFigure, linesFigure, memoryFigure } from "../learnfig.js";
import { createPlot } from "../plot.js";
import { influenceByDistance, median, probesOf, sequentialSteps, sized, unitsByHalfLife } from "../stepmath.js";
import { term } from "../tooltip.js";
import { pageLink } from "./common.js";

const NOT_MEASURED = "not measured for this model yet";
const LENGTHS = [16, 32, 64, 128, 256];
const RUNS = 3; // per model and length: the median

/** Section 1's figure: sequential steps per model for `T` tokens. `ctx.models()`: available. */
export function parallelSection(ctx) {
  const dom = byIds("steps-note measure measure-status time-plot time-note parallel-links".split(" "));
  const stepsPlot = createPlot(document.getElementById("steps-plot"));
  const timePlot = createPlot(dom.timePlot);
  let measuring = null;

  dom.measure.addEventListener("click", () => measure());

  async function measure() {
    if (measuring) return;
    const text = ctx.view()?.text;
    const T = ctx.view()?.trace?.n_tokens;
    if (!text || !T) return;
    measuring = new AbortController();
    dom.measure.disabled = true;
    const results = [];
    try {
      for (const m of ctx.models()) {
        const points = [];
        for (const L of LENGTHS.filter((n) => n <= m.spec.n_ctx)) {
          const times = [];
          let tokens = null;
          for (let r = 0; r < RUNS; r++) {
            dom.measureStatus.textContent = `Measuring ${m.name} at ~${L} tokens (run ${r + 1} of ${RUNS})…`;
            const res = await timeTrace({ model: m.name, text: sized(text, T, L, r) }, measuring.signal);
            if (res.n_tokens > m.spec.n_ctx) continue;
            tokens = res.n_tokens;
            if (res.cache === "miss" && res.ms !== null) times.push(res.ms);
          }
          if (times.length) points.push({ tokens, ms: median(times) });
        }
        results.push({ model: m, points });
      }
      await drawTimes(results);
      dom.measureStatus.textContent = "Measured just now.";
    } catch (err) {
      dom.measureStatus.textContent =
        err.name === "AbortError" ? "" : `Could not measure: ${err.detail ?? err.message}`;
    } finally {
      measuring = null;
      dom.measure.disabled = false;
    }
  }

  async function drawTimes(results) {
    const series = results
      .filter((r) => r.points.length)
      .map((r) => ({ name: r.model.name, x: r.points.map((p) => p.tokens), y: r.points.map((p) => p.ms) }));
    dom.timePlot.hidden = false;
    await timePlot.render(
      linesFigure(series, {
        xTitle: "tokens",
        yTitle: "ms per trace (server)",
        logX: true,
        logY: true,
        title: "Time of one forward pass vs length, measured now",
      }),
      { filename: "attenzione-time-vs-length" },
    );
    const s = ctx.server ?? {};
    const growth = results
      .filter((r) => r.points.length > 1)
      .map((r) => {
        const a = r.points[0];
        const b = r.points.at(-1);
        return `${r.model.name} ${a.ms.toFixed(1)} → ${b.ms.toFixed(1)} ms (×${(b.ms / a.ms).toFixed(1)} for ×${(b.tokens / a.tokens).toFixed(0)} tokens)`;
      });
    dom.timeNote.hidden = false;
    dom.timeNote.textContent =
      `Each point is the median of ${RUNS} traces timed by the server itself (Server-Timing), on this server's CPU: ` +
      `${s.cpu_count ?? "?"} cores, torch using ${s.torch_threads ?? "?"} thread(s), shared with whatever else runs on it, so the numbers move from run to run. ` +
      `From the shortest to the longest text: ${growth.join("; ")}. ` +
      "On a CPU with a few cores the Transformer's \"all at once\" is a few wide matrix products, and a recurrent layer's steps run one after another inside PyTorch's fused kernel: both grow with length, the recurrent ones by a longer chain of small steps. " +
      "The paper's gain is largest in training on hardware with thousands of parallel lanes (a GPU), which this page does not have.";
  }

  return {
    id: "parallel",
    key: (view) => `${view.trace?.n_tokens}|${ctx.models().map((m) => m.name)}`,
    async load(view) {
      const T = view.trace.n_tokens;
      const models = ctx.models();
      const steps = models.map((m) => sequentialSteps(m.spec, T));
      await stepsPlot.render(
        barsFigure(
          models.map((m) => m.name),
          [{ name: "sequential steps", values: steps, text: steps.map(String), colour: "#0072b2" }],
          { yTitle: `steps for your ${T} tokens` },
        ),
        { filename: "attenzione-sequential-steps" },
      );
      dom.stepsNote.textContent = models
        .map((m, i) =>
          m.spec.attention.length
            ? `${m.name}: ${m.spec.n_layers} layers, each over all ${T} tokens at once = ${steps[i]} steps`
            : `${m.name}: ${m.spec.n_layers} layers × ${T} tokens, one after another = ${steps[i]} steps`,
        )
        .join(" · ");
      const attends = models.find((m) => m.spec.attention.length);
      const recurs = models.find((m) => !m.spec.attention.length);
      const both = [attends, recurs].filter(Boolean).map((m) => m.name);
      dom.parallelLinks.replaceChildren(
        both.length > 1
          ? pageLink(pageUrl("compare", { text: view.text, models: both }), "Compare them on your sentence")
          : "",
      );
    },
  };
}

/** The probe suite's results, from the model cards (no request). */
export function probesSection(ctx) {
  const dom = byIds("copy-missing agree-missing grad-missing".split(" "));
  const plots = {
    copy: createPlot(document.getElementById("copy-plot")),
    agree: createPlot(document.getElementById("agree-plot")),
    grad: createPlot(document.getElementById("grad-plot")),
  };
  const missing = (node, names) => {
    node.textContent = names.length ? `${names.join(", ")}: ${NOT_MEASURED}.` : "";
  };
  const empty = (plot) => {
    plot.node.hidden = true; // the caption says what is missing
  };

  return {
    id: "probes",
    key: () =>
      ctx
        .models()
        .map((m) => m.name)
        .join(),
    async load() {
      const models = ctx.models().map((m) => ({ m, p: probesOf(m) }));
      // copying vs distance
      const copy = models.filter(({ p }) => p.copying);
      missing(
        dom.copyMissing,
        models.filter(({ p }) => !p.copying).map(({ m }) => m.name),
      );
      if (copy.length)
        await plots.copy.render(
          linesFigure(
            copy.map(({ m, p }) => ({
              name: m.name,
              x: p.copying.map((r) => r.gap),
              y: p.copying.map((r) => r.ratio),
              lo: p.copying.map((r) => r.ci95?.[0] ?? null),
              hi: p.copying.map((r) => r.ci95?.[1] ?? null),
            })),
            {
              xTitle: "gap between the copies (tokens)",
              yTitle: "copy ratio",
              hline: { y: 1, text: "no help from the first copy" },
            },
          ),
          { filename: "attenzione-copying" },
        );
      else empty(plots.copy);
      // agreement
      const agree = models.filter(({ p }) => p.agreement);
      missing(
        dom.agreeMissing,
        models.filter(({ p }) => !p.agreement).map(({ m }) => m.name),
      );
      if (agree.length) {
        const conditions = agree[0].p.agreement.map(
          (c) => `${String(c.structure).toUpperCase()}, ${c.attractors} attr.`,
        );
        const at = (p, i) => p.agreement[i] ?? {};
        await plots.agree.render(
          barsFigure(
            conditions,
            agree.map(({ m, p }) => ({
              name: m.name,
              values: conditions.map((_, i) => at(p, i).accuracy ?? null),
              lo: conditions.map((_, i) => at(p, i).ci95?.[0] ?? null),
              hi: conditions.map((_, i) => at(p, i).ci95?.[1] ?? null),
            })),
            { yTitle: "accuracy", yRange: [0, 1.05], hline: { y: 0.5 } },
          ),
          { filename: "attenzione-agreement" },
        );
      } else empty(plots.agree);
      // gradient vs distance
      const grad = models.filter(({ p }) => p.gradient);
      missing(
        dom.gradMissing,
        models.filter(({ p }) => !p.gradient).map(({ m }) => m.name),
      );
      if (grad.length)
        await plots.grad.render(
          linesFigure(
            grad.map(({ m, p }) => {
              const d = p.gradient.map((_, i) => i).filter((i) => i > 0 && p.gradient[i] > 0);
              return { name: m.name, x: d, y: d.map((i) => p.gradient[i]) };
            }),
            { xTitle: "distance d (tokens back)", yTitle: "mean gradient norm", logX: true, logY: true, mode: "lines" },
          ),
          { filename: "attenzione-gradient-vs-distance" },
        );
      else empty(plots.grad);
    },
  };
}

/** Influence vs distance on the sentence (POST /influence); a model that refuses the text
 * (over its n_ctx or the influence limit) is named with its reason. */
export function influenceSection(ctx) {
  const note = document.getElementById("influence-missing");
  const plot = createPlot(document.getElementById("influence-plot"));
  return {
    id: "influence",
    key: (view) => `${view.text}|${view.imethod}`,
    async load(view, signal) {
      const models = ctx.models().slice(0, 4);
      const res = await fetchInfluence(
        { models: models.map((m) => m.name), text: view.text, method: view.imethod },
        signal,
      );
      const ok = res.models.filter((m) => m.influence);
      const failed = res.models
        .filter((m) => !m.influence)
        .map((m) => `${m.model}: ${m.error?.detail ?? m.error ?? "no map"}`);
      note.textContent = failed.join("; ");
      const series = ok.map((m) => {
        const byD = influenceByDistance(m.influence);
        const d = byD.map((_, i) => i).filter((i) => byD[i] > 0);
        return { name: m.model, x: d, y: d.map((i) => byD[i]) };
      });
      await plot.render(
        linesFigure(series, { xTitle: "distance d = t − s (tokens back)", yTitle: "share of |influence|", logY: true }),
        { filename: "attenzione-influence-vs-distance" },
      );
    },
  };
}

/** The models whose gates keep part of the old state (LSTM f, GRU z), by declared gate. */
export const KEEP_GATES = ["f", "z"];
export const gated = (models) => models.filter((m) => m.spec.gates.some((g) => KEEP_GATES.includes(g)));

/** A gated layer's memory horizon on the sentence (POST /steps/memory). */
export function memorySection() {
  const dom = byIds("memory-note long-range-links".split(" "));
  const plot = createPlot(document.getElementById("memory-plot"));
  let shown = null;
  const section = {
    id: "memory",
    key: (view) => (view.mmodel ? `${view.text}|${view.mmodel}|${view.mlayer}` : "none"),
    async load(view, signal) {
      if (!view.mmodel) {
        throw {
          title: "No gated model",
          detail: "No available model has a gate that keeps its old state (an LSTM's f or a GRU's z).",
        };
      }
      shown = await fetchMemory({ model: view.mmodel, text: view.text, layer: view.mlayer }, signal);
      await section.redraw(view);
      dom.longRangeLinks.replaceChildren(
        pageLink(
          pageUrl("explore", { text: view.text, model: view.mmodel, view: shown.gate, layer: view.mlayer }),
          `The ${shown.gate} gate in Explore`,
        ),
      );
    },
    clear() {
      shown = null;
    },
    /** Mean over end steps, or ending at the last token: no request. */
    async redraw(view) {
      if (!shown) return;
      const m = shown;
      const mean = view.mview !== "last";
      const surv = mean ? m.mean_survival : m.survival;
      const order = unitsByHalfLife(m.half_life);
      const U = m.half_life.length;
      const D = surv[0]?.length ?? 0;
      await plot.render(
        memoryFigure(surv, {
          order,
          halfLife: m.half_life,
          gate: m.gate,
          title: `${m.model} · layer ${m.layer}: share of each unit's state kept d steps later (${mean ? "mean over end steps" : `ending at token ${m.t}`}), units by half-life`,
        }),
        { filename: `attenzione-${m.model}-memory-L${m.layer}` },
      );
      const lives = Array.from(m.half_life, (h) => (h < 0 ? Infinity : h));
      const med = median(lives);
      const forever = lives.filter((h) => h === Infinity).length;
      const what = m.gate === "f" ? "cell state" : "state";
      dom.memoryNote.replaceChildren(
        `Over this ${m.tokens.ids.length}-token text (distances up to ${D - 1}): the median `,
        term("half-life"),
        ` is ${med === Infinity ? `longer than the text (over ${D - 1} steps)` : `${med} steps`}; ` +
          `${forever} of ${U} units keep more than half of their ${what} over every distance measured. This counts the direct path only ` +
          `(through ${m.gate}); what a unit reads back through the other gates is not counted.`,
      );
    },
  };
  return section;
}

/** Options of the memory section's model select: the gated models. */
export const memoryModels = gated;
