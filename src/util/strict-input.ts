// Strict checks on untrusted text, made before JSON.parse, Number() or any recursive walk sees it.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether `text` nests `{`/`[` deeper than `max`, counting only brackets outside strings. Iterative, so any
 * depth is safe to scan; strings are skipped with indexOf, so a frame of base64 audio costs one native search.
 * Malformed text may give either answer: JSON.parse refuses it afterwards.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** The index of the quote that ends the string opened at `open`, or -1 when it never ends. */
function closingQuote(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    // Escaped when preceded by an odd run of backslashes (each run is walked once: linear overall).
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

const DECIMAL = /^\d+$/;

/** A non-negative integer written as 1–`maxDigits` plain decimal digits (no sign, space, exponent, hex); else null. */
export function parseDecimalInteger(text: string, maxDigits: number): number | null {
  return text.length >= 1 && text.length <= maxDigits && DECIMAL.test(text) ? Number(text) : null;
}

/** A number as given, or one written in plain decimal digits (see parseDecimalInteger); NaN for anything else. */
export function numberOrDigits(value: unknown, maxDigits: number): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return parseDecimalInteger(value, maxDigits) ?? NaN;
  return NaN;
}
