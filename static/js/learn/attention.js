/**
 * Section 3 of /learn: one attention head at one query token, step by step, with the
 * model's own numbers (POST /steps/attention) and its attention map for that head (POST
 * /trace at 8 decimals); every step recomputed here (stepmath.js) and the identities shown.
 * The temperature slider redraws a what-if beside the model's weights, without a request.
 */

import { fetchAttentionSteps, fetchTrace, pageUrl } from "../api.js";
import { byIds, el } from "../dom.js";
import { attentionFigure, tensorMatrix } from "../figures.js";
import { vectorFigure, weightsFigure } from "../learnfig.js";
import { createPlot, labelsThatFit } from "../plot.js";
import { attentionChecks, softmaxMasked } from "../stepmath.js";
import { attachTips } from "../tooltip.js";
import { checksSummary, fillTable, num, pageLink, renderChecks } from "./common.js";

/** The slider holds log2 τ: τ from 1/8 to 8, 1 in the middle. */
export const tauFromSlider = (v) => Number((2 ** Number(v)).toPrecision(3));
export const sliderFromTau = (tau) => Math.log2(tau);

/**
 * The section. `ctx`: {store, focus, select(t) (pick the followed token), models() (those
 * declaring attention), other() (a model without attention, for the Compare link)}.
 */
export function attentionSection(ctx) {
  const dom = byIds(
    "attention-body attention-summary a-ln a-smear a-scores tau tau-value tau-reset a-map-note attention-links".split(
      " ",
    ),
  );
  const plot = (id, on) => createPlot(document.getElementById(id), on);
  const plots = {
    x: plot("a-x-plot"),
    q: plot("a-q-plot"),
    k: plot("a-k-plot"),
    v: plot("a-v-plot"),
    w: plot("a-w-plot"),
    map: plot("a-map-plot", {
      hover: (p) => ctx.focus.hover(p.y, plots.map),
      unhover: () => ctx.focus.hover(null, plots.map),
      click: (p) => ctx.select(p.y),
    }),
    z: plot("a-z-plot"),
    r: plot("a-r-plot"),
  };
  let shown = null; // {steps, checks, map, view}

  dom.tau.addEventListener("input", () => ctx.store.set({ tau: tauFromSlider(dom.tau.value) }));
  dom.tauReset.addEventListener("click", () => ctx.store.set({ tau: 1 }));

  const node = document.getElementById("attention");
  const section = {
    id: "attention",
    key: (view) => (view.amodel ? `${view.text}|${view.amodel}|${view.layer}|${view.head}|${view.query}` : "none"),
    async load(view, signal) {
      if (!view.amodel) {
        dom.attentionBody.hidden = true;
        dom.attentionSummary.textContent = "";
        throw { title: "No model with attention", detail: "No available model declares self-attention." };
      }
      const query = view.query;
      const steps = await fetchAttentionSteps(
        { model: view.amodel, text: view.text, layer: view.layer, head: view.head, query },
        signal,
      );
      // the model's attention map for this head and its residual stream, as Explore gets them
      const trace = await fetchTrace(
        {
          model: view.amodel,
          text: view.text,
          parts: ["attention", "resid"],
          layers: [view.layer],
          heads: [view.head],
          encoding: "json",
          decimals: 8,
        },
        signal,
      );
      const map = tensorMatrix(trace.parts.attention.self, 0, 0);
      const resid = tensorMatrix(trace.parts.resid, 0)[steps.query];
      const { checks } = attentionChecks(steps, { row: map[steps.query], resid });
      shown = { steps, checks, map, view };
      await draw(view);
    },
    clear() {
      shown = null;
      dom.attentionBody.hidden = true;
    },
    /** Redraw what needs no request: the what-if temperature. */
    async retemper(st) {
      dom.tau.value = String(sliderFromTau(st.tau));
      dom.tauValue.textContent = String(st.tau);
      dom.tau.setAttribute(
        "aria-valuetext",
        `temperature ${st.tau}${st.tau === 1 ? ", the model's own" : ", a what-if"}`,
      );
      if (shown) await drawWeights(st.tau);
    },
    highlight(t) {
      if (shown && plots.map.shown()) plots.map.highlight(t ?? shown.steps.query);
    },
  };

  async function draw(view) {
    const { steps, checks, map } = shown;
    const s = steps;
    const strings = s.tokens.strings;
    const q = s.query;
    dom.attentionBody.hidden = false;
    dom.attentionSummary.replaceChildren(
      el("strong", {}, `Layer ${s.layer} · head ${s.head} · query #${q} ${strings[q]}: `),
      checksSummary(checks),
    );
    dom.aLn.textContent =
      `resid_pre has mean ${num(s.ln_mean)} and std ${num(s.ln_std)} over its ${s.resid_pre.length} numbers; ` +
      "LayerNorm gives x = (resid_pre − mean) / std · γ + β, with the learned γ and β.";
    const masked = strings.map((_, j) => j).filter((j) => !s.visible[j]);
    const tokenRows = (m) => strings.map((str, j) => ({ name: `#${j} ${str}`, values: m[j] }));
    const height = (n) => `${Math.min(460, 60 + 16 * n)}px`;
    plots.k.node.style.height = height(strings.length);
    plots.v.node.style.height = height(strings.length);
    if (s.smear_keep === null || s.smear_keep === undefined) {
      dom.aSmear.hidden = true;
    } else {
      dom.aSmear.hidden = false;
      dom.aSmear.replaceChildren(
        "This model uses ",
        el("span", { "data-term": "smeared-key" }, "smeared keys"),
        `: k_j = ${num(s.smear_keep)}·k_raw_j + ${num(1 - s.smear_keep)}·k_raw_{j−1} (σ(α) = ${num(s.smear_keep)} for this head; k_raw_{−1} = k_raw_0).`,
      );
      attachTips(dom.aSmear);
    }
    const file = (name) => `attenzione-${view.amodel}-L${s.layer}H${s.head}-q${q}-${name}`;
    await plots.x.render(
      vectorFigure(
        [
          { name: "resid_pre", values: s.resid_pre },
          { name: "x = LayerNorm", values: s.x_ln[q] },
        ],
        { xTitle: "dimension of the residual stream (d_model)" },
      ),
      { filename: file("input") },
    );
    await plots.q.render(
      vectorFigure([{ name: "q", values: s.q }], { xTitle: `dimension of the head (d_k = ${s.d_head})` }),
      {
        filename: file("q"),
      },
    );
    await plots.k.render(
      vectorFigure(tokenRows(s.k), {
        title: "keys k_j (greyed: after the query, masked)",
        masked,
        xTitle: "dimension (d_k)",
      }),
      { filename: file("keys") },
    );
    await plots.v.render(
      vectorFigure(tokenRows(s.v), { title: "values v_j (greyed: masked)", masked, xTitle: "dimension (d_k)" }),
      { filename: file("values") },
    );
    renderChecks(node, checks);
    await drawWeights(ctx.store.get().tau);
    const fit = labelsThatFit(plots.map.node, 90);
    await plots.map.render(
      attentionFigure(map, strings, {
        causal: true,
        title: `The model's attention map, layer ${s.layer} · head ${s.head}`,
        notes: [`row ${q} is the weights above`],
        maxLabels: fit,
      }),
      { filename: file("map"), token: q },
    );
    dom.aMapNote.textContent =
      `Each row of the map is one query's softmax. Row #${q} (outlined) is the same ${strings.length} numbers as the ` +
      "weights above: the map Explore draws is this computation, done for every query at once. Click a row to follow another query.";
    const zRows = s.z.map((z, h) => ({ name: h === s.head ? `z head ${h} ← this one` : `z head ${h}`, values: z }));
    await plots.z.render(vectorFigure(zRows, { xTitle: "dimension of each head (d_k)" }), { filename: file("heads") });
    await plots.r.render(
      vectorFigure(
        [
          { name: "resid_pre", values: s.resid_pre },
          { name: "+ attention output", values: s.attn_out },
          { name: "= resid_mid", values: s.resid_mid },
          { name: "+ MLP output", values: s.mlp_out },
          { name: "= resid_post", values: s.resid_post },
          { name: "the model's (trace)", values: s.trace_resid_post },
        ],
        { xTitle: "dimension of the residual stream (d_model)" },
      ),
      { filename: file("residual") },
    );
    const other = ctx.other();
    dom.attentionLinks.replaceChildren(
      pageLink(
        pageUrl("explore", { text: view.text, model: view.amodel, layer: s.layer, head: s.head, token: q }),
        "This head in Explore",
      ),
      " ",
      other
        ? pageLink(
            pageUrl("compare", { text: view.text, models: [view.amodel, other.name] }),
            `Compare with ${other.name}`,
          )
        : "",
    );
  }

  /** The scores table and the weights chart, with the what-if at temperature `tau`. */
  async function drawWeights(tau) {
    const s = shown.steps;
    const strings = s.tokens.strings;
    const whatIf = softmaxMasked(s.scaled_scores, s.visible, tau);
    const head = ["#", "key token", "q·k_j", "÷ √d_k", "mask", "weight (the model)", `what-if τ = ${tau}`];
    fillTable(
      dom.aScores,
      head,
      strings.map((str, j) => ({
        class: [j === s.query ? "query" : "", s.visible[j] ? "" : "masked"].join(" ").trim() || null,
        cells: [
          String(j),
          { v: str, class: "tokcell" },
          s.scores[j],
          s.scaled_scores[j],
          s.visible[j] ? "" : "−∞",
          { v: num(s.weights[j]), class: "model" },
          { v: num(whatIf[j]), class: "whatif" },
        ],
      })),
    );
    await plots.w.render(
      weightsFigure({ strings, visible: s.visible, weights: s.weights, whatIf, tau, query: s.query }),
      {
        filename: `attenzione-weights-tau${tau}`,
      },
    );
  }

  return section;
}
