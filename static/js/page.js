/**
 * The start-up every page shares, written once: the boot data, the catalog request (sent
 * at once, while plotly.js is still parsing), the state store read from the URL, the token
 * focus and strip, the text box with its samples, length limit and legend, "Copy link",
 * and the run of a request: debounced while typing, stale ones aborted, with the status
 * line, the empty state and API errors shown the same way on every page.
 */

import { fetchCatalog } from "./api.js";
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
 *   clear()      forget and hide what is shown (on the empty state and on errors)
 *   busy         the id of the element marked aria-busy meanwhile
 *
 * `task` ("language-model" or "translation") picks the catalog's models the page offers.
 *
 * Returns {boot, store, focus, strip, dom, catalog (a promise: null after showing its
 * error), run (now), runSoon (debounced), start(onChange)}: `start` keeps the URL in step,
 * subscribes `onChange(state, changedKeys)` and, once plotly.js is there, runs.
 */
export function openPage({ schema, ids = [], run: how, copied = "Link copied.", task = "language-model" }) {
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
      syncUrl(store, schema);
      store.subscribe(onChange);
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

function createRunner(store, dom, strip, how) {
  const busy = $(`#${how.busy}`);
  let inflight = null;
  const soon = debounce(() => run(), DEBOUNCE_MS);

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
  }

  async function run() {
    soon.cancel();
    inflight?.abort();
    inflight = null;
    const st = store.get();
    const blocked = how.blocked(st);
    if (blocked !== null) return showEmpty(blocked);
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
      await how.render(result);
      document.body.dataset.status = "ready";
      setStatus(dom.status, how.done(result, Math.round(performance.now() - started)));
    } catch (err) {
      if (err.name === "AbortError" || inflight !== ctrl) return;
      document.body.dataset.status = "error";
      strip.clear();
      setStatus(dom.status, "");
      how.clear();
      showError(dom.error, err);
    } finally {
      if (inflight === ctrl) {
        inflight = null;
        busy.removeAttribute("aria-busy");
      }
    }
  }

  return { run, soon };
}
