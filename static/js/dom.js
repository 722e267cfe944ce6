/**
 * DOM helpers shared by every page: finding and making elements, filling selects, status
 * and error messages, downloads. Nothing here runs at import time (importable under node).
 */

export const $ = (sel, root = document) => root.querySelector(sel);

/** Elements by id as an object with camelCase keys: byIds(["main-plot"]).mainPlot. */
export function byIds(ids) {
  return Object.fromEntries(ids.map((id) => [id.replace(/-(\w)/g, (_, c) => c.toUpperCase()), $(`#${id}`)]));
}

/** Make an element: el("button", {class: "x", onclick: f}, "text", child...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** Replace a <select>'s options: [{value, label, disabled, title}]; then select `value`. */
export function fillSelect(select, options, value) {
  const signature = JSON.stringify(options);
  if (select.dataset.options !== signature) {
    // rebuilding a focused select would reset it
    select.replaceChildren(
      ...options.map((o) => el("option", { value: o.value, disabled: o.disabled, title: o.title }, o.label)),
    );
    select.dataset.options = signature;
  }
  if (value !== undefined) select.value = String(value);
}

/** Show an API problem (its `detail` is written for the user), or clear with null; `note`: a
 * line under it, `actions`: buttons offering a way out ({id, label, run}). */
export function showError(box, err, { note = null, actions = [] } = {}) {
  if (!err) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const title = err.title ?? "Something went wrong";
  const buttons = actions.map((a) => el("button", { type: "button", "data-action": a.id, onclick: a.run }, a.label));
  box.replaceChildren(
    el("strong", {}, title),
    " ",
    el("span", { class: "detail" }, err.detail ?? err.message),
    note && el("p", { class: "note" }, note),
    buttons.length ? el("div", { class: "actions" }, ...buttons) : null,
  );
  box.hidden = false;
}

export function setStatus(node, text, busy = false) {
  node.textContent = text;
  node.classList.toggle("busy", busy);
}

/** Save `content` as a file (Blob + object URL; no inline script, CSP-safe). */
export function download(filename, type, content) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = el("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Run `fn` once the next frame has been painted. */
export const afterPaint = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));
