/**
 * The glossary: one short explanation of every term the pages use, keyed by a stable name
 * (the names models declare parts and gates under where there is one: "h", "c", "resid",
 * "i", "f", ...). Every explanation on /learn and every tooltip elsewhere (tooltip.js)
 * comes from here. Pure data; importable under node.
 */

/** key -> {label, text}: `label` is how the term is written, `text` what it means. */
export const GLOSSARY = {
  token: {
    label: "token",
    text: "A piece of text the model reads as one unit: a word, part of a word or a punctuation mark. ␣ marks a leading space, ↵ a line break.",
  },
  probability: {
    label: "probability",
    text: "How likely the model thinks a token is to come next, from 0 to 1, after the softmax over its whole vocabulary.",
  },
  surprisal: {
    label: "surprisal",
    text: "How unexpected the actual next token was to the model: −log₂ of the probability it gave that token, in bits. 0 bits: certain; 12 bits: no better than a uniform guess over the 4,096 tokens.",
  },
  bits: {
    label: "bits",
    text: "The unit of information: one bit halves the possibilities. A token with probability ½ costs 1 bit, ¼ costs 2, 1/1024 costs 10.",
  },
  entropy: {
    label: "entropy",
    text: "How spread out the model's guess for the next token is, in bits: the surprisal it expects on average. Low: it is confident; high: many tokens seem possible.",
  },
  logits: {
    label: "logits",
    text: "The raw scores the model gives every token of its vocabulary before the softmax turns them into probabilities.",
  },
  layer: {
    label: "layer",
    text: "One stage of the network. Each layer reads what the one below wrote and passes its result up; layer 0 reads the token embeddings.",
  },
  unit: {
    label: "unit",
    text: "One number of a state vector (one neuron): a recurrent layer with 256 units carries 256 numbers from step to step.",
  },
  attention: {
    label: "attention",
    text: "How a Transformer mixes information between tokens: each token (the query) takes a weighted average of the values of the tokens it may see (the keys), with weights from a softmax over query·key scores.",
  },
  weight: {
    label: "attention weight",
    text: "How much a query token takes from one key token: one entry of a softmax row, between 0 and 1; each row of an attention map sums to 1.",
  },
  query: {
    label: "query",
    text: "The vector a token uses to look for information: q = x·W_Q + b_Q. Its dot product with each key gives that key's score.",
  },
  key: {
    label: "key",
    text: "The vector a token offers to be found by: k = x·W_K + b_K. A query scores every visible key by q·k.",
  },
  value: {
    label: "value",
    text: "The vector a token hands over when it is attended to: v = x·W_V + b_V. A head's output is the attention-weighted sum of the values.",
  },
  "dot-product": {
    label: "scaled dot-product attention",
    text: "softmax(q·kᵀ / √d_k)·V: scores are dot products of the query with every key, divided by √d_k (the key width) so that they do not grow with the width and saturate the softmax.",
  },
  "causal-mask": {
    label: "causal mask",
    text: "A language model may not look ahead: keys after the query get a score of −∞ before the softmax, so their weight is exactly 0.",
  },
  softmax: {
    label: "softmax",
    text: "Turns scores into weights that are positive and sum to 1: softmax(s)_j = e^{s_j} / Σ_k e^{s_k}. The largest score gets the largest weight.",
  },
  temperature: {
    label: "temperature",
    text: "Divides the scores before a softmax: τ < 1 sharpens the weights towards the top score, τ > 1 flattens them towards uniform; τ = 1 is the model as trained. On /learn's attention step it is a what-if; in generation it shapes the sampling.",
  },
  "what-if": {
    label: "what-if",
    text: "A number computed in this page by changing something the model does not change (such as the softmax temperature): it shows what would happen, not what the model computes.",
  },
  head: {
    label: "head",
    text: "One attention pattern of a layer, with its own W_Q, W_K and W_V. A layer runs several heads in parallel, each reading the text in its own way.",
  },
  "multi-head": {
    label: "multi-head attention",
    text: "Every head's output (d_head numbers each) is concatenated into one vector of d_model numbers, then multiplied by W_O (plus b_O): that is the layer's attention output.",
  },
  resid: {
    label: "residual stream",
    text: "The Transformer's running state at each token: every layer reads it (after a LayerNorm) and adds its attention and MLP outputs back onto it.",
  },
  layernorm: {
    label: "LayerNorm",
    text: "Rescales a vector to mean 0 and standard deviation 1, then by learned γ and β: x_ln = (x − mean) / std · γ + β. It keeps every layer's input on the same scale.",
  },
  mlp: {
    label: "MLP",
    text: "The second half of a Transformer block: a two-layer network applied to each token on its own (no mixing between tokens), added to the residual stream.",
  },
  rollout: {
    label: "attention rollout",
    text: "An estimate of how much each input token flows into a position through all layers so far: each layer's mean attention, mixed half and half with the identity for the residual connection, multiplied layer after layer (Abnar & Zuidema 2020).",
  },
  sink: {
    label: "attention sink",
    text: "In many trained Transformers some heads put most of their weight on the first token when nothing else fits: a parking place for attention. Whether a model does is measured, not assumed: each head's first-token score is in its card (Learn, Many heads); the shipped Transformer has no such head. Hiding the first token (and renormalising rows) shows where the rest of the weight goes.",
  },
  "smeared-key": {
    label: "smeared key",
    text: "A key mixed with the previous token's: k_j = σ(α)·k_raw_j + (1 − σ(α))·k_raw_{j−1}, with α learned per head. It lets one head find 'the token after an earlier copy of mine' (induction) without a second layer.",
  },
  "previous-token-head": {
    label: "previous-token head",
    text: "A head whose queries put their weight on the token just before them. Measured as the mean attention from t to t − 1.",
  },
  "first-token-head": {
    label: "first-token head",
    text: "A head that puts its weight on the first token (the attention sink). Measured as the mean attention from t to token 0.",
  },
  "induction-head": {
    label: "induction head",
    text: "A head that, at a token seen before, attends to the token that came after its earlier copy, so the model can continue a repeated sequence: '… A B … A' → look at B.",
  },
  "duplicate-token-head": {
    label: "duplicate-token head",
    text: "A head that attends from a token to an earlier copy of the same token.",
  },
  ablation: {
    label: "ablation cost",
    text: "How much worse the model predicts held-out text with one head's output set to zero, in bits per token: how much it relies on that head.",
  },
  h: {
    label: "hidden state h",
    text: "A recurrent layer's output at each step: the vector it passes to the next step and to the layer above. Each h_t is computed from x_t and h_{t−1}.",
  },
  c: {
    label: "cell state c",
    text: "The LSTM's memory: c_t = f⊙c_{t−1} + i⊙g. The forget gate decides what is kept, the input gate what is written; h_t = o⊙tanh(c_t) reads it out.",
  },
  states: {
    label: "states and gates",
    text: "What a recurrent layer carries from step to step (the hidden state h, and an LSTM's cell state c) and the gates that update it, one vector per layer and token.",
  },
  gates: {
    label: "gates",
    text: "Numbers between 0 and 1 (sigmoids) that an LSTM or GRU computes at every step from x_t and h_{t−1}, and multiplies element by element (⊙) with its states: they decide what to keep, write and show.",
  },
  i: {
    label: "input gate i",
    text: "LSTM: how much of the candidate g is written into the cell: i = σ(W_i·x_t + U_i·h_{t−1} + b_i).",
  },
  f: {
    label: "forget gate f",
    text: "LSTM: how much of the old cell state survives this step: c_t = f⊙c_{t−1} + i⊙g. f near 1 keeps memory, near 0 erases it.",
  },
  g: {
    label: "candidate g",
    text: "LSTM: the new content proposed for the cell, tanh(W_g·x_t + U_g·h_{t−1} + b_g), between −1 and 1; the input gate decides how much of it is written.",
  },
  o: {
    label: "output gate o",
    text: "LSTM: how much of the cell is shown as the hidden state: h_t = o⊙tanh(c_t).",
  },
  r: {
    label: "reset gate r",
    text: "GRU: how much of the old state the candidate may read: n = tanh(W_n·x_t + r⊙(U_n·h_{t−1} + b_hn) + b_in).",
  },
  z: {
    label: "update gate z",
    text: "GRU: how much of the old state is kept: h_t = (1 − z)⊙n + z⊙h_{t−1}. z near 1 keeps memory, near 0 replaces it with the candidate n.",
  },
  n: {
    label: "candidate n",
    text: "GRU: the new state proposed at this step, between −1 and 1, mixed with the old one by the update gate z.",
  },
  preactivation: {
    label: "pre-activation",
    text: "A gate's input before its squashing function: the part from the input (W·x_t + b) plus the part from the previous state (U·h_{t−1} + b).",
  },
  sigmoid: {
    label: "sigmoid σ",
    text: "σ(x) = 1 / (1 + e^{−x}): squashes any number into (0, 1). Gates use it.",
  },
  tanh: {
    label: "tanh",
    text: "The hyperbolic tangent: squashes any number into (−1, 1). Candidates and the plain RNN's state use it.",
  },
  "memory-horizon": {
    label: "memory horizon",
    text: "How much of a unit's old state survives d steps later along its direct path: the product of its keep gates (LSTM f, GRU z) over those steps. Products of numbers below 1 shrink fast: memory vanishes.",
  },
  "half-life": {
    label: "half-life",
    text: "The distance, in tokens, after which less than half of a unit's state survives (its mean memory horizon drops below 0.5); '∞' when it never does within the text.",
  },
  influence: {
    label: "influence",
    text: "How much an earlier token mattered to predicting a later one: gradient × input of the prediction's log-probability with respect to the earlier token's embedding (or the change when that token is hidden, for occlusion).",
  },
  "gradient-distance": {
    label: "gradient vs distance",
    text: "The size of the gradient of a prediction with respect to a token d steps back, averaged over held-out text: if it vanishes with d, training cannot learn long-range dependencies.",
  },
  "copy-ratio": {
    label: "copy ratio",
    text: "A random list of words shown twice, with a gap between the copies: mean surprisal of the second copy ÷ the first. Below 1: the model uses the first copy to predict the second.",
  },
  agreement: {
    label: "agreement with attractors",
    text: "'The keys to the cabinet are…': does the model prefer the verb that agrees with the subject (keys → are) over one that agrees with a nearer noun (the attractor, cabinet → is)?",
  },
  "context-length": {
    label: "context length",
    text: "Held-out loss when each prediction may see only its last k tokens: how far back the model actually looks.",
  },
  "sequential-steps": {
    label: "sequential steps",
    text: "Steps that must run one after another. A recurrent layer needs h_{t−1} before h_t: T steps per layer. A Transformer layer computes every position at once: one step per layer, however long the text.",
  },
  greedy: {
    label: "greedy decoding",
    text: "Always take the most likely next token. Deterministic; small models tend to loop.",
  },
  sampling: {
    label: "sampling",
    text: "Draw the next token at random from the model's probabilities (after temperature and top-k). With the same seed the same tokens come out.",
  },
  "top-k": {
    label: "top-k",
    text: "In sampling, only the k most likely tokens may be drawn (their probabilities renormalised); in the predictions panel, the k most likely next tokens shown.",
  },
  seed: {
    label: "seed",
    text: "The number that starts the random generator: the same model, prompt, options and seed give the same sampled text.",
  },
  "cross-attention": {
    label: "cross-attention",
    text: "Attention from the decoder to the encoder: each French token being produced (the query) weighs the English tokens (the keys) and takes a weighted average of what the encoder made of them. Each row sums to 1.",
  },
  alignment: {
    label: "alignment",
    text: "Which English tokens each French token was produced from, as the model's cross-attention shows it: row = the French token produced at that step, columns = the English tokens. Attention is where the model looked, not proof of why it chose a word.",
  },
  "encoder-self-attention": {
    label: "encoder self-attention",
    text: "The Transformer encoder's attention among the English tokens themselves (not causal: every token sees the whole sentence). A recurrent encoder has none: it reads the tokens one at a time (in one direction or both).",
  },
  beam: {
    label: "beam search",
    text: "Keep the k best partial translations at every step instead of only the most likely token (greedy, k = 1); finished ones are ranked by log-probability divided by their length, so long translations are not penalised for every extra word.",
  },
  "beam-score": {
    label: "score",
    text: "What beam search ranks by: the translation's natural log-probability divided by its length in tokens (0 would be certain; more negative is less likely).",
  },
  forced: {
    label: "forced decoding",
    text: "Give the model a French sentence and make it read it token by token (teacher forcing) instead of choosing its own: it shows the probability it gives each of your tokens and where it looks in the English while producing them.",
  },
  "token-probability": {
    label: "token probability",
    text: "The probability the model gave a French token at the step that produced it. Colours show its surprisal, −log₂ p, in bits.",
  },
  bleu: {
    label: "BLEU",
    text: "A corpus score from 0 to 100 of how many word sequences (1 to 4 words) a system's translations share with reference translations, with a penalty for short output (sacrebleu defaults).",
  },
  chrf: {
    label: "chrF",
    text: "A corpus score from 0 to 100 of character n-gram overlap with reference translations: kinder than BLEU to a word with the right stem and the wrong ending.",
  },
  gap: {
    label: "gap (bits)",
    text: "At one position, the largest minus the smallest surprisal among the compared models: how differently surprised they were by the same next token. A gap above the threshold you set marks the row.",
  },
  "difference-map": {
    label: "difference map",
    text: "One model's influence map minus another's, cell by cell, on a scale symmetric about 0: red where model A gives a token more influence than model B, blue where less.",
  },
  "delta-bits": {
    label: "Δbits",
    text: "A token's surprisal in text B minus its surprisal in text A, for one model. Positive: the change made the model more surprised by this token.",
  },
  "minimal-pair": {
    label: "minimal pair",
    text: "Two texts that differ in a word or two, so a difference in how a model reads them is due to those words: e.g. “The key to the cabinets is” / “The keys to the cabinet are” tests agreement across an attractor noun.",
  },
  "max-difference": {
    label: "max difference",
    text: "The largest gap between a number this page recomputed and the one the model computed (relative when a value exceeds 1). Float32 arithmetic in a different order leaves ~1e-7: below 1e-5, the two are the same computation.",
  },
};

/** The entry for `key` ({label, text}); null for a key the glossary lacks. */
export function lookup(key) {
  return Object.hasOwn(GLOSSARY, key) ? GLOSSARY[key] : null;
}

/** Every entry as [{key, label, text}], sorted by label (case-insensitive), for a glossary list. */
export function entries() {
  return Object.entries(GLOSSARY)
    .map(([key, e]) => ({ key, ...e }))
    .sort((a, b) => a.label.localeCompare(b.label, "en", { sensitivity: "base" }));
}
