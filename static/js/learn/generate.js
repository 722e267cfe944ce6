/**
 * Section 6 of /learn: continue the reader's sentence with any model, streamed token by
 * token (POST /generate with stream), greedy or seeded sampling; each new token's
 * attention row (a model that attends) or state column (a recurrent one) drawn as it
 * arrives; Stop aborts the request, and the server stops generating.
 */

import { streamGenerate } from "../api.js";
import { byIds, el, fillSelect, showError } from "../dom.js";
import { generateRequest, reduceGeneration, startGeneration } from "../generation.js";
import { growingAttentionFigure, growingStatesFigure } from "../learnfig.js";
import { createPlot } from "../plot.js";
import { range } from "./common.js";

const FINISH = {
  length: "reached the token limit",
  context: "the model's context is full",
  end_of_text: "the model ended the text",
};

/** The section. `ctx`: {store, models() (available), prompt() (the sentence), catalogModel}. */
export function generateSection(ctx) {
  const dom = byIds(
    "gen-form gmodel gstrategy gtemp gtopk gseed gmax gstart gstop gstatus gtext gview glayer ghead ghead-label gen-plot gen-note".split(
      " ",
    ),
  );
  const node = document.getElementById("generate");
  const errorBox = node.querySelector("[data-error]");
  const plot = createPlot(dom.genPlot);
  let ctrl = null;
  let gen = startGeneration();
  let model = null;
  let frame = 0;

  const fields = [
    [dom.gmodel, "gmodel", String],
    [dom.gstrategy, "strategy", String],
    [dom.gtemp, "temp", Number],
    [dom.gtopk, "topk", (v) => (v === "" ? 0 : Number(v))],
    [dom.gseed, "seed", (v) => (v === "" ? -1 : Number(v))],
    [dom.gmax, "max", Number],
  ];
  for (const [input, key, read] of fields)
    input.addEventListener("change", () => {
      const v = read(input.value);
      if (typeof v === "number" && !Number.isFinite(v)) return;
      ctx.store.set({ [key]: v });
    });
  dom.glayer.addEventListener("change", () => schedule());
  dom.ghead.addEventListener("change", () => schedule());
  dom.genForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    start();
  });
  dom.gstop.addEventListener("click", () => stop());

  /** The controls show the state (and sampling's options only when sampling). */
  function sync(st) {
    const models = ctx.models();
    fillSelect(
      dom.gmodel,
      models.map((m) => ({ value: m.name, label: `${m.name} (${m.spec.architecture})` })),
      st.gmodel,
    );
    dom.gstrategy.value = st.strategy;
    const sampling = st.strategy === "sample";
    for (const input of [dom.gtemp, dom.gtopk, dom.gseed]) input.disabled = !sampling || Boolean(ctrl);
    if (document.activeElement !== dom.gtemp) dom.gtemp.value = String(st.temp);
    if (document.activeElement !== dom.gtopk) dom.gtopk.value = st.topk > 0 ? String(st.topk) : "";
    if (document.activeElement !== dom.gseed) dom.gseed.value = st.seed >= 0 ? String(st.seed) : "";
    if (document.activeElement !== dom.gmax) dom.gmax.value = String(st.max);
    dom.gmax.max = String(Math.min(256, ctx.catalogModel(st.gmodel)?.spec.n_ctx ?? 256));
  }

  async function start() {
    if (ctrl) return;
    const st = ctx.store.get();
    const prompt = ctx.prompt();
    if (!prompt.trim()) {
      showError(errorBox, { title: "Nothing to continue", detail: "Type a sentence at the top of the page first." });
      return;
    }
    model = ctx.catalogModel(st.gmodel);
    const body = generateRequest(st, prompt);
    ctrl = new AbortController();
    const mine = ctrl;
    gen = startGeneration();
    showError(errorBox, null);
    node.dataset.status = "loading";
    dom.gstart.disabled = true;
    dom.gstop.disabled = false;
    sync(st);
    dom.gtext.replaceChildren(el("span", { class: "prompt" }, prompt));
    dom.gstatus.textContent = `${model.name} is writing…`;
    dom.genNote.textContent = "";
    setupView();
    try {
      await streamGenerate(body, (line) => onLine(line, body), mine.signal);
      finish(body, false);
    } catch (err) {
      if (err.name === "AbortError") finish(body, true);
      else {
        node.dataset.status = "error";
        dom.gstatus.textContent = "";
        showError(errorBox, err);
      }
    } finally {
      ctrl = null;
      dom.gstart.disabled = false;
      dom.gstop.disabled = true;
      sync(ctx.store.get());
    }
  }

  function stop() {
    ctrl?.abort();
  }

  function onLine(line, body) {
    gen = reduceGeneration(gen, line);
    if (line.type === "token") {
      const alts = line.top_strings.map((s, k) => `${s} ${(100 * line.top_probs[k]).toFixed(1)}%`).join(", ");
      const tip = `#${line.position} ${line.string}: p = ${(100 * line.probability).toFixed(1)}%; the model's top: ${alts}`;
      dom.gtext.append(el("span", { class: "gen-tok", title: tip, "data-index": line.index }, line.text));
      const last = `${gen.tokens.length} of at most ${body.max_new_tokens} tokens · last ${line.string} (p ${(100 * line.probability).toFixed(1)}%)`;
      dom.gstatus.textContent = last;
      node.dataset.tokens = String(gen.tokens.length);
      schedule();
    }
  }

  function finish(body, stopped) {
    node.dataset.status = stopped ? "stopped" : "ready";
    const n = gen.tokens.length;
    const why = stopped ? "stopped" : (FINISH[gen.finish] ?? "done");
    const seed = body.seed !== undefined ? ` · seed ${body.seed} (type it in Seed to write the same text again)` : "";
    dom.gstatus.textContent = `${n} token${n === 1 ? "" : "s"} · ${why}${seed}`;
    schedule();
  }

  /** The layer and head (or state) selects, from what the model declares. */
  function setupView() {
    const spec = model.spec;
    dom.gview.hidden = false;
    fillSelect(
      dom.glayer,
      range(spec.n_layers),
      dom.glayer.value && Number(dom.glayer.value) < spec.n_layers ? dom.glayer.value : String(spec.n_layers - 1),
    );
    if (spec.attention.length) {
      dom.gheadLabel.textContent = "Head";
      fillSelect(dom.ghead, [{ value: "mean", label: "mean over heads" }, ...range(spec.attention[0].n_heads)], "mean");
    } else {
      dom.gheadLabel.textContent = "State";
      const states = spec.parts.filter((p) => p === "h" || p === "c");
      fillSelect(
        dom.ghead,
        states.map((p) => ({ value: p, label: p })),
        "h",
      );
    }
  }

  /** Redraw on the next frame (tokens may arrive faster than plotly draws). */
  function schedule() {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => draw());
  }

  async function draw() {
    if (!gen.tokens.length || !model) return;
    const layer = Number(dom.glayer.value);
    const choice = dom.ghead.value;
    const first = gen.tokens[0];
    dom.genPlot.hidden = false;
    let fig;
    if (first.attention && Object.keys(first.attention).length) {
      const kind = Object.keys(first.attention)[0];
      const rows = gen.tokens.map((t) => {
        const heads = t.attention[kind][layer];
        const weights =
          choice === "mean"
            ? heads[0].map((_, j) => heads.reduce((a, h) => a + h[j], 0) / heads.length)
            : heads[Number(choice)];
        return { position: t.position, weights };
      });
      fig = growingAttentionFigure(rows, gen.strings, {
        title: `Layer ${layer} · ${choice === "mean" ? "mean over heads" : `head ${choice}`}: each new token's attention row, as it was produced`,
      });
    } else {
      const part = first.states[choice] ? choice : Object.keys(first.states)[0];
      const columns = gen.tokens.map((t) => ({ position: t.position, values: t.states[part][layer] }));
      fig = growingStatesFigure(columns, gen.strings, {
        valueName: part,
        range: part === "h" ? [-1, 1] : undefined,
        title: `Layer ${layer} · ${part}: each new token's state column, as it was produced`,
      });
    }
    await plot.render(fig, { filename: `attenzione-${model.name}-generation` });
    dom.genNote.textContent =
      "Hover a new token in the text for its probability and the model's other candidates. " +
      (first.attention && Object.keys(first.attention).length
        ? "Row i: where the i-th new token looked when the model predicted the token after it."
        : "Column i: the state after reading the i-th new token, from which the next one was predicted.");
  }

  return { sync, stop, running: () => Boolean(ctrl) };
}
