/**
 * Section 4 of /learn: every head of the attention model on the reader's sentence (the
 * page's trace), and what each head does: previous-token, first-token, induction and
 * duplicate-token scores and ablation cost from the model card's probes, and the same
 * scores measured on the sentence. Picking a head opens it in section 3.
 */

import { pageUrl } from "../api.js";
import { byIds, el } from "../dom.js";
import { selectionShape, tensorMatrix } from "../figures.js";
import { createPlot } from "../plot.js";
import { headRoles, headScores, probesOf } from "../stepmath.js";
import { term } from "../tooltip.js";
import { modelView, modelViewNames, modelViewPick } from "../views.js";
import { keyboardGrid } from "../widgets.js";
import { fillTable, num, pageLink } from "./common.js";

const SCORES = ["previous_token", "first_token", "induction", "duplicate_token"];
const ROLE_TERMS = {
  previous_token: "previous-token-head",
  first_token: "first-token-head",
  induction: "induction-head",
  duplicate_token: "duplicate-token-head",
};
const ROLE_NAMES = {
  previous_token: "previous token",
  first_token: "first token (sink)",
  induction: "induction",
  duplicate_token: "duplicate token",
};

/** The section. `ctx`: {store, catalogModel(name), open(layer, head) (section 3)}. */
export function headsSection(ctx) {
  const dom = byIds("heads-table heads-note heads-links heads-keys".split(" "));
  const grid = createPlot(document.getElementById("heads-grid"), { click: (p) => pick(p.curveNumber) });
  const keys = keyboardGrid(dom.headsKeys, (cell) => pick(cell));
  let shown = null; // {trace, att}

  function pick(cell) {
    if (!shown) return;
    const { layer, head } = modelViewPick(shown.att, cell);
    ctx.open(layer, head, false);
  }

  const section = {
    id: "heads",
    key: (view) => `${view.text}|${view.trace?.model}|${Boolean(view.trace?.parts?.attention?.self)}`,
    async load(view) {
      const att = view.trace?.parts?.attention?.self;
      if (!att) {
        shown = null;
        throw { title: "No model with attention", detail: "No available model declares self-attention." };
      }
      shown = { trace: view.trace, att };
      const fig = modelView(att, { sink: false, filter: "none" });
      fig.layout.title.text = `${view.trace.model}: every layer × head on your sentence · click or press Enter to step through one`;
      await grid.render(fig, { filename: `attenzione-${view.trace.model}-heads`, shapes: selectionShape(cell(view)) });
      const names = modelViewNames(att);
      keys.update(fig.grid, names.label, names.cellLabel);
      keys.select(cell(view));
      drawTable(view);
    },
    /** Section 3's head changed: move the selection, no request. */
    select(view) {
      if (!shown) return;
      grid.setShapes(selectionShape(cell(view)));
      keys.select(cell(view));
      for (const tr of dom.headsTable.querySelectorAll("tbody tr"))
        tr.classList.toggle("selected", tr.dataset.head === `${view.layer}.${view.head}`);
    },
  };

  const cell = (view) => (shown ? view.layer * shown.att.shape[1] + view.head : -1);

  function drawTable(view) {
    const { trace, att } = shown;
    const [L, H] = att.shape;
    const model = ctx.catalogModel(trace.model);
    const card = probesOf(model).heads;
    const roles = card ? headRoles(card, SCORES) : [];
    const here = [];
    for (let l = 0; l < L; l++)
      for (let h = 0; h < H; h++) here.push(headScores(tensorMatrix(att, l, h), trace.tokens.ids));
    const cardCell = (name, l, h) => (card?.[name]?.[l]?.[h] === undefined ? "–" : card[name][l][h]);
    const head = [
      "head",
      "role (held-out text)",
      term("previous-token-head", "previous"),
      term("first-token-head", "first"),
      term("induction-head", "induction"),
      term("duplicate-token-head", "duplicate"),
      term("ablation", "ablation, bits/token"),
      "previous · here",
      "first · here",
      "induction · here",
      "",
    ];
    const rows = [];
    for (let l = 0; l < L; l++)
      for (let h = 0; h < H; h++) {
        const role = roles.find((r) => r.layer === l && r.head === h);
        const s = here[l * H + h];
        const button = el(
          "button",
          { type: "button", class: "small-btn", onclick: () => ctx.open(l, h, true) },
          "Step through",
        );
        rows.push({
          class: l === view.layer && h === view.head ? "selected" : null,
          cells: [
            { v: `${l}.${h}`, th: true },
            role?.role ? term(ROLE_TERMS[role.role], ROLE_NAMES[role.role]) : card ? "—" : "",
            ...SCORES.map((n) => cardCell(n, l, h)),
            cardCell("ablation_bits", l, h),
            s.previous_token ?? "–",
            s.first_token ?? "–",
            s.induction ?? "–",
            button,
          ],
        });
      }
    fillTable(dom.headsTable, head, rows);
    dom.headsTable.querySelectorAll("tbody tr").forEach((tr, i) => {
      tr.dataset.head = `${Math.floor(i / H)}.${i % H}`;
    });
    const repeats = here.some((s) => s.induction !== null);
    dom.headsNote.textContent =
      (card
        ? `Held-out scores: mean attention over held-out text (previous, first), on repeated random word lists (induction, duplicate), and the loss increase with the head zeroed (ablation, over ${model.card.probes.heads.ablation_tokens ?? "?"} tokens). `
        : `${trace.model}: held-out head scores ${"not measured for this model yet"}. `) +
      `"Here": the same means on your ${trace.tokens.ids.length} tokens` +
      (repeats ? "." : "; induction needs a token that repeats an earlier one, which your sentence has not.") +
      ` The role is the largest held-out score when it reaches ${num(0.3)}.`;
    dom.headsLinks.replaceChildren(
      pageLink(
        pageUrl("explore", { text: view.text, model: trace.model, layer: view.layer, head: view.head }),
        "All heads in Explore",
      ),
    );
  }

  return section;
}
