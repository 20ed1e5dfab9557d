// The batcher's own cost on the encode path, against the naive relay (one JSON.stringify + base64 per client
// frame), in this one process, variants interleaved in rounds. src/audio/batcher.ts is bundled with esbuild (a
// wrangler dependency) to a temporary file: Node 20 cannot import TypeScript.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BYTES_PER_MS, RATE, quietNoise } from './audio.mjs';
import { fmt, markdownTable, median, ratio } from './stats.mjs';

/**
 * The part of src/audio/batcher.ts this benchmark drives.
 * @typedef {{ message: string }} Batch
 * @typedef {{
 *   push(pcm: Uint8Array, now: number): readonly Batch[],
 *   flush(now: number): Batch | null,
 * }} Batcher
 * @typedef {{ rate: number, windowMs: number, holdMs: number, minMs?: number }} BatcherOptions
 * @typedef {{ PcmBatcher: new (opts: BatcherOptions) => Batcher }} BatcherModule
 */

const BATCHER_SOURCE = fileURLToPath(new URL('../../src/audio/batcher.ts', import.meta.url));
const AUDIO_MS = 60_000;

const NATIVE_BASE64 = 'toBase64' in Uint8Array.prototype;

/**
 * One base64 encoder for both sides, so the comparison is about what is around it: the TC39
 * `Uint8Array.prototype.toBase64` where the runtime has it (workerd does; Node 20 does not), else Buffer.
 * @type {(bytes: Uint8Array) => string}
 */
const toBase64 = NATIVE_BASE64
  ? (bytes) => /** @type {{ toBase64(): string }} */ (/** @type {unknown} */ (bytes)).toBase64()
  : (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

async function loadBatcher() {
  if (!NATIVE_BASE64) {
    Object.defineProperty(Uint8Array.prototype, 'toBase64', {
      configurable: true,
      writable: true,
      /** @this {Uint8Array} */
      value() {
        return toBase64(this);
      },
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-batcher-'));
  try {
    const outfile = join(dir, 'batcher.mjs');
    await build({
      entryPoints: [BATCHER_SOURCE],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      outfile,
      logLevel: 'warning',
    });
    return /** @type {BatcherModule} */ (await import(pathToFileURL(outfile).href));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * @typedef {{ name: string, frameMs: number, windowMs: number | null, minMs?: number }} Variant windowMs null =
 *   naive; hold = window (at least 10 ms)
 */

/**
 * One audio minute through a variant; returns elapsed ms and the upstream bytes it produced (kept, so the
 * work cannot be optimized away).
 * @param {BatcherModule} mod
 * @param {Variant} variant
 * @param {Uint8Array[]} frames
 */
function runOnce(mod, variant, frames) {
  let bytes = 0;
  const t0 = performance.now();
  if (variant.windowMs === null) {
    for (const frame of frames) {
      const message = JSON.stringify({
        realtimeInput: { audio: { mimeType: `audio/pcm;rate=${RATE}`, data: toBase64(frame) } },
      });
      bytes += message.length;
    }
  } else {
    const hold = Math.max(variant.windowMs, 10);
    /** @type {BatcherOptions} */
    const options = { rate: RATE, windowMs: variant.windowMs, holdMs: hold };
    if (variant.minMs !== undefined) options.minMs = variant.minMs;
    const batcher = new mod.PcmBatcher(options);
    let now = 0;
    for (const frame of frames) {
      for (const batch of batcher.push(frame, now)) bytes += batch.message.length;
      now += variant.frameMs;
    }
    bytes += batcher.flush(now)?.message.length ?? 0;
  }
  return { ms: performance.now() - t0, bytes };
}

/**
 * @param {{ rounds?: number }} [options]
 * @returns {Promise<string>} the Markdown section body
 */
export async function microBenchmark(options = {}) {
  const rounds = options.rounds ?? 30;
  const mod = await loadBatcher();
  const noise = quietNoise(AUDIO_MS);
  /** @type {Variant[]} */
  const variants = [];
  for (const frameMs of [8, 20]) {
    variants.push({ name: 'naive JSON.stringify + base64', frameMs, windowMs: null });
    variants.push({ name: 'batcher, batch_ms=0 (off)', frameMs, windowMs: 0 });
    variants.push({ name: 'batcher, defaults (min 20, window 40)', frameMs, windowMs: 40, minMs: 20 });
    for (const windowMs of [40, 100])
      variants.push({
        name: `batcher, forced ${windowMs} (min = window)`,
        frameMs,
        windowMs,
        minMs: windowMs,
      });
  }
  /** @type {Map<Variant, Uint8Array[]>} */
  const framesOf = new Map();
  for (const v of variants) {
    const size = v.frameMs * BYTES_PER_MS;
    // Fresh copies per frame, as from a socket (the batcher copies; the naive path encodes in place).
    framesOf.set(
      v,
      Array.from({ length: AUDIO_MS / v.frameMs }, (_, i) => noise.slice(i * size, (i + 1) * size)),
    );
  }
  /** @type {Map<Variant, number[]>} */
  const times = new Map(variants.map((v) => [v, []]));
  // Warm-up (JIT), then rounds in rotating order.
  for (const v of variants) runOnce(mod, v, framesOf.get(v) ?? []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = /** @type {Variant} */ (variants[(k + r) % variants.length]);
      times.get(v)?.push(runOnce(mod, v, framesOf.get(v) ?? []).ms);
    }
  }
  const rows = variants.map((v) => {
    const naive = variants.find((n) => n.windowMs === null && n.frameMs === v.frameMs);
    const ms = median(times.get(v) ?? []);
    const base = median(times.get(/** @type {Variant} */ (naive)) ?? []);
    return [`${v.frameMs} ms`, v.name, fmt(ms, 2), ratio(ms, base)];
  });
  return [
    "### Micro-benchmark: the batcher's encode path",
    '',
    `One minute of 16 kHz PCM16 through each variant in this Node process: median of ${rounds} rounds, variants`,
    'interleaved; hold = window. Both sides use the same base64 encoder, so the ratio is about what surrounds',
    `it: ${NATIVE_BASE64 ? 'the native `Uint8Array.prototype.toBase64`' : "Node's `Buffer` (Node 20 lacks `Uint8Array.prototype.toBase64`, which workerd has natively)"}.`,
    'The ratio is to the naive relay at the same frame size.',
    '',
    markdownTable(['client frame', 'variant', 'ms per audio minute', 'vs naive'], rows, 'llrr'),
  ].join('\n');
}
