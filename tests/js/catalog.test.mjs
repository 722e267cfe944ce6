// Reading the server's declarations (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  availableModels,
  cardLine,
  declaredParts,
  defaultModel,
  describeModel,
  modelOptions,
  modelsThatFit,
  partLabel,
  shortReason,
} from "../../static/js/catalog.js";
import { catalog, GRU, LSTM, model, RNN, TRANSFORMER, UNAVAILABLE } from "./fixtures.mjs";

test("declared parts of a group come in registry order, from the spec", () => {
  const cat = catalog();
  assert.deepEqual(
    declaredParts(cat, LSTM, "states").map((p) => p.name),
    ["h", "c"],
  );
  assert.deepEqual(
    declaredParts(cat, TRANSFORMER, "states").map((p) => p.name),
    ["resid"],
  );
  assert.deepEqual(
    declaredParts(cat, GRU, "attention").map((p) => p.name),
    [],
  );
});

test("labels come from the registry; gates are spelled out; unknown gates keep their name", () => {
  const cat = catalog();
  assert.equal(partLabel(cat, "h"), "Hidden state h");
  assert.equal(partLabel(cat, "resid"), "Residual stream");
  assert.equal(partLabel(cat, "f"), "forget gate f");
  assert.equal(partLabel(cat, "q"), "gate q");
});

test("the default model is the first available one, whatever it is called", () => {
  assert.equal(defaultModel(catalog()).name, "transformer");
  assert.equal(defaultModel(catalog([UNAVAILABLE, RNN, LSTM])).name, "rnn");
  assert.equal(defaultModel(catalog([UNAVAILABLE])), null);
  assert.deepEqual(
    availableModels(catalog()).map((m) => m.name),
    ["transformer", "lstm", "gru", "rnn"],
  );
});

test("a model is described from its spec", () => {
  assert.equal(describeModel(TRANSFORMER), "2 layers × 2 heads · d 6 · 12.3 k params · 64 ctx");
  const big = { ...model("x", { n_layers: 4, width: 256, n_ctx: 1024 }), n_params: 1_480_000 };
  assert.equal(describeModel(big), "4 layers × 256 units · 1.48 M params · 1024 ctx");
});

test("unavailable models are offered disabled, with the short reason and the full one as a tip", () => {
  const options = modelOptions(catalog([TRANSFORMER, UNAVAILABLE]));
  assert.deepEqual(options[0], {
    value: "transformer",
    disabled: false,
    title: "",
    label: "transformer (transformer)",
  });
  assert.deepEqual(options[1], {
    value: "broken",
    disabled: true,
    title: "…/broken.json: model card is missing",
    label: "broken — unavailable: model card is missing",
  });
  assert.equal(shortReason(undefined), "unknown");
});

test("modelsThatFit: available models with the same tokenizer and a context long enough, smallest first", () => {
  const long = model("longlstm", { n_ctx: 1024, parts: ["h", "predictions"] });
  const mid = model("midrnn", { n_ctx: 512, parts: ["h", "predictions"] });
  const other = { ...model("othertok", { n_ctx: 4096 }), tokenizer: "enfr" };
  const c = catalog([TRANSFORMER, long, mid, other, UNAVAILABLE]);
  assert.deepEqual(
    modelsThatFit(c, "transformer", 300).map((m) => m.name),
    ["midrnn", "longlstm"],
  );
  assert.deepEqual(
    modelsThatFit(c, "transformer", 600).map((m) => m.name),
    ["longlstm"],
  );
  assert.deepEqual(modelsThatFit(c, "transformer", 2000), []);
  assert.deepEqual(
    modelsThatFit(c, "midrnn", 300).map((m) => m.name),
    ["longlstm"], // never the model itself
  );
});

test("a model's held-out numbers come from its card, beside its name", () => {
  const card = { metrics: { valid_perplexity: 68.704, valid_bits_per_char: 1.6941 } };
  const measured = { ...TRANSFORMER, card };
  assert.equal(cardLine(measured), "held out: 68.7 ppl · 1.69 bits/char");
  assert.equal(cardLine({ ...TRANSFORMER, card: { metrics: {} } }), "held out: not measured");
});
