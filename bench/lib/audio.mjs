// Client audio for the benchmarks: quiet noise, paced in real time.
import { performance } from 'node:perf_hooks';

export const RATE = 16_000;
export const BYTES_PER_MS = (RATE * 2) / 1000;
/** The emulator's VAD counts a 20 ms window as speech from RMS 500; this noise stays far below it. */
const NOISE_AMPLITUDE = 200;

/**
 * PCM16LE mono noise, uniform in ±NOISE_AMPLITUDE (RMS ≈ 115), from a fixed seed so runs send the same bytes.
 * @param {number} ms
 */
export function quietNoise(ms, seed = 1) {
  const samples = Math.round((ms * RATE) / 1000);
  const out = new Uint8Array(samples * 2);
  const view = new DataView(out.buffer);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < samples; i++) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    view.setInt16(i * 2, (x % (2 * NOISE_AMPLITUDE + 1)) - NOISE_AMPLITUDE, true);
  }
  return out;
}

/** RMS of PCM16LE samples. */
export function rms(/** @type {Uint8Array} */ pcm) {
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  let sum = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) sum += view.getInt16(i, true) ** 2;
  return Math.sqrt(sum / Math.max(1, pcm.length / 2));
}

/**
 * @typedef {{
 *   send: (frame: Uint8Array) => boolean,
 *   offsetMs: number,
 *   sendAt: number[],
 * }} Stream
 */

/**
 * Sends `frames` frames of `frameMs` to every stream in real time: frame i of a stream is due at
 * start + offsetMs + i·frameMs (one loop for all streams, so hundreds of them cost one timer). A late loop
 * sends what is due at once, as a real client catching up would. `sendAt[i]` is the wall clock (Date.now(),
 * the emulator's clock too) when frame i went out; a stream whose send fails stops there.
 * @param {Stream[]} streams
 * @param {{ frameMs: number, frames: number, noise: Uint8Array }} options
 */
export async function paceStreams(streams, { frameMs, frames, noise }) {
  const frameBytes = frameMs * BYTES_PER_MS;
  const span = Math.floor(noise.length / frameBytes);
  const next = streams.map(() => 0);
  /** How late each frame went out against its schedule (ms): the client's own lag, if it falls behind. */
  /** @type {number[]} */
  const lateness = [];
  const start = performance.now();
  const lastDue = Math.max(...streams.map((s) => s.offsetMs)) + (frames - 1) * frameMs;
  // Bounded: a loop far behind schedule (a starved machine) gives up rather than run on.
  const giveUpAt = start + lastDue + 30_000;
  for (;;) {
    const now = performance.now();
    if (now > giveUpAt) break;
    let wake = Infinity;
    for (let s = 0; s < streams.length; s++) {
      const stream = /** @type {Stream} */ (streams[s]);
      let i = /** @type {number} */ (next[s]);
      while (i < frames && start + stream.offsetMs + i * frameMs <= now) {
        const at = (i % span) * frameBytes;
        if (!stream.send(noise.subarray(at, at + frameBytes))) {
          i = frames;
          break;
        }
        stream.sendAt.push(Date.now());
        lateness.push(now - (start + stream.offsetMs + i * frameMs));
        i++;
      }
      next[s] = i;
      if (i < frames) wake = Math.min(wake, start + stream.offsetMs + i * frameMs);
    }
    if (wake === Infinity) break;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wake - performance.now())));
  }
  return { lateness };
}
