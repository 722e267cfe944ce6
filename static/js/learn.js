/**
 * The /learn page: a guided tour of the paper's claims on the reader's sentence. The page's
 * own request traces the sentence with the attention model (the token strip, the heads,
 * the token count); then each part of the page loads in turn, one request at a time (the
 * server has few inference slots): a part loads again only when what it depends on (its
 * key) changes. The token the reader follows (`token`, −1: the last) is the query of the
 * attention steps and the step t of the gates. The URL holds every choice.
 */

import { fetchTrace } from "./api.js";
import { availableModels, modelNamed } from "./catalog.js";
import { el, fillSelect } from "./dom.js";
import { entries } from "./glossary.js";
import { attentionSection, sliderFromTau } from "./learn/attention.js";
import { gated, influenceSection, memorySection, parallelSection, probesSection } from "./learn/claims.js";
import { clamp, fillModels, range, sectionRunner } from "./learn/common.js";
import { gatesSection } from "./learn/gates.js";
import { generateSection } from "./learn/generate.js";
import { headsSection } from "./learn/heads.js";
import { openPage } from "./page.js";
import { createStrip } from "./widgets.js";

const SCHEMA = {
  text: { type: "string", fallback: "" },
  token: { type: "int", fallback: -1 }, // the token followed: the query (3) and the step t (5); -1: the last
  amodel: { type: "string", fallback: "" },
  layer: { type: "int", fallback: 0 },
  head: { type: "int", fallback: 0 },
  tau: { type: "number", fallback: 1 }, // the what-if softmax temperature of section 3
  rmodel: { type: "string", fallback: "" },
  rlayer: { type: "int", fallback: 0 },
  units: { type: "ints", fallback: [] },
  mmodel: { type: "string", fallback: "" },
  mlayer: { type: "int", fallback: 0 },
  mview: { type: "string", fallback: "mean" },
  imethod: { type: "string", fallback: "gradient" },
  gmodel: { type: "string", fallback: "" },
  strategy: { type: "string", fallback: "greedy" },
  temp: { type: "number", fallback: 1 },
  topk: { type: "int", fallback: 0 },
  seed: { type: "int", fallback: -1 },
  max: { type: "int", fallback: 40 },
};

const page = openPage({
  schema: SCHEMA,
  ids: "strip-note amodel alayer ahead rmodel rlayer mmodel mlayer mview influence-method astrip rstrip glossary-list".split(
    " ",
  ),
  copied: "Link copied: it restores this sentence and every choice on the page.",
  run: {
    blocked: (st) => (st.text.trim() ? null : ""),
    busyText: () => "Reading your sentence…",
    request: (st, signal) => {
      for (const r of runners) r.abort();
      const m = mainModel(st);
      const parts = m.spec.attention.length ? ["attention", "predictions"] : ["predictions"];
      return fetchTrace({ model: m.name, text: st.text, parts, top_k: catalog.default_top_k }, signal);
    },
    render: async (trace) => {
      settled = { text: trace.text, trace };
      showStrips();
      refresh();
    },
    done: (trace, ms) => `${trace.n_tokens} tokens · read by ${trace.model} in ${ms} ms`,
    clear: () => {
      settled = null;
      for (const r of runners) {
        r.abort();
        r.forget();
      }
      for (const s of [astrip, rstrip]) s.clear();
    },
    busy: "strip",
    shows: ["strip"],
  },
});
const { store, focus, dom, strip } = page;

let catalog = null;
let settled = null; // {text, trace}: the sentence the sections show (typing does not move them)
const astrip = createStrip(dom.astrip, focus);
const rstrip = createStrip(dom.rstrip, focus);

const models = () => (catalog ? availableModels(catalog) : []);
const attending = () => models().filter((m) => m.spec.attention.length);
const recurrent = () => models().filter((m) => !m.spec.attention.length && m.spec.parts.includes("h"));
const named = (name) => (catalog ? modelNamed(catalog, name) : null);

/** The model of the page's trace: the attention section's, else any available. */
function mainModel(st) {
  return named(st.amodel)?.available ? named(st.amodel) : (attending()[0] ?? models()[0]);
}

/** What the sections show: the state with the settled sentence, the token resolved. */
function currentView() {
  if (!settled) return null;
  const st = store.get();
  const T = settled.trace.n_tokens;
  const t = st.token < 0 || st.token >= T ? T - 1 : st.token;
  return { ...st, text: settled.text, trace: settled.trace, query: t, step: t };
}

/** Follow token `t` (both step-by-step sections). */
function follow(t) {
  focus.select(t, null);
}

const ctx = {
  store,
  focus,
  models,
  view: currentView,
  server: page.boot.server,
  catalogModel: named,
  prompt: () => settled?.text ?? store.get().text,
  select: follow,
  open(layer, head, jump) {
    store.set({ layer, head });
    if (jump) document.getElementById("attention-h").focus(); // and scrolls there
  },
};

const attention = attentionSection({ ...ctx, other: () => recurrent()[0] ?? null });
const heads = headsSection(ctx);
const gates = gatesSection({ ...ctx, other: () => attending()[0] ?? null });
const memory = memorySection();
const generate = generateSection(ctx);
const runners = [parallelSection(ctx), probesSection(ctx), attention, heads, gates, memory, influenceSection(ctx)].map(
  sectionRunner,
);

/* ---------- loading the sections, one at a time ---------- */

let loop = null;
let again = false;

/** Load every section whose key changed, in page order, one request at a time; a change
 * meanwhile aborts the section it makes stale and starts the round again. */
function refresh() {
  again = true;
  const view = currentView();
  if (view) for (const r of runners) if (r.running() && r.stale(view)) r.abort();
  if (!loop) loop = drain().finally(() => (loop = null));
  return loop;
}

async function drain() {
  while (again) {
    again = false;
    for (const r of runners) {
      const view = currentView();
      if (!view) return;
      if (r.stale(view)) await r.run(view);
      if (again) break;
    }
  }
}

/* ---------- controls ---------- */

function syncControls(st = store.get()) {
  if (dom.text.value !== st.text && document.activeElement !== dom.text) dom.text.value = st.text;
  const a = named(st.amodel);
  fillModels(dom.amodel, attending(), st.amodel);
  const kind = a?.spec.attention[0];
  fillSelect(dom.alayer, range(kind?.n_layers ?? 0), String(st.layer));
  fillSelect(dom.ahead, range(kind?.n_heads ?? 0), String(st.head));
  fillModels(dom.rmodel, recurrent(), st.rmodel);
  fillSelect(dom.rlayer, range(named(st.rmodel)?.spec.n_layers ?? 0), String(st.rlayer));
  fillModels(dom.mmodel, gated(models()), st.mmodel);
  fillSelect(dom.mlayer, range(named(st.mmodel)?.spec.n_layers ?? 0), String(st.mlayer));
  dom.mview.value = st.mview;
  dom.influenceMethod.value = st.imethod;
  generate.sync(st);
}

/** The state made valid for the catalog: each section's model one that it can show, the
 * layers and heads in range. */
function normalise(st) {
  const pick = (name, list) => (list.some((m) => m.name === name) ? name : (list[0]?.name ?? ""));
  const amodel = pick(st.amodel, attending());
  const rmodel = pick(st.rmodel, recurrent());
  const mmodel = pick(st.mmodel, gated(models()));
  const gmodel = pick(st.gmodel, models());
  const kind = named(amodel)?.spec.attention[0];
  return {
    amodel,
    rmodel,
    mmodel,
    gmodel,
    layer: clamp(st.layer, kind?.n_layers ?? 1),
    head: clamp(st.head, kind?.n_heads ?? 1),
    rlayer: clamp(st.rlayer, named(rmodel)?.spec.n_layers ?? 1),
    mlayer: clamp(st.mlayer, named(mmodel)?.spec.n_layers ?? 1),
    tau: st.tau > 0 ? st.tau : 1,
    strategy: st.strategy === "sample" ? "sample" : "greedy",
    mview: st.mview === "last" ? "last" : "mean",
    imethod: st.imethod === "occlusion" ? "occlusion" : "gradient",
    max: Math.min(256, Math.max(1, st.max)),
  };
}

const bind = (select, key, int = false) =>
  select.addEventListener("change", () =>
    store.set(normalise({ ...store.get(), [key]: int ? Number(select.value) : select.value })),
  );
bind(dom.amodel, "amodel");
bind(dom.alayer, "layer", true);
bind(dom.ahead, "head", true);
bind(dom.rmodel, "rmodel");
bind(dom.rlayer, "rlayer", true);
bind(dom.mmodel, "mmodel");
bind(dom.mlayer, "mlayer", true);
bind(dom.mview, "mview");
bind(dom.influenceMethod, "imethod");

/** The strips: the sentence as the page's model reads it, coloured by its surprisal. */
function showStrips() {
  const { trace } = settled;
  const strings = trace.tokens.strings;
  const bits = trace.predictions?.surprisal_bits ?? [];
  strip.show(strings, bits, trace);
  astrip.show(strings, bits, trace);
  rstrip.show(strings, bits, trace);
  dom.count.textContent = `(${trace.n_tokens} tokens)`;
  dom.stripNote.textContent =
    `Your sentence as ${trace.model} reads it, coloured by its surprisal at each token. ` +
    "Click a token (or move with the arrow keys) to follow it through sections 3 and 5.";
  markStrips(focus.current());
}

function markStrips(t) {
  const view = currentView();
  const selected = view ? view.query : null;
  for (const s of [strip, astrip, rstrip]) s.mark(t, selected);
}

function onFocus(t) {
  markStrips(t);
  attention.highlight(t);
  const selected = focus.selected();
  const token = selected ?? -1;
  if (token !== store.get().token) store.set({ token });
}

function onChange(st, changed) {
  syncControls(st);
  if (changed.has("text")) return page.runSoon();
  if (changed.has("amodel") && settled && mainModel(st).name !== settled.trace.model) return page.run();
  if (changed.has("tau")) attention.retemper(st);
  if (changed.has("units")) gates.units();
  const view = currentView();
  if (view && (changed.has("layer") || changed.has("head"))) heads.select(view);
  if (view && changed.has("mview")) memory.redraw(view);
  if (changed.has("token")) markStrips(focus.current());
  refresh();
}

function glossary() {
  dom.glossaryList.replaceChildren(
    ...entries().flatMap((e) => [el("dt", { id: `term-${e.key}` }, e.label), el("dd", {}, e.text)]),
  );
}

async function start() {
  glossary();
  catalog = await page.catalog;
  if (!catalog) return;
  if (!models().length) {
    page.dom.error.hidden = false;
    page.dom.error.textContent = `No model is available: ${catalog.models.map((m) => `${m.name}: ${m.reason}`).join("; ")}`;
    return;
  }
  store.set(normalise(store.get()));
  const st = store.get();
  focus.select(st.token >= 0 ? st.token : null, null);
  focus.subscribe(onFocus);
  syncControls();
  attention.retemper(st);
  document.getElementById("tau").value = String(sliderFromTau(st.tau));
  await page.start(onChange);
}

start();
