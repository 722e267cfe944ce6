/**
 * Form controls bound to the page state. A control is {id, event, read, write}: `id` the
 * element's id, `read(node, state)` the state patch its `event` makes (null: none),
 * `write(node, state)` shows the state in it. Controllers list theirs; the binder wires
 * each element once, with a listener that asks for the control of the controller active
 * at the time of the event. Nothing here touches the DOM at import time.
 */

import { fillSelect } from "./dom.js";

/** A <select> bound to `key`; `options(state)` fills it ([{value, label}]), else its own
 * options stay; `int` reads numbers; `disabled(state)` greys it out. */
export function select(id, key, { options, int = false, disabled } = {}) {
  return {
    id,
    event: "change",
    read: (node) => ({ [key]: int ? Number(node.value) : node.value }),
    write(node, st) {
      if (options) fillSelect(node, options(st), st[key]);
      else node.value = String(st[key]);
      if (disabled) node.disabled = disabled(st);
    },
  };
}

/** A checkbox bound to a boolean `key`. */
export function checkbox(id, key) {
  return {
    id,
    event: "change",
    read: (node) => ({ [key]: node.checked }),
    write(node, st) {
      node.checked = Boolean(st[key]);
    },
  };
}

/** Leave a control the user is typing in alone (rewriting it would move the caret). */
export const editing = (node) => node.ownerDocument?.activeElement === node;

/**
 * Binds the controls of the active controller to `store`: `sync(controller)` wires the
 * elements it has not wired yet and writes the state into every control of `controller`.
 * `active()` gives the controller active now; `lookup(id)` finds an element.
 */
export function createBinder(store, active, lookup) {
  const wired = new Set();
  const wire = (id, event) => {
    const node = lookup(id);
    node.addEventListener(event, () => {
      const control = active()?.controls.find((c) => c.id === id && c.event === event);
      const patch = control?.read(node, store.get());
      if (patch) store.set(patch);
    });
  };
  return {
    sync(controller, st = store.get()) {
      for (const control of controller.controls) {
        const key = `${control.id} ${control.event}`;
        if (!wired.has(key)) {
          wired.add(key);
          wire(control.id, control.event);
        }
        control.write(lookup(control.id), st);
      }
    },
  };
}
