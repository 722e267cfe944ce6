/**
 * What the server declares, read for the pages: the catalog is `GET /api/v1/models` as
 * fetched ({parts: the part registry, default_top_k, max_top_k, models: [{name, available,
 * spec, ...}]}). Pages decide what to show from a model's declared spec (parts, gates,
 * attention kinds, sizes), never from its name or family. Pure; unit-tested under node.
 */

// Display names of the gates models declare. The spec names each gate; what the letter
// stands for is shown here (an unknown gate is shown by its name).
const GATE_LABELS = {
  i: "input gate i",
  f: "forget gate f",
  g: "candidate g",
  o: "output gate o",
  r: "reset gate r",
  z: "update gate z",
  n: "candidate n",
};

export const modelNamed = (catalog, name) => catalog.models.find((m) => m.name === name);

export const availableModels = (catalog) => catalog.models.filter((m) => m.available);

/** The model a page shows when the URL names none (or one that is unavailable): the first
 * available one, in the server's order. */
export function defaultModel(catalog) {
  return availableModels(catalog)[0] ?? null;
}

/** The available models, other than `name`, that read a text of `nTokens` tokens as counted
 * by `name`'s tokenizer (the same tokenizer: the same count), largest context last. */
export function modelsThatFit(catalog, name, nTokens) {
  const tokenizer = modelNamed(catalog, name)?.tokenizer;
  return availableModels(catalog)
    .filter((m) => m.name !== name && m.tokenizer === tokenizer && m.spec.n_ctx >= nTokens)
    .sort((a, b) => a.spec.n_ctx - b.spec.n_ctx);
}

/** A registry part by name ({name, group, layout, default, label}). */
export const registryPart = (catalog, name) => catalog.parts.find((p) => p.name === name);

/** The registry entries of a group ("states", "attention", ...) that `model` declares, in
 * registry order. */
export function declaredParts(catalog, model, group) {
  return catalog.parts.filter((p) => p.group === group && model.spec.parts.includes(p.name));
}

/** The display name of a part or gate: the registry's label, a gate's name spelled out. */
export function partLabel(catalog, name) {
  return registryPart(catalog, name)?.label ?? GATE_LABELS[name] ?? `gate ${name}`;
}

/** "4 layers × 4 heads · d 128 · 1.35 M params · 256 ctx", from the declared spec. */
export function describeModel(model) {
  const { spec } = model;
  const n = model.n_params;
  const size = n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(1)} k`;
  const shape = spec.n_heads
    ? `${spec.n_layers} layers × ${spec.n_heads} heads · d ${spec.width}`
    : `${spec.n_layers} layers × ${spec.width} units`;
  return `${shape} · ${size} params · ${spec.n_ctx} ctx`;
}

/** A model's held-out numbers from its card: "68.7 ppl · 1.69 bits/char" ("" if none). */
export function cardMetrics(model) {
  const metrics = model?.card?.metrics ?? {};
  const ppl = metrics.valid_perplexity;
  const bpc = metrics.valid_bits_per_char;
  return [
    Number.isFinite(ppl) ? `${ppl.toFixed(1)} ppl` : null,
    Number.isFinite(bpc) ? `${bpc.toFixed(2)} bits/char` : null,
  ]
    .filter(Boolean)
    .join(" · ");
}

/** "held out: 68.7 ppl · 1.69 bits/char" from the model card, or "held out: not measured". */
export const cardLine = (model) => `held out: ${cardMetrics(model) || "not measured"}`;

/** "…/gru.json: model card is missing" -> "model card is missing" (the path goes in a tooltip). */
export function shortReason(reason) {
  return (reason ?? "unknown").split(": ").pop();
}

/** Options for a model <select>: unavailable models listed, disabled, with the reason. */
export function modelOptions(catalog) {
  return catalog.models.map((m) => ({
    value: m.name,
    disabled: !m.available,
    title: m.reason ?? "",
    label: m.available ? `${m.name} (${m.spec.architecture})` : `${m.name} — unavailable: ${shortReason(m.reason)}`,
  }));
}
