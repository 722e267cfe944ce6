// Token labels: byte pieces of one UTF-8 character grouped, repeated tokens told apart.

import assert from "node:assert/strict";
import { test } from "node:test";

import { axisLabels, charGroups, subscripted, tokenPieces } from "../../static/js/tokentext.js";

// What the API returns for "café crème" with the built-in tokenizer.
const CAFE = {
  text: "café crème",
  strings: ["c", "a", "f", "\\xc3", "\\xa9", "␣cr", "\\xc3", "\\xa8", "me"],
  spans: [
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 4],
    [3, 4],
    [4, 7],
    [7, 8],
    [7, 8],
    [8, 10],
  ],
};

test("charGroups joins tokens whose spans overlap, and only those", () => {
  assert.deepEqual(charGroups(CAFE.spans), [
    [0, 0],
    [1, 1],
    [2, 2],
    [3, 4],
    [5, 5],
    [6, 7],
    [8, 8],
  ]);
  assert.deepEqual(charGroups([]), []);
});

test("byte pieces are written as the character they form, with their place", () => {
  const pieces = tokenPieces(CAFE.strings, CAFE.spans, CAFE.text);
  assert.deepEqual(
    pieces.map((p) => p.label),
    ["c", "a", "f", "é (1/2)", "é (2/2)", "␣cr", "è (1/2)", "è (2/2)", "me"],
  );
  assert.deepEqual(
    pieces.slice(3, 5).map((p) => [p.chars, p.piece, p.pieces, p.first]),
    [
      ["é", 0, 2, 3],
      ["é", 1, 2, 3],
    ],
  );
});

test("CJK and emoji: spans count code points, the emoji is two UTF-16 units", () => {
  const text = "日本 😀!";
  const spans = [
    [0, 1],
    [0, 1],
    [0, 1],
    [1, 2],
    [1, 2],
    [1, 2],
    [2, 3],
    [3, 4],
    [3, 4],
    [3, 4],
    [3, 4],
    [4, 5],
  ];
  const strings = ["\\xe6", "\\x97", "\\xa5", "\\xe6", "\\x9c", "\\xac", "␣", "\\xf0", "\\x9f", "\\x98", "\\x80", "!"];
  const labels = tokenPieces(strings, spans, text).map((p) => p.label);
  assert.deepEqual(labels.slice(0, 3), ["日 (1/3)", "日 (2/3)", "日 (3/3)"]);
  assert.equal(labels[3], "本 (1/3)");
  assert.equal(labels[6], "␣");
  assert.deepEqual(labels.slice(7, 11), ["😀 (1/4)", "😀 (2/4)", "😀 (3/4)", "😀 (4/4)"]);
  assert.equal(labels[11], "!");
});

test("a piece sharing its token with the next character shows both, whitespace marked", () => {
  // " é" as "␣\xc3" + "\xa9s": the pieces' spans cover " é" and "és"
  const labels = tokenPieces(
    ["\\x20\\xc3", "\\xa9s"],
    [
      [0, 2],
      [1, 3],
    ],
    " és",
  ).map((p) => p.label);
  assert.deepEqual(labels, ["␣és (1/2)", "␣és (2/2)"]);
});

test("axis labels tell repeated tokens and repeated characters apart", () => {
  assert.deepEqual(subscripted(["the", "␣cat", "␣the", "␣cat"]), ["the", "␣cat₁", "␣the", "␣cat₃"]);
  const text = "éé";
  const labels = axisLabels(
    ["\\xc3", "\\xa9", "\\xc3", "\\xa9"],
    [
      [0, 1],
      [0, 1],
      [1, 2],
      [1, 2],
    ],
    text,
  );
  assert.deepEqual(labels, ["é (1/2)₀", "é (2/2)₁", "é (1/2)₂", "é (2/2)₃"]);
});
