/**
 * What the sections of /learn share: the identity lines (checks), tables of numbers, a
 * section's error box, selects of models and indices, and the runner that loads one
 * section at a time (data-status on its node: "loading", "ready", "error").
 */

import { el, fillSelect, showError } from "../dom.js";
import { formatDiff, formatNumber } from "../learnfig.js";
import { TOLERANCE } from "../stepmath.js";
import { term } from "../tooltip.js";

export const range = (n) => Array.from({ length: n }, (_, i) => ({ value: String(i), label: String(i) }));
export const clamp = (v, n) => Math.min(Math.max(0, v), Math.max(0, n - 1));
export const num = formatNumber;

/** One identity line: "✓ <text>: max difference 3.0e-8" (or ✗), with its numbers in
 * data-diff (for tests) and the verdict spelled out for screen readers. */
export function checkItem(c) {
  return el(
    "li",
    { class: c.ok ? "check ok" : "check bad", "data-check": c.id, "data-diff": String(c.diff) },
    el("span", { class: "mark", "aria-hidden": "true" }, c.ok ? "✓" : "✗"),
    el("span", { class: "sr-only" }, c.ok ? "holds: " : "does not hold: "),
    `${c.text}: `,
    term("max-difference", "max difference"),
    ` ${formatDiff(c.diff)}`,
  );
}

/** Fill every `ul.checks` under `root` with the checks it names: data-checks="q k v" (ids)
 * or data-checks-prefix="gate-" (every check whose id starts so). */
export function renderChecks(root, checks) {
  for (const ul of root.querySelectorAll("ul.checks")) {
    const ids = ul.dataset.checks?.split(/\s+/) ?? null;
    const prefix = ul.dataset.checksPrefix;
    const mine = checks.filter((c) => (ids ? ids.includes(c.id) : c.id.startsWith(prefix)));
    ul.replaceChildren(...mine.map(checkItem));
  }
}

/** "14 of 14 identities hold (largest difference 2.1e-7, tolerance 1e-5)". */
export function checksSummary(checks) {
  const ok = checks.filter((c) => c.ok).length;
  const worst = Math.max(0, ...checks.map((c) => c.diff));
  return `${ok} of ${checks.length} identities hold (largest difference ${formatDiff(worst)}; tolerance ${TOLERANCE.toExponential(0)})`;
}

/** A table: `head` [cell], `rows` [{cells: [cell], class?, title?}]; a cell is a string,
 * a number (formatted), a Node, or {v, class, title, colspan, rowspan, th}. */
export function fillTable(table, head, rows) {
  const cell = (c, tag) => {
    if (c !== null && typeof c === "object" && !(c instanceof Node)) {
      const { v, th, ...attrs } = c;
      return el(th ? "th" : tag, attrs, content(v));
    }
    return el(tag, {}, content(c));
  };
  const content = (v) => (typeof v === "number" ? num(v) : v instanceof Node ? v : String(v ?? ""));
  table.replaceChildren(
    el("thead", {}, el("tr", {}, ...head.map((h) => cell(h, "th")))),
    el(
      "tbody",
      {},
      ...rows.map((r) =>
        el("tr", { class: r.class ?? null, title: r.title ?? null }, ...r.cells.map((c) => cell(c, "td"))),
      ),
    ),
  );
}

/** Options of a model select: `models` (catalog entries), each "name (architecture)". */
export function fillModels(select, models, value) {
  fillSelect(
    select,
    models.map((m) => ({ value: m.name, label: `${m.name} (${m.spec.architecture})` })),
    value,
  );
  select.disabled = !models.length;
}

/** The error box of a section node (its first [data-error]). */
export function sectionError(node, err) {
  const box = node.querySelector("[data-error]");
  if (box) showError(box, err);
}

/**
 * A loader for one part of the page: `section` is {id (its node's id), key(view) (what its
 * data depends on; a new key means a new request), load(view, signal), clear?()}. `run`
 * loads it (aborting its own earlier run); `stale(view)` says whether what is shown is for
 * another key. The node's data-status says "loading", "ready" or "error" (tests wait on it).
 */
export function sectionRunner(section) {
  const node = document.getElementById(section.id);
  let shown = null;
  let ctrl = null;
  return {
    section,
    node,
    stale: (view) => section.key(view) !== shown,
    running: () => ctrl !== null,
    async run(view) {
      ctrl?.abort();
      const mine = new AbortController();
      ctrl = mine;
      const key = section.key(view);
      node.dataset.status = "loading";
      node.setAttribute("aria-busy", "true");
      try {
        await section.load(view, mine.signal);
        if (mine.signal.aborted) return;
        shown = key;
        sectionError(node, null);
        node.dataset.status = "ready";
      } catch (err) {
        if (err.name === "AbortError" || mine.signal.aborted) return;
        shown = key; // not again until something changes
        section.clear?.();
        sectionError(node, err);
        node.dataset.status = "error";
      } finally {
        if (ctrl === mine) {
          ctrl = null;
          node.removeAttribute("aria-busy");
        }
      }
    },
    abort() {
      ctrl?.abort();
      ctrl = null;
      node.removeAttribute("aria-busy");
    },
    forget() {
      shown = null;
    },
  };
}

/** A link "label →" to another page (href from api.js pageUrl). */
export const pageLink = (href, label) => el("a", { href }, `${label} →`);
