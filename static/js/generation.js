/**
 * A generation in the page, pure: the request for the page's options, and the state built
 * from the stream's JSON lines. Importable under node (tests/js).
 */

/** Seeds the page draws itself stay below 2^31: exact in JSON and in JavaScript numbers
 * (the server's own random seeds may exceed 2^53, which a JavaScript number cannot hold). */
const MAX_DRAWN_SEED = 2 ** 31;

/**
 * The request for the options `o` ({gmodel, strategy, temp, topk, seed, max}) and prompt:
 * sampling gets its temperature, top-k (0: none) and a seed (−1: one drawn here, so it can
 * be shown and reused). Pure but for that draw (`random`).
 */
export function generateRequest(o, prompt, random = Math.random) {
  const body = { model: o.gmodel, prompt, max_new_tokens: o.max, strategy: o.strategy };
  if (o.strategy === "sample") {
    body.temperature = o.temp;
    if (o.topk > 0) body.top_k = o.topk;
    body.seed = o.seed >= 0 ? o.seed : Math.floor(random() * MAX_DRAWN_SEED);
  }
  return body;
}

/** A generation's state from its stream lines: {prompt, tokens, strings (prompt + new),
 * seed, finish, ids}. `reduce(state, line)` returns the next state. Pure. */
export function startGeneration() {
  return { prompt: null, tokens: [], strings: [], seed: null, finish: null, ids: null };
}

export function reduceGeneration(state, line) {
  if (line.type === "start")
    return { ...state, prompt: line.prompt, strings: [...line.prompt.strings], seed: line.seed };
  if (line.type === "token")
    return {
      ...state,
      tokens: [...state.tokens, line],
      strings: [...state.strings, line.string],
      finish: line.finish ?? state.finish,
    };
  if (line.type === "end") return { ...state, ids: line.ids };
  return state;
}
