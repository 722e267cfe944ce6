/**
 * Glossary tooltips: any element can explain a term of glossary.js. The explanation is one
 * role="tooltip" element per term (kept hidden at the end of <body>), referenced by
 * `aria-describedby`, so a screen reader reads it with the element; sighted users see it
 * next to the element on pointer hover *and* on keyboard focus. It stays while the pointer
 * is on it (to be read or selected), and Escape dismisses it (WCAG 1.4.13).
 *
 * The whole API:
 *
 *   <span data-term="surprisal">surprisal</span>   in a template, then attachTips(root)
 *   attachTips(root)      every [data-term] under `root` explains its term (idempotent)
 *   term(key, text?)      a new <span class="term"> reading `text` (default: the term's
 *                         label) that explains `key`
 *   explain(node, key)    make an existing element explain `key` (or another term later:
 *                         e.g. a <select> explaining its current option); null removes it
 *
 * An element that is not focusable itself (a span, a label) gets tabindex="0" and the class
 * "term" (dotted underline), so the keyboard reaches it. A key the glossary lacks does
 * nothing. Browser only (importing it under node does nothing): on import it adds one
 * document listener, Escape closing whatever tooltip is shown.
 */

import { lookup } from "./glossary.js";

const HIDE_DELAY_MS = 120; // time to move the pointer from the element onto its tooltip
let layer = null; // the container of the tooltips
let shown = null; // {tip, owner} shown now
let hideTimer = 0;
const tips = new Map(); // key -> its tooltip element
const wired = new WeakSet();

/** The glossary term of each attention view (the `view` select of Explore and Compare). */
export const VIEW_TERMS = { head: "head", mean: "head", max: "head", rollout: "rollout" };

const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

/** The tooltip element of term `key` (made once). */
function tipFor(key) {
  if (tips.has(key)) return tips.get(key);
  const entry = lookup(key);
  if (!entry) return null;
  if (!layer) {
    layer = document.createElement("div");
    layer.className = "tips";
    document.body.append(layer);
    layer.addEventListener("mouseenter", () => clearTimeout(hideTimer), true);
    layer.addEventListener("mouseleave", () => hideSoon(), true);
  }
  const tip = document.createElement("div");
  tip.id = `tip-${key.replace(/[^\w-]/g, "_")}`;
  tip.className = "tip";
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  const head = document.createElement("strong");
  head.textContent = entry.label;
  tip.append(head, document.createTextNode(` — ${entry.text}`));
  layer.append(tip);
  tips.set(key, tip);
  return tip;
}

function place(tip, owner) {
  const box = owner.getBoundingClientRect();
  tip.style.left = "0px";
  tip.style.top = "0px";
  const width = tip.offsetWidth;
  const height = tip.offsetHeight;
  const left = Math.max(4, Math.min(box.left, window.innerWidth - width - 4));
  const below = box.bottom + 6;
  const top = below + height > window.innerHeight - 4 && box.top - height - 6 > 4 ? box.top - height - 6 : below;
  tip.style.left = `${left}px`;
  tip.style.top = `${top}px`;
}

function show(owner) {
  clearTimeout(hideTimer);
  const tip = tipFor(owner.dataset.term);
  if (!tip) return;
  if (shown && shown.tip !== tip) shown.tip.hidden = true;
  tip.hidden = false;
  shown = { tip, owner };
  place(tip, owner);
}

function hide() {
  clearTimeout(hideTimer);
  if (shown) shown.tip.hidden = true;
  shown = null;
}

function hideSoon() {
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => {
    // keep it while its owner has the keyboard focus
    if (shown && shown.owner !== document.activeElement) hide();
  }, HIDE_DELAY_MS);
}

function wire(node) {
  if (wired.has(node)) return;
  wired.add(node);
  node.addEventListener("mouseenter", () => show(node));
  node.addEventListener("mouseleave", () => hideSoon());
  node.addEventListener("focus", () => show(node));
  node.addEventListener("blur", () => hide());
  node.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && shown?.owner === node) {
      hide();
      ev.stopPropagation();
    }
  });
}

/** Make `node` explain glossary term `key` (null: explain nothing). Returns `node`. */
export function explain(node, key) {
  const tip = key ? tipFor(key) : null;
  const old = node.dataset.term ? tipFor(node.dataset.term) : null;
  if (old) {
    const ids = (node.getAttribute("aria-describedby") ?? "").split(/\s+/).filter((id) => id && id !== old.id);
    if (ids.length) node.setAttribute("aria-describedby", ids.join(" "));
    else node.removeAttribute("aria-describedby");
  }
  if (!tip) {
    delete node.dataset.term;
    if (shown?.owner === node) hide();
    return node;
  }
  node.dataset.term = key;
  const ids = (node.getAttribute("aria-describedby") ?? "").split(/\s+/).filter(Boolean);
  node.setAttribute("aria-describedby", [...ids, tip.id].join(" "));
  if (!node.matches(FOCUSABLE)) {
    node.tabIndex = 0;
    node.classList.add("term");
  }
  wire(node);
  if (shown?.owner === node) show(node); // explaining another term while shown
  return node;
}

/** A new inline element reading `text` (default: the term's label) that explains `key`. */
export function term(key, text) {
  const node = document.createElement("span");
  node.textContent = text ?? lookup(key)?.label ?? key;
  return explain(node, key);
}

/** Every element under `root` with a data-term attribute explains its term. */
export function attachTips(root = document) {
  for (const node of root.querySelectorAll("[data-term]")) explain(node, node.dataset.term);
}

// One Escape anywhere closes the tooltip shown (the pointer may be elsewhere).
if (typeof document !== "undefined") {
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") hide();
  });
  // a tooltip is fixed on the screen: follow its element when the page scrolls
  window.addEventListener("scroll", () => shown && place(shown.tip, shown.owner), { passive: true, capture: true });
}
