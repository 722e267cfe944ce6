// Decoding of the API's array encodings (node --test tests/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ApiError,
  base64ToBytes,
  carriedLinks,
  decodeArray,
  decodeF16,
  decodeParts,
  expandCausal,
  fittingText,
  halfToFloat,
  serverDown,
} from "../../static/js/api.js";

test("halfToFloat decodes special and boundary values exactly", () => {
  assert.equal(halfToFloat(0x0000), 0);
  assert.ok(Object.is(halfToFloat(0x8000), -0));
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x7bff), 65504); // largest finite
  assert.equal(halfToFloat(0x0400), 2 ** -14); // smallest normal
  assert.equal(halfToFloat(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24); // largest subnormal
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.equal(halfToFloat(0xfc00), -Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test("every finite half round-trips through float32 (the lookup table is exact)", () => {
  const bytes = new Uint8Array(2 * 65536);
  for (let h = 0; h < 65536; h++) {
    bytes[2 * h] = h & 0xff;
    bytes[2 * h + 1] = h >> 8;
  }
  const out = decodeF16(bytes);
  for (let h = 0; h < 65536; h++) {
    const want = halfToFloat(h);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(out[h]));
    else assert.ok(Object.is(out[h], want), `0x${h.toString(16)}: ${out[h]} != ${want}`);
  }
});

test("f16 bytes are little-endian", () => {
  assert.deepEqual(Array.from(decodeF16(new Uint8Array([0x00, 0x3c, 0x00, 0xc0]))), [1, -2]);
});

test("base64 decodes to bytes", () => {
  assert.deepEqual(Array.from(base64ToBytes("AAE8/w==")), [0, 1, 60, 255]);
});

test("causal_lower expands row by row with an exact-zero upper triangle", () => {
  // two 3x3 maps: rows have 1, 2, 3 values
  const lower = Float32Array.from([1, 0.5, 0.5, 0.25, 0.25, 0.5, 1, 1, 0, 0, 0, 1]);
  const dense = expandCausal(lower, 2, 3);
  assert.deepEqual(Array.from(dense.subarray(0, 9)), [1, 0, 0, 0.5, 0.5, 0, 0.25, 0.25, 0.5]);
  assert.deepEqual(Array.from(dense.subarray(9)), [1, 0, 0, 1, 0, 0, 0, 0, 1]);
});

test("decodeArray reads f16 causal attention as written by the server", () => {
  // numpy: np.array([1, .5, .5], '<f2') -> 003c 0038 0038 (one 2x2 map's lower triangle)
  const enc = { shape: [1, 1, 2, 2], encoding: "f16", layout: "causal_lower", dtype: "float16", data: "ADwAOAA4" };
  const t = decodeArray(enc);
  assert.deepEqual(t.shape, [1, 1, 2, 2]);
  assert.equal(t.causal, true);
  assert.deepEqual(Array.from(t.data), [1, 0, 0.5, 0.5]);
});

test("decodeArray reads u8 as offset + scale * code", () => {
  const enc = { shape: [1, 3], encoding: "u8", layout: "dense", scale: 0.5, offset: -1, data: "AAEC" };
  assert.deepEqual(Array.from(decodeArray(enc).data), [-1, -0.5, 0]);
});

test("decodeArray keeps JSON decimals exactly and nulls as NaN", () => {
  const t = decodeArray({
    shape: [2, 2],
    encoding: "json",
    data: [
      [0.1234, 1],
      [null, -0.5],
    ],
  });
  assert.equal(t.data[0], 0.1234);
  assert.ok(Number.isNaN(t.data[2]));
});

test("decodeParts decodes nested parts (attention.self, gates.*) and plain ones (h)", () => {
  const one = { shape: [1], encoding: "f16", layout: "dense", dtype: "float16", data: "ADw=" };
  const parts = decodeParts({ h: one, gates: { i: one, f: one }, attention: { self: one } });
  assert.equal(parts.h.data[0], 1);
  assert.equal(parts.gates.f.data[0], 1);
  assert.equal(parts.attention.self.data[0], 1);
});

test("fittingText cuts at the server's fits_chars, counted in code points", () => {
  assert.equal(fittingText("a😀b cat", { fits_chars: 3 }), "a😀b"); // "😀" is two UTF-16 units, one character
  assert.equal(fittingText("the cat", { fits_chars: 3 }), "the");
  assert.equal(fittingText("the cat", { n_ctx: 3 }), null); // the problem says nothing that fits
  assert.equal(fittingText("the cat", { fits_chars: 0 }), null);
  assert.equal(fittingText("the cat", undefined), null);
});

test("serverDown: no answer, a gateway's 502/504 or a 503; not a refusal of the request", () => {
  const err = (status) => new ApiError(status, "t", "d");
  assert.deepEqual(
    [0, 502, 503, 504, 422, 413, 404, 500].map((s) => serverDown(err(s))),
    [true, true, true, true, false, false, false, false],
  );
  assert.equal(serverDown(new Error("x")), false);
});

test("carriedLinks carry the text, and the model to Explore and as Compare's first", () => {
  assert.deepEqual(carriedLinks({ text: "the café, & co", model: "lstm" }), {
    explore: "/?text=the+caf%C3%A9%2C+%26+co&model=lstm",
    compare: "/compare?text=the+caf%C3%A9%2C+%26+co&models=lstm",
    learn: "/learn?text=the+caf%C3%A9%2C+%26+co",
  });
  assert.deepEqual(carriedLinks({ text: "" }), { explore: "/", compare: "/compare", learn: "/learn" });
});
