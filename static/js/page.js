/**
 * The start-up every page shares, written once: the boot data, the catalog request (sent
 * at once, while plotly.js is still parsing), the state store read from the URL, the token
 * focus and strip, the text box with its samples, length limit and legend, "Copy link",
 * and the run of a request: debounced while typing, stale ones aborted, with the status
 * line, the empty state and API errors shown the same way on every page. A failed request
 * keeps the last result on show, dimmed, with the way out the error allows (Retry, or the
 * part of a too long text that fits). Back and Forward step through the texts traced and
 * the page's `pushed` fields; the nav links carry the text (and the model) to the other pages.
 */

import { carriedLinks, fetchCatalog, fittingText, serverDown } from "./api.js";
import { $, byIds, fillSelect, setStatus, showError } from "./dom.js";
import { SURPRISAL_MAX } from "./figures.js";
import { plotlyReady } from "./plot.js";
import { createFocus, createStore, debounce, readQuery, syncUrl } from "./state.js";
import { attachTips } from "./tooltip.js";
import { createStrip, stripLegend } from "./widgets.js";

/** Quiet time after the last keystroke before a request is sent. */
export const DEBOUNCE_MS = 300;

/** Elements every page has (templates/_controls.html and the text form). */
const COMMON_IDS = ["text-form", "text", "sample", "count", "status", "legend", "error", "strip", "empty", "copy-link"];

/**
 * Open a page. `schema`: the state fields kept in the URL (state.js); `ids`: the page's
 * own elements (as `dom.camelCase`); `copied`: the status after "Copy link". `run` says how
 * the page gets and shows its data:
 *
 *   blocked(st)  null to go ahead; else a message for the empty state ("" keeps the page's)
 *   busyText(st) the status line while a request runs
 *   request(st, signal) -> Promise of the result (through api.js)
 *   render(result) -> Promise; draws it
 *   done(result, ms) the status line afterwards
 *   clear()      forget and hide what is shown (on the empty state)
 *   actions(err, st) more ways out of an error than page.js offers: [{id, label, run}]
 *   busy         the id of the element marked aria-busy meanwhile
 *   shows        the ids of the elements showing a result (dimmed while it is stale)
 *
 * `pushed`: the state fields whose change is a step of Back/Forward (besides the text);
 * `carry(st)`: what the nav links take to the other pages ({text, model}).
 * `task` ("language-model" or "translation") picks the catalog's models the page offers.
 *
 * Returns {boot, store, focus, strip, dom, catalog (a promise: null after showing its
 * error), run (now), runSoon (debounced), start(onChange)}: `start` keeps the URL in step,
 * subscribes `onChange(state, changedKeys)` and, once plotly.js is there, runs.
 */
export function openPage({
  schema,
  ids = [],
  run: how,
  copied = "Link copied.",
  task = "language-model",
  pushed = [],
  carry = (st) => ({ text: st.text }),
}) {
  const boot = JSON.parse($("#boot").textContent);
  // The page's models: those of its task (a language-model page never offers a translator).
  const catalogRequest = fetchCatalog().then((c) => ({ ...c, models: c.models.filter((m) => m.task === task) }));
  const store = createStore(readQuery(location.search, schema));
  if (!new URLSearchParams(location.search).has("text")) store.set({ text: boot.samples[0]?.text ?? "" });
  const focus = createFocus();
  const dom = byIds([...COMMON_IDS, ...ids]);
  const strip = createStrip(dom.strip, focus);

  fillSelect(
    dom.sample,
    [{ value: "", label: "Samples…" }, ...boot.samples.map((s, i) => ({ value: String(i), label: s.label }))],
    "",
  );
  if (boot.max_text_chars) dom.text.maxLength = boot.max_text_chars;
  stripLegend(dom.legend, SURPRISAL_MAX);
  attachTips(document.body); // every [data-term] of the template explains its glossary term

  const runner = createRunner(store, dom, strip, how);
  wireText(store, dom, focus, boot, runner.run, copied);
  const catalog = catalogRequest.catch((err) => {
    showError(dom.error, err);
    return null;
  });

  return {
    boot,
    store,
    focus,
    strip,
    dom,
    catalog,
    run: runner.run,
    runSoon: runner.soon,
    async start(onChange) {
      const url = syncUrl(store, schema, { pushed, held: ["text"] });
      runner.commit = url.commit;
      store.subscribe(onChange);
      linkPages(store, carry);
      window.addEventListener("popstate", () => {
        const changed = url.restore();
        if ("token" in schema && changed.has("token")) {
          const t = store.get().token;
          focus.select(t >= 0 ? t : null, null);
        }
        if (changed.has("text")) runner.run(); // at once: the text was traced before
      });
      await plotlyReady;
      runner.run();
    },
  };
}

function wireText(store, dom, focus, boot, run, copied) {
  dom.text.addEventListener("input", () => store.set({ text: dom.text.value }));
  dom.text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      run();
    }
  });
  dom.textForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    store.set({ text: dom.text.value });
    run();
  });
  dom.sample.addEventListener("change", () => {
    if (dom.sample.value === "") return;
    store.set({ text: boot.samples[Number(dom.sample.value)].text });
    focus.select(null, null); // a new text: no token selected
    dom.sample.value = "";
    run();
  });
  dom.copyLink.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      setStatus(dom.status, copied);
    } catch {
      setStatus(dom.status, `Link: ${location.href}`);
    }
  });
}

/** The nav links' addresses follow the store: they carry the text (and the model). */
function linkPages(store, carry) {
  const links = [...document.querySelectorAll("nav a[data-page]")];
  const update = (st) => {
    const hrefs = carriedLinks(carry(st));
    for (const a of links) if (hrefs[a.dataset.page]) a.href = hrefs[a.dataset.page];
  };
  update(store.get());
  store.subscribe(update);
}

/** "the cat sat…": the start of a text, for a note. */
const excerpt = (text, n = 40) => {
  const chars = Array.from(text.trim());
  return chars.length > n ? `${chars.slice(0, n).join("")}…` : chars.join("");
};

function createRunner(store, dom, strip, how) {
  const busy = $(`#${how.busy}`);
  const shows = (how.shows ?? []).map((id) => $(`#${id}`));
  let inflight = null;
  let shown = null; // the text of the result on show, null: none
  const soon = debounce(() => run(), DEBOUNCE_MS);
  const self = { run, soon, commit: () => {} };

  const markStale = (stale) => {
    for (const node of shows) node.classList.toggle("stale", stale);
  };

  function showEmpty(message) {
    document.body.dataset.status = "empty";
    dom.empty.hidden = false;
    if (message) dom.empty.querySelector("p").textContent = message;
    strip.clear();
    dom.count.textContent = "";
    showError(dom.error, null);
    setStatus(dom.status, "");
    busy.removeAttribute("aria-busy");
    how.clear();
    shown = null;
    markStale(false);
  }

  /** The error, with the last result kept on show (dimmed) and the ways out it allows. */
  function showFailure(err, st) {
    document.body.dataset.status = "error";
    setStatus(dom.status, "");
    const { n_tokens: n, n_ctx: limit } = err.problem ?? {};
    // the count the server used, against the model's limit
    dom.count.textContent = Number.isInteger(n) && Number.isInteger(limit) ? `(${n} / ${limit} tokens)` : "";
    dom.count.classList.toggle("over", Number.isInteger(n));
    const actions = [];
    if (serverDown(err)) actions.push({ id: "retry", label: "Retry", run });
    const cut = fittingText(st.text, err.problem);
    if (cut !== null) {
      const label = `Trace the first ${limit} tokens`;
      const traceCut = () => {
        store.set({ text: cut });
        run();
      };
      actions.push({ id: "cut", label, run: traceCut });
    }
    actions.push(...(how.actions?.(err, st) ?? []));
    markStale(shown !== null);
    const note = shown === null ? null : `Still showing the last result, for “${excerpt(shown)}”.`;
    showError(dom.error, err, { note, actions });
  }

  async function run() {
    soon.cancel();
    inflight?.abort();
    inflight = null;
    const st = store.get();
    const blocked = how.blocked(st);
    if (blocked !== null) return showEmpty(blocked);
    self.commit(); // the text sent is a step of Back/Forward
    const ctrl = new AbortController();
    inflight = ctrl;
    performance.mark("attz-submit");
    setStatus(dom.status, how.busyText(st), true);
    busy.setAttribute("aria-busy", "true");
    const started = performance.now();
    document.body.dataset.status = "loading"; // for tests and the benchmark
    try {
      const result = await how.request(st, ctrl.signal);
      if (inflight !== ctrl) return;
      performance.mark("attz-fetched");
      showError(dom.error, null);
      dom.empty.hidden = true;
      dom.count.classList.remove("over");
      markStale(false);
      shown = st.text;
      await how.render(result);
      document.body.dataset.status = "ready";
      setStatus(dom.status, how.done(result, Math.round(performance.now() - started)));
    } catch (err) {
      if (err.name === "AbortError" || inflight !== ctrl) return;
      showFailure(err, st);
    } finally {
      if (inflight === ctrl) {
        inflight = null;
        busy.removeAttribute("aria-busy");
      }
    }
  }

  return self;
}
