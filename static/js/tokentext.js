/**
 * How tokens are written on the pages: repeated tokens told apart by their position, and
 * byte-level tokens that are pieces of one UTF-8 character shown as that character. The
 * API's display string of such a piece is an escape ("\xc3"); its character span is the
 * whole character, so the pieces of one character have overlapping spans. Ids and spans
 * stay the API's: only labels change. Pure; unit-tested under node.
 */

const SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉";

/** `n` written in subscript digits: 12 -> "₁₂". */
export const subscript = (n) => String(n).replace(/\d/g, (d) => SUBSCRIPTS[Number(d)]);

/** Token labels in which repeated tokens are told apart: every string that occurs more than
 * once gets its position as a subscript ("␣cat₁" … "␣cat₄"); the others stay as they are. */
export function subscripted(strings) {
  const counts = new Map();
  for (const s of strings) counts.set(s, (counts.get(s) ?? 0) + 1);
  return strings.map((s, t) => (counts.get(s) > 1 ? `${s}${subscript(t)}` : s));
}

// The API's markers for whitespace in display strings (models/tokenizer.py).
const MARKERS = { " ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍" };

/** Runs of consecutive tokens whose [start, end) character spans overlap: the pieces of one
 * character (and any token sharing a character with them). Returns [[first, last], ...]
 * covering every token in order. */
export function charGroups(spans) {
  const groups = [];
  for (let t = 0; t < spans.length; t++) {
    const last = groups[groups.length - 1];
    if (last && spans[t][0] < spans[last[1]][1]) last[1] = t;
    else groups.push([t, t]);
  }
  return groups;
}

/** UTF-16 offsets of each code point of `text` (the API's spans count code points). */
function codeUnits(text) {
  const out = [0];
  for (const ch of text) out.push(out[out.length - 1] + ch.length);
  return out;
}

/**
 * Every token as written: {label, chars, piece, pieces, first}. A token on its own keeps the
 * API's string (`pieces` 1); the n pieces of one character get the character they form from
 * `text`, whitespace marked as the API marks it, and their place: "é (1/2)", "é (2/2)";
 * `first` is the group's first token.
 */
export function tokenPieces(strings, spans, text) {
  const units = codeUnits(text);
  const out = [];
  for (const [first, last] of charGroups(spans)) {
    const pieces = last - first + 1;
    if (pieces === 1) {
      out.push({ label: strings[first], chars: strings[first], piece: 0, pieces, first });
      continue;
    }
    const raw = text.slice(units[spans[first][0]], units[Math.max(...spans.slice(first, last + 1).map((s) => s[1]))]);
    const chars = Array.from(raw, (ch) => MARKERS[ch] ?? ch).join("");
    for (let k = 0; k < pieces; k++)
      out.push({ label: `${chars} (${k + 1}/${pieces})`, chars, piece: k, pieces, first });
  }
  return out;
}

/** Labels for axes: the characters byte pieces form, repeated labels told apart. */
export function axisLabels(strings, spans, text) {
  return subscripted(tokenPieces(strings, spans, text).map((p) => p.label));
}
