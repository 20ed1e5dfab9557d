// Small statistics and formatting helpers shared by the benchmarks.

/**
 * Latency of each client frame: from its send to the emulator's receipt of the upstream message that holds
 * its last byte. Frames are all `frameBytes` long, so frame i ends at byte (i + 1)·frameBytes of the stream,
 * and the consumed messages' cumulative sizes say which one carried that byte. Frames whose last byte never
 * arrived are left out (the caller counts them as lost).
 * @param {number[]} sendAt
 * @param {number} frameBytes
 * @param {Array<{ bytes: number, at: number }>} consumed
 */
export function frameLatencies(sendAt, frameBytes, consumed) {
  /** @type {number[]} */
  const out = [];
  let entry = 0;
  let received = 0;
  for (let i = 0; i < sendAt.length; i++) {
    const end = (i + 1) * frameBytes;
    while (received < end && entry < consumed.length) received += consumed[entry++]?.bytes ?? 0;
    if (received < end) break;
    const at = consumed[entry - 1]?.at ?? NaN;
    out.push(at - /** @type {number} */ (sendAt[i]));
  }
  return out;
}

/** Nearest-rank percentile of unsorted values; NaN when empty. */
export function percentile(/** @type {number[]} */ values, /** @type {number} */ p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return /** @type {number} */ (sorted[rank - 1]);
}

export function mean(/** @type {number[]} */ values) {
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function median(/** @type {number[]} */ values) {
  return percentile(values, 50);
}

/** A number with `digits` decimals, or '–' for NaN/Infinity. */
export function fmt(/** @type {number} */ value, digits = 0) {
  return Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** A ratio as `×1.23`. */
export function ratio(/** @type {number} */ value, /** @type {number} */ base, digits = 2) {
  return Number.isFinite(value / base) ? `×${(value / base).toFixed(digits)}` : '–';
}

/**
 * A Markdown table; `align` has one letter per column, `l` or `r` (default: the first left, the rest right).
 * @param {string[]} header
 * @param {string[][]} rows
 * @param {string} [align]
 */
export function markdownTable(header, rows, align) {
  const left = (/** @type {number} */ c) => (align ? align[c] === 'l' : c === 0);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (/** @type {string[]} */ cells) =>
    `| ${cells.map((cell, c) => (left(c) ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (left(c) ? '-'.repeat(w) : `${'-'.repeat(Math.max(1, w - 1))}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
