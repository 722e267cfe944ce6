/**
 * The compare page's influence section: every model's influence map (POST /influence) on
 * one shared colour range, side by side or one large with the others as small multiples;
 * the Transformer's attention rollout beside its map; a difference map (model A − model B)
 * on a diverging scale; and each model's influence-vs-distance profile on this text, with
 * its model card's held-out profile as a faint reference where the card has one. The
 * section says its state in `data-status` (idle, loading, ready, refused, error).
 */

import { fetchInfluence } from "./api.js";
import { modelNamed } from "./catalog.js";
import { fitTicks, MODEL_COLOURS, mapFigure, profileFigure } from "./comparefig.js";
import { differenceMap, fullRollout, logProfile, meanByDistance, sharedRange } from "./comparemath.js";
import { byIds, el, fillSelect } from "./dom.js";
import { createPlot } from "./plot.js";
import { probesOf } from "./stepmath.js";
import { axisLabels } from "./tokentext.js";
import { mapToken } from "./views.js";

const KEYS = ["imethod", "imap", "rollout", "diffa", "diffb"];
const IDS = [
  "influence",
  "imethod",
  "imap",
  "rollout",
  "diff-a",
  "diff-b",
  "influence-note",
  "maps",
  "diff-plot",
  "diff-note",
  "profile-plot",
  "profile-note",
];

/** A map `fig` in `node`, labelled every k-th token as fits (small ones are bare). */
const fitted = (fig, labels, node) =>
  fig.layout.xaxis.tickvals.length ? fitTicks(fig, labels, node.clientWidth, node.clientHeight) : fig;

export function createInfluence({ store, focus, lane, catalog }) {
  const dom = byIds(IDS);
  let shown = null; // {key, res (compare), inf (influence response)}
  let inflight = null;
  const cells = new Map(); // cell id -> {plot, toPrimary, toLocal}
  const rollouts = new WeakMap(); // attention tensor -> its rollout (redraws reuse it)
  const rolloutOf = (att) => {
    if (!rollouts.has(att)) rollouts.set(att, fullRollout(att));
    return rollouts.get(att);
  };
  const diffPlot = createPlot(
    dom.diffPlot,
    pointer(() => shown?.diffTokens),
  );
  const profilePlot = createPlot(dom.profilePlot);

  dom.imethod.addEventListener("change", () => store.set({ imethod: dom.imethod.value }));
  dom.imap.addEventListener("change", () => store.set({ imap: dom.imap.value }));
  dom.rollout.addEventListener("change", () => store.set({ rollout: dom.rollout.checked }));
  dom.diffA.addEventListener("change", () => store.set({ diffa: dom.diffA.value }));
  dom.diffB.addEventListener("change", () => store.set({ diffb: dom.diffB.value }));
  dom.maps.addEventListener("click", (ev) => {
    const name = ev.target.closest("button.enlarge")?.dataset.model;
    if (name !== undefined) store.set({ imap: name });
  });

  /** Pointer events of a map: hover and click move the token focus to the row's position. */
  function pointer(tokensNow) {
    const at = (p) => {
      const tokens = tokensNow();
      const primary = shown && primaryTokens(shown.res);
      return tokens && primary ? mapToken(p.y, tokens.spans, primary.spans) : null;
    };
    return {
      hover: (p) => focus.hover(at(p), null),
      unhover: () => focus.hover(null, null),
      click: (p) => focus.select(at(p), null),
    };
  }

  const primaryTokens = (res) => res.tokenizations[res.models[0].tokenizer];
  const status = (s) => {
    dom.influence.dataset.status = s;
  };

  function clear() {
    inflight?.abort();
    inflight = null;
    shown = null;
    for (const c of cells.values()) c.plot.purge();
    cells.clear();
    dom.maps.replaceChildren();
    delete dom.maps.dataset.shows;
    diffPlot.purge();
    profilePlot.purge();
    dom.diffPlot.hidden = true;
    dom.profilePlot.hidden = true;
    for (const node of [dom.influenceNote, dom.diffNote, dom.profileNote]) node.textContent = "";
    status("idle");
  }

  /** Measure influence for the compare response `res` (once per text, models and method). */
  async function load(res, st) {
    const key = JSON.stringify([res.text, st.models, st.imethod]);
    if (shown?.key === key && shown.inf) return draw(store.get());
    clear();
    const max = catalog()?.influence?.max_tokens ?? null;
    const n = primaryTokens(res).n_tokens;
    if (max !== null && n > max) {
      // every model would refuse: say so instead of asking
      dom.influenceNote.textContent = `Influence is measured on texts of up to ${max} tokens; this one has ${n}.`;
      status("refused");
      return;
    }
    const ctrl = new AbortController();
    inflight = ctrl;
    status("loading");
    dom.influenceNote.textContent = `Measuring influence (${st.imethod}) for ${st.models.join(", ")}…`;
    try {
      const ask = { models: st.models, text: res.text, method: st.imethod };
      const inf = await lane(() => fetchInfluence(ask, ctrl.signal));
      if (inflight !== ctrl) return;
      inflight = null;
      shown = { key, res, inf };
      await draw(store.get());
    } catch (err) {
      if (err.name === "AbortError" || inflight !== ctrl) return;
      inflight = null;
      dom.influenceNote.textContent = `${err.title ?? "Influence failed"}: ${err.detail ?? err.message}`;
      status("error");
    }
  }

  /** The maps, the difference and the profiles of what was measured, in the page's view. */
  async function draw(st) {
    if (!shown) return;
    const { res, inf } = shown;
    const ok = inf.models.filter((m) => m.influence);
    const tokensOf = (m) => inf.tokenizations[m.tokenizer];
    // axis labels as on the other maps: byte pieces as their character, repeats subscripted
    const labelsOf = (tokens) => axisLabels(tokens.strings, tokens.spans, res.text);
    const range = sharedRange(ok.map((m) => m.influence));
    const large = ok.some((m) => m.model === st.imap) ? st.imap : "";
    const refusals = inf.models.filter((m) => m.error).map((m) => `${m.model}: ${m.error.detail}`);
    const scale = range.capped
      ? `±${range.zmax.toPrecision(3)}, the 99th percentile of |influence| over all of them (largest ${range.max.toPrecision(3)})`
      : `±${range.zmax.toPrecision(3)}`;
    dom.influenceNote.textContent = [
      `${ok.length} map${ok.length === 1 ? "" : "s"} on one colour scale: ${scale}`,
      ...refusals,
    ].join(" · ");
    syncControls(st);
    // one cell per model (its map, or why it refused), and the rollout beside an attending one
    const specs = inf.models.flatMap((m) => {
      const att = res.models.find((c) => c.model === m.model && !c.error)?.parts?.attention?.self;
      const own = { id: `imap-${m.model}`, model: m.model, kind: "influence", m };
      return att && st.rollout && m.influence
        ? [own, { id: `rollout-${m.model}`, model: m.model, kind: "rollout", att }]
        : [own];
    });
    const signature = JSON.stringify([specs.map((s) => s.id), large]);
    if (dom.maps.dataset.shows !== signature) {
      for (const c of cells.values()) c.plot.purge();
      cells.clear();
      dom.maps.replaceChildren(...specs.map((s) => cellNode(s, large)));
      dom.maps.classList.toggle("one", Boolean(large));
      dom.maps.dataset.shows = signature;
    }
    const primary = primaryTokens(res);
    await Promise.all(
      specs.map((s) => {
        const cell = cells.get(s.id);
        if (!cell) return null;
        const small = isSmall(s, large);
        const tokens =
          s.kind === "rollout"
            ? res.tokenizations[res.models.find((c) => c.model === s.model).tokenizer]
            : tokensOf(s.m);
        cell.toPrimary = (i) => mapToken(i, tokens.spans, primary.spans);
        cell.toLocal = (t) => mapToken(t, primary.spans, tokens.spans);
        const labels = labelsOf(tokens);
        const fig =
          s.kind === "rollout"
            ? mapFigure(rolloutOf(s.att), labels, {
                zmin: 0,
                zmax: 1,
                diverging: false,
                valueName: "rollout",
                title: `${s.model}: rollout, all layers`,
                small,
              })
            : mapFigure(s.m.influence, labels, {
                ...range,
                valueName: inf.method === "gradient" ? "grad × input" : "Δ log p",
                title: `${s.model}: ${inf.method}`,
                small,
              });
        return cell.plot.render(fitted(fig, labels, cell.plot.node), {
          filename: `attenzione-${s.id}`,
          token: cell.toLocal(focus.current()),
          toolbar: !small,
        });
      }),
    );
    await Promise.all([drawDifference(st, ok, tokensOf, labelsOf), drawProfiles(ok, inf.method)]);
    status("ready");
  }

  /** With one model large, every other cell is small, and so is its rollout (one large cell). */
  const isSmall = (s, large) => Boolean(large) && (s.model !== large || s.kind === "rollout");

  function cellNode(s, large) {
    const small = isSmall(s, large);
    const what = s.kind === "rollout" ? `${s.model} · rollout` : s.model;
    const header = el(
      "header",
      {},
      el("h3", {}, what),
      small && s.kind === "influence"
        ? el(
            "button",
            { type: "button", class: "enlarge", "data-model": s.model, title: `Show ${s.model} large` },
            "enlarge",
          )
        : null,
    );
    const cls = `map-cell${s.kind === "rollout" ? " rollout" : ""}${large ? (small ? " small" : " large") : ""}`;
    if (s.kind === "influence" && !s.m.influence) {
      const why = el(
        "div",
        { class: "refusal", role: "note" },
        el("strong", {}, s.m.error?.title ?? "No map"),
        " ",
        s.m.error?.detail ?? "",
      );
      return el("article", { class: cls, "data-model": s.model, "data-kind": s.kind }, header, why);
    }
    const node = el("div", { class: "plot", id: s.id });
    const entry = { plot: null, toPrimary: (i) => i, toLocal: (t) => t };
    entry.plot = createPlot(node, {
      hover: (p) => focus.hover(entry.toPrimary(p.y), entry.plot),
      unhover: () => focus.hover(null, entry.plot),
      // a click on a small map enlarges it, on another picks the token
      click: (p) => (small ? store.set({ imap: s.model }) : focus.select(entry.toPrimary(p.y), entry.plot)),
    });
    cells.set(s.id, entry);
    return el("article", { class: cls, "data-model": s.model, "data-kind": s.kind }, header, node);
  }

  /** Model A − model B on a diverging scale of its own (symmetric about 0). */
  async function drawDifference(st, ok, tokensOf, labelsOf) {
    const [a, b] = pickPair(st, ok);
    if (!a || !b) {
      dom.diffNote.textContent = "A difference map needs two models with an influence map.";
      dom.diffPlot.hidden = true;
      return;
    }
    const diff = differenceMap(a.influence, b.influence);
    if (!diff) {
      dom.diffNote.textContent = `${a.model} and ${b.model} split this text into different tokens: no cell-by-cell difference.`;
      dom.diffPlot.hidden = true;
      return;
    }
    const range = sharedRange([diff]);
    shown.diffTokens = tokensOf(a);
    dom.diffPlot.hidden = false; // measured for its labels below
    const capped = range.capped ? " (99th percentile of |A − B|)" : "";
    dom.diffNote.textContent = `red: ${a.model} gives more influence, blue: ${b.model} does; scale ±${range.zmax.toPrecision(3)}${capped}`;
    const labels = labelsOf(tokensOf(a));
    const fig = mapFigure(diff, labels, {
      ...range,
      valueName: `${a.model} − ${b.model}`,
      title: `Difference: ${a.model} − ${b.model}`,
    });
    await diffPlot.render(fitted(fig, labels, dom.diffPlot), {
      filename: `attenzione-influence-${a.model}-minus-${b.model}`,
    });
  }

  /** The two models of the difference map: the chosen ones if both have a map, else the
   * first two that do. */
  function pickPair(st, ok) {
    const named = (n) => ok.find((m) => m.model === n);
    const a = named(st.diffa) ?? ok[0];
    const b = (st.diffb !== a?.model && named(st.diffb)) || ok.find((m) => m !== a);
    return [a, b];
  }

  /** Each model's profile by distance on this text (log-log), the card's held-out one faint. */
  async function drawProfiles(ok, method) {
    const gradient = method === "gradient";
    const unmeasured = [];
    const series = ok.map((m) => {
      const k = shown.res.models.findIndex((c) => c.model === m.model);
      const own = logProfile(
        meanByDistance(gradient ? m.grad_norm : m.influence.map((row) => row.map((v) => Math.abs(v)))),
      );
      const card = probesOf(modelNamed(catalog(), m.model)).gradient;
      if (!card) unmeasured.push(m.model);
      const reference = gradient && card ? logProfile(card) : null;
      return { name: m.model, colour: MODEL_COLOURS[k % MODEL_COLOURS.length], ...own, reference };
    });
    const notes = [];
    if (!gradient) notes.push("the cards' held-out profile is a gradient norm: pick gradient to compare with it");
    else if (unmeasured.length) notes.push(`held-out profile not measured for ${unmeasured.join(", ")}`);
    dom.profileNote.textContent = notes.join(" · ");
    dom.profilePlot.hidden = false;
    const fig = profileFigure(series, {
      yTitle: gradient ? "mean ‖∂ log p / ∂e_s‖" : "mean |Δ log p| (occlusion)",
    });
    await profilePlot.render(fig, { filename: "attenzione-influence-vs-distance" });
  }

  /** The selects that depend on the models measured. */
  function syncControls(st) {
    dom.imethod.value = st.imethod;
    dom.rollout.checked = st.rollout;
    const names = shown ? shown.inf.models.filter((m) => m.influence).map((m) => m.model) : st.models;
    fillSelect(
      dom.imap,
      [
        { value: "", label: "all side by side" },
        ...names.map((n) => ({ value: n, label: `${n} large, others small` })),
      ],
      names.includes(st.imap) ? st.imap : "",
    );
    const [a, b] = shown
      ? pickPair(
          st,
          shown.inf.models.filter((m) => m.influence),
        )
      : [];
    const options = names.map((n) => ({ value: n, label: n }));
    fillSelect(dom.diffA, options, a?.model ?? names[0] ?? "");
    fillSelect(dom.diffB, options, b?.model ?? names[1] ?? "");
  }

  return {
    /** Whether a change of these state keys is this section's alone. */
    owns: (changed) => [...changed].every((k) => KEYS.includes(k)),
    /** A change of the section's own keys: measure again for a new method, else redraw. */
    changed(st, changed) {
      if (changed.has("imethod") && st.trace) load(st.trace, st);
      else draw(st);
    },
    syncControls,
    load,
    clear,
    /** Outline token `t` (the page's first tokenisation) in every map. */
    highlight(t, source) {
      for (const c of cells.values()) if (c.plot !== source && c.plot.shown()) c.plot.highlight(c.toLocal(t));
      if (diffPlot !== source && diffPlot.shown() && shown?.diffTokens) {
        diffPlot.highlight(mapToken(t, primaryTokens(shown.res).spans, shown.diffTokens.spans));
      }
    },
  };
}
