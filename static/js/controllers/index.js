/**
 * View controllers, and which of them a model gets. A controller draws one group of views
 * for the parts a model declares; a page shows one controller at a time (the one whose
 * views include the state's `view`) and never asks which architecture a model is.
 *
 * The interface (every function pure; `trace` is a decoded API trace, `st` the page state,
 * `plot` "main" or "lines", `point` a plotly event point):
 *
 *   id, label         unique per model ("attention:self", "states"); the chooser's name
 *   panel             id of the element holding its controls (the page shows only the
 *                     active controller's panel)
 *   views             [{value, label}]: the values of `st.view` it draws
 *   parts             the trace parts it needs (the page fetches them with "predictions")
 *   controls          its form controls ({id, event, read, write}, see controls.js)
 *   owns(view)        whether `view` is one of its views
 *   has(trace)        whether the trace carries what it draws
 *   normalise(st)     a patch bringing layer, head... into range for the model
 *   redraws(changed, st)  whether a change of these state keys needs a redraw
 *   main(trace, st, fit)  the large view: {fig, name, record (what it shows, for exports:
 *                     views.js attentionRecord), csv: {name, matrix, rowLabels, colLabels,
 *                     corner}}; `fit` {rows, cols, square} sizes its labels
 *   lines             null, or (trace, st, fit) -> {fig, name}: a second, smaller chart
 *   token(trace, st, plot, point)  the token a point stands for (null: none)
 *   click(trace, st, plot, point)  {token, patch?}: what a click selects and changes
 *   grid(trace, st)   the thumbnails: {key (redraw when it changes), cell (shown large,
 *                     -1: none), names: {label, cellLabel(cell)}, figure()}
 *   pick(trace, cell) the state patch that shows thumbnail `cell` large
 *
 * A new part (influence) or attention kind (cross) is one new factory in FACTORIES, and a
 * panel for its controls in the page.
 */

import { attentionControllers } from "./attention.js";
import { stateControllers } from "./states.js";

/** Each factory: (catalog, model) -> the controllers it makes for that model, in order. */
export const FACTORIES = [attentionControllers, stateControllers];

/** The controllers for `model` (an entry of catalog.models), in the order shown. */
export function controllersFor(catalog, model, factories = FACTORIES) {
  if (!model?.available) return [];
  return factories.flatMap((make) => make(catalog, model));
}

/** The controller drawing `view`, else the first; null if there are none. */
export function activeController(controllers, view) {
  return controllers.find((c) => c.owns(view)) ?? controllers[0] ?? null;
}

/** A patch that makes `st` valid for `controllers`: a view one of them draws (else the
 * first controller's first), and its layer, head... in range. */
export function normaliseView(controllers, st) {
  const c = activeController(controllers, st.view);
  if (!c) return {};
  const view = c.owns(st.view) ? st.view : c.views[0].value;
  return { view, ...c.normalise({ ...st, view }) };
}
