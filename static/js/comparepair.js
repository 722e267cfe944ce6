/**
 * The compare page's minimal pairs: two texts that differ in a word or two, aligned token by
 * token; each model's Δbits (B's surprisal minus A's) at every token; and at a chosen
 * differing place, P(word A) and P(word B) after each text's context, for every model. Every
 * number comes from POST /compare predictions: P(word | prefix) is 2^−(the surprisal of the
 * word's tokens) in a trace of prefix + word. The section says its state in `data-status`.
 */

import { fetchCompare } from "./api.js";
import { deltaFigure } from "./comparefig.js";
import {
  alignTokens,
  deltaBits,
  diffRuns,
  formatP,
  PAIR_SAMPLES,
  splitAt,
  subscripted,
  tokenBits,
  wordProbability,
} from "./comparemath.js";
import { byIds, el, fillSelect } from "./dom.js";
import { createPlot, labelsThatFitWidth, plotlyReady } from "./plot.js";
import { debounce } from "./state.js";
import { term } from "./tooltip.js";

const IDS = [
  "pair",
  "pair-form",
  "pair-sample",
  "pair-a",
  "pair-b",
  "pair-at",
  "pair-note",
  "delta-plot",
  "pair-table",
];
const KEYS = ["pa", "pb", "pat", "models"];

export function createPair({ store, lane }) {
  // one request at a time (the page's lane): the texts are short, the slots few
  const predictionsOf = (models, text, signal) =>
    lane(() => fetchCompare({ models, text, parts: ["predictions"], top_k: 1 }, signal));

  const dom = byIds(IDS);
  const plot = createPlot(dom.deltaPlot);
  let inflight = null;
  const soon = debounce(() => run(), 400);
  const status = (s) => {
    dom.pair.dataset.status = s;
  };

  fillSelect(
    dom.pairSample,
    [{ value: "", label: "Pairs…" }, ...PAIR_SAMPLES.map((s, i) => ({ value: String(i), label: s.label }))],
    "",
  );
  dom.pairSample.addEventListener("change", () => {
    const s = PAIR_SAMPLES[Number(dom.pairSample.value)];
    dom.pairSample.value = "";
    if (s) store.set({ pa: s.a, pb: s.b, pat: -1 });
  });
  dom.pairA.addEventListener("input", () => store.set({ pa: dom.pairA.value }));
  dom.pairB.addEventListener("input", () => store.set({ pb: dom.pairB.value }));
  dom.pairAt.addEventListener("change", () => store.set({ pat: Number(dom.pairAt.value) }));
  dom.pairForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run();
  });

  async function run() {
    soon.cancel();
    inflight?.abort();
    const st = store.get();
    syncText(st);
    if (st.models.length < 2 || !st.pa.trim() || !st.pb.trim()) {
      dom.pairNote.textContent = "Two texts and at least two models make a minimal pair.";
      status("idle");
      return;
    }
    const ctrl = new AbortController();
    inflight = ctrl;
    status("loading");
    try {
      const [resA, resB] = await Promise.all([st.pa, st.pb].map((t) => predictionsOf(st.models, t, ctrl.signal)));
      const shown = measure(resA, resB, st);
      const probs = shown.run ? await probabilities(shown, st, ctrl.signal) : null;
      await plotlyReady;
      if (inflight !== ctrl) return;
      await draw(shown, probs);
      status("ready");
    } catch (err) {
      if (err.name === "AbortError" || inflight !== ctrl) return;
      dom.pairNote.textContent = `${err.title ?? "Failed"}: ${err.detail ?? err.message}`;
      plot.purge();
      dom.pairTable.replaceChildren();
      status("error");
    } finally {
      if (inflight === ctrl) inflight = null;
    }
  }

  /** The two texts aligned on the first model's tokens, each model's Δbits, the chosen place. */
  function measure(resA, resB, st) {
    const tokA = resA.tokenizations[resA.models[0].tokenizer];
    const tokB = resB.tokenizations[resB.models[0].tokenizer];
    const slots = alignTokens(tokA.strings, tokB.strings);
    const runs = diffRuns(slots).filter((r) => r.a[1] > r.a[0] && r.b[1] > r.b[0]);
    const series = resA.models.map((mA, k) => {
      const mB = resB.models[k];
      const sameTokens = mA.tokenizer === resA.models[0].tokenizer && mB.tokenizer === resB.models[0].tokenizer;
      if (mA.error || mB.error || !sameTokens) return { name: mA.model, delta: null, why: mA.error ?? mB.error };
      const bits = (m) => tokenBits(m.predictions.surprisal_bits);
      return { name: mA.model, delta: deltaBits(slots, bits(mA), bits(mB)) };
    });
    const at = st.pat >= 0 && st.pat < runs.length ? st.pat : runs.length - 1;
    const run = runs[at] ?? null;
    return { tokA, tokB, slots, runs, at, run, series, models: resA.models.map((m) => m.model) };
  }

  /** P(word A) and P(word B) after each text's context, per model: {a: {a, b}, b: {a, b}}. */
  async function probabilities(shown, st, signal) {
    const A = splitAt(st.pa, shown.tokA.spans, shown.run.a);
    const B = splitAt(st.pb, shown.tokB.spans, shown.run.b);
    const cases = [
      ["a", "a", A.prefix, A.word],
      ["a", "b", A.prefix, B.word],
      ["b", "a", B.prefix, A.word],
      ["b", "b", B.prefix, B.word],
    ];
    const answers = await Promise.all(
      cases.map(([, , prefix, word]) => predictionsOf(st.models, prefix + word, signal)),
    );
    const out = { words: { a: A.word, b: B.word }, prefixes: { a: A.prefix, b: B.prefix }, byModel: {} };
    for (const name of shown.models) out.byModel[name] = { a: {}, b: {} };
    cases.forEach(([ctx, word, prefix], i) => {
      const res = answers[i];
      for (const m of res.models) {
        const tok = res.tokenizations[m.tokenizer];
        out.byModel[m.model][ctx][word] = m.error
          ? null
          : wordProbability(tok.spans, m.predictions.surprisal_bits, prefix.length);
      }
    });
    return out;
  }

  async function draw(shown, probs) {
    const { slots, tokA, tokB, runs } = shown;
    const labels = subscripted(
      slots.map((s) =>
        s.same
          ? tokA.strings[s.a]
          : `${s.a === null ? "∅" : tokA.strings[s.a]} → ${s.b === null ? "∅" : tokB.strings[s.b]}`,
      ),
    );
    const drawn = shown.series.filter((s) => s.delta);
    const skipped = shown.series.filter((s) => !s.delta).map((s) => `${s.name}: ${s.why?.detail ?? "other tokens"}`);
    dom.pairNote.textContent = [
      runs.length ? `${runs.length} place${runs.length === 1 ? "" : "s"} differ` : "The texts do not differ.",
      ...skipped,
    ].join(" · ");
    fillSelect(
      dom.pairAt,
      runs.map((r, i) => ({
        value: String(i),
        label: `${tokA.strings.slice(...r.a).join("")} → ${tokB.strings.slice(...r.b).join("")}`,
      })),
      String(shown.at),
    );
    dom.pairAt.disabled = runs.length < 2;
    await plot.render(
      deltaFigure(
        labels,
        drawn,
        slots.map((s) => !s.same),
        { maxLabels: labelsThatFitWidth(dom.deltaPlot, 80) },
      ),
      { filename: "attenzione-minimal-pair-delta-bits" },
    );
    renderTable(shown, probs);
  }

  function renderTable(shown, probs) {
    if (!probs) {
      dom.pairTable.replaceChildren();
      return;
    }
    const q = (s) => `“${s.trim()}”`;
    const ctx = (c) => `…${probs.prefixes[c].slice(-16)}`;
    const head = el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { rowspan: "2" }, "model"),
        el("th", { colspan: "2", title: probs.prefixes.a }, `after A: ${ctx("a")}`),
        el("th", { colspan: "2", title: probs.prefixes.b }, `after B: ${ctx("b")}`),
      ),
      el(
        "tr",
        {},
        ...["a", "b"].flatMap(() => [
          el("th", { class: "num" }, `P(${q(probs.words.a)})`),
          el("th", { class: "num" }, `P(${q(probs.words.b)})`),
        ]),
      ),
    );
    const cell = (v, best, c, w) =>
      el(
        "td",
        {
          class: `num${best ? " best" : ""}`,
          "data-context": c,
          "data-word": w,
          "data-bits": v ? String(v.bits) : null,
          title: v ? `${v.bits.toFixed(3)} bits` : "not comparable: the word does not start a token here",
        },
        v ? formatP(v.p) : "—",
      );
    const body = shown.models.map((name) => {
      const m = probs.byModel[name];
      return el(
        "tr",
        { "data-model": name },
        el("th", {}, name),
        ...["a", "b"].flatMap((c) => {
          const [pa, pb] = [m[c].a, m[c].b];
          return [cell(pa, pa && pb && pa.p > pb.p, c, "a"), cell(pb, pa && pb && pb.p > pa.p, c, "b")];
        }),
      );
    });
    const caption = el(
      "caption",
      {},
      "At the chosen place: ",
      term("minimal-pair", "the pair's"),
      " two words after each context",
    );
    dom.pairTable.replaceChildren(caption, head, el("tbody", {}, ...body));
  }

  function syncText(st) {
    if (dom.pairA.value !== st.pa) dom.pairA.value = st.pa;
    if (dom.pairB.value !== st.pb) dom.pairB.value = st.pb;
  }

  return {
    start() {
      syncText(store.get());
      run();
    },
    /** The page's state changed: run again when the pair, the place or the models did. */
    changed(st, changed) {
      if (!KEYS.some((k) => changed.has(k))) return;
      syncText(st);
      if (changed.has("pa") || changed.has("pb")) soon();
      else run();
    },
  };
}
