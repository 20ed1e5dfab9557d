// PCM16LE mono helpers: the model's synthetic voice, resampling for the echo, energy, and Vertex-like chunking.

/** Live API output: 24 kHz PCM16LE mono (protocol reference §4.4). */
export const OUTPUT_RATE = 24000;
/** Recorded Vertex replies start with a 200 ms chunk, then 240 ms chunks (recordings README, observation 3). */
const FIRST_CHUNK_BYTES = 9600;
const NEXT_CHUNK_BYTES = 11520;

/** Synthetic speech: each character lasts this long, so the audio's duration follows the reply's length. */
const MS_PER_CHAR = 50;
const TONE_AMPLITUDE = 6000;
const FADE_MS = 5;

/** Little-endian regardless of the host: the wire format is LE. */
export function bytesToSamples(bytes: Uint8Array): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = new Int16Array(bytes.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return samples;
}

export function samplesToBytes(samples: Int16Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i]!, true);
  return bytes;
}

/** Linear-interpolation resampling; good enough for an echo. */
export function resample(samples: Int16Array, fromRate: number, toRate: number): Int16Array {
  if (fromRate === toRate) return samples.slice();
  const length = Math.round((samples.length * toRate) / fromRate);
  const out = new Int16Array(length);
  const step = fromRate / toRate;
  for (let i = 0; i < length; i++) {
    const position = i * step;
    const left = Math.floor(position);
    const a = samples[Math.min(left, samples.length - 1)] ?? 0;
    const b = samples[Math.min(left + 1, samples.length - 1)] ?? a;
    out[i] = Math.round(a + (b - a) * (position - left));
  }
  return out;
}

/**
 * Deterministic, audible stand-in for speech at 24 kHz: one short tone per character (pitch from the
 * character code, silence for whitespace), with fades so chunk joins don't click.
 */
export function synthesizeSpeech(text: string): Uint8Array {
  const perChar = (OUTPUT_RATE * MS_PER_CHAR) / 1000;
  const fade = (OUTPUT_RATE * FADE_MS) / 1000;
  const chars = Array.from(text);
  const samples = new Int16Array(chars.length * perChar);
  chars.forEach((char, index) => {
    if (/\s/.test(char)) return;
    const frequency = 220 * 2 ** ((char.codePointAt(0)! % 24) / 12);
    const offset = index * perChar;
    for (let i = 0; i < perChar; i++) {
      const envelope = Math.min(1, i / fade, (perChar - 1 - i) / fade);
      samples[offset + i] = Math.round(
        TONE_AMPLITUDE * envelope * Math.sin((2 * Math.PI * frequency * i) / OUTPUT_RATE),
      );
    }
  });
  return samplesToBytes(samples);
}

/** Splits output audio the way Vertex does: 9,600 bytes, then 11,520-byte chunks, then the remainder. */
export function chunkAudio(bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = chunks.length === 0 ? FIRST_CHUNK_BYTES : NEXT_CHUNK_BYTES;
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}
